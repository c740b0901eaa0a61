;;; X.509 helpers: reading certificates made by certtool and by
;;; make-self-signed-certificate, keys (also encrypted PKCS #8), and using
;;; them in sessions.

(use-modules (tests harness)
             (tests tls-common)
             (srfi srfi-64)
             (srfi srfi-11)
             (net tls)
             (net error)
             (ice-9 rdelim)
             (ice-9 binary-ports)
             (rnrs bytevectors))

(define (file-bytes name)
  (call-with-input-file name get-bytevector-all #:binary #t))

(define (say-and-hear s text)
  (let ((p (session-record-port s)))
    (display text p) (newline p) (force-output p)
    (read-line p)))

(define (echo-line s)
  (let* ((p (session-record-port s)) (line (read-line p)))
    (display (string-append "echo " line "\n") p)
    (force-output p)
    line))

(run-tests "tls-x509"
  (let ((cert (import-x509-certificate (file-bytes (cert-file "server"))
                                       x509-certificate-format/pem)))
    (test-assert "x509-certificate?" (x509-certificate? cert))
    (test-equal "subject" "CN=localhost" (x509-certificate-dn cert))
    (test-equal "issuer" "CN=Guile-Net Test CA"
      (x509-certificate-issuer-dn cert))
    (test-equal "alternative names" '((dns . "localhost") (ip . "127.0.0.1"))
      (x509-certificate-subject-alternative-names cert))
    (test-assert "valid now"
      (<= (x509-certificate-activation-time cert) (current-time)
         (x509-certificate-expiration-time cert)))
    (test-equal "fingerprint is SHA-256" 32
      (bytevector-length (x509-certificate-fingerprint cert)))
    (test-equal "SHA-1 fingerprint" 20
      (bytevector-length (x509-certificate-fingerprint cert 'sha1)))
    (test-assert "matches localhost"
      (x509-certificate-matches-hostname? cert "localhost"))
    (test-assert "not example.org"
      (not (x509-certificate-matches-hostname? cert "example.org")))
    (test-assert "DER round trip"
      (equal? (x509-certificate-dn
               (import-x509-certificate (export-x509-certificate cert)))
              "CN=localhost")))
  (let ((expired (import-x509-certificate (file-bytes (cert-file "expired"))
                                          x509-certificate-format/pem)))
    (test-assert "expired is in the past"
      (< (x509-certificate-expiration-time expired) (current-time))))

  (test-equal "garbage is a TLS error" 'gnutls-error
    (error-key (import-x509-certificate (make-bytevector 10 1))))
  (test-equal "wrong type" 'wrong-type-arg
    (error-key (x509-certificate-dn "CN=x")))
  (test-equal "fingerprint algorithm" 'out-of-range
    (error-key (x509-certificate-fingerprint
                (import-x509-certificate (file-bytes (cert-file "ca"))
                                         x509-certificate-format/pem)
                'md4)))

  ;; Encrypted PKCS #8 key.
  (let ((enc (string-append (cert-dir) "/enc-key.pem")))
    (system (string-append "certtool --to-p8 --load-privkey "
                           (cert-file "key")
                           " --password sesame --outfile " enc
                           " >/dev/null 2>&1"))
    (test-assert "encrypted PKCS #8 key with its password"
      (x509-private-key?
       (pkcs8-import-x509-private-key (file-bytes enc) x509-certificate-format/pem "sesame")))
    (test-equal "wrong password is a TLS error" 'gnutls-error
      (error-key (import-x509-private-key (file-bytes enc)
                                          x509-certificate-format/pem
                                          "wrong")))
    (test-assert "key files with a password"
      (let ((c (make-certificate-credentials)))
        (set-certificate-credentials-x509-key-files!
         c (cert-file "server") enc x509-certificate-format/pem "sesame")
        #t)))

  ;; A self-signed certificate made here, served with -keys!, trusted by
  ;; the client through -trust-data!.
  (let-values (((cert-pem key-pem) (make-self-signed-certificate "localhost" 2)))
    (let ((cert (import-x509-certificate cert-pem x509-certificate-format/pem)))
      (test-equal "self-signed subject" "CN=localhost" (x509-certificate-dn cert))
      (test-equal "self-signed issuer" "CN=localhost"
        (x509-certificate-issuer-dn cert))
      (let ((server-creds (make-certificate-credentials))
            (client-creds (make-certificate-credentials)))
        (set-certificate-credentials-x509-keys!
         server-creds (list cert)
         (import-x509-private-key key-pem x509-certificate-format/pem))
        (set-certificate-credentials-x509-trust-data!
         client-creds cert-pem x509-certificate-format/pem)
        (let-values (((c s)
                      (tls-pair #:server-creds server-creds
                                #:client-creds client-creds
                                #:client-body
                                (lambda (s)
                                  (list (say-and-hear s "self")
                                        (map (lambda (der)
                                               (x509-certificate-dn
                                                (import-x509-certificate der)))
                                             (session-peer-certificate-chain s))))
                                #:server-body echo-line)))
          (test-equal "self-signed certificate trusted explicitly"
            '("echo self" ("CN=localhost")) c))))
    (let-values (((c s) (tls-pair
                         #:server-creds
                         (let ((sc (make-certificate-credentials)))
                           (set-certificate-credentials-x509-key-data!
                            sc cert-pem key-pem)
                           sc)
                         #:client-body (lambda (s) 'ok))))
      (test-assert "but not trusted by default"
        (and (tls-verification-error? c)
             (memq 'untrusted-issuer (tls-verification-reasons c))))))
  (let-values (((cert key) (make-self-signed-certificate "127.0.0.1")))
    (test-equal "IP address certificate" '((ip . "127.0.0.1"))
      (x509-certificate-subject-alternative-names
       (import-x509-certificate cert x509-certificate-format/pem))))

  (test-equal "load-x509-certificate reads a PEM file"
    (x509-certificate-fingerprint
     (import-x509-certificate (call-with-input-file (cert-file "server") get-bytevector-all
                                #:binary #t)
                              x509-certificate-format/pem))
    (x509-certificate-fingerprint (load-x509-certificate (cert-file "server"))))
  (test-assert "load-x509-private-key reads a PEM file"
    (x509-private-key? (load-x509-private-key (cert-file "key"))))
  (test-equal "session-time-left of a non-session" 'wrong-type-arg
    (error-key (session-time-left 5)))
  (test-equal "session-side of a non-session" 'wrong-type-arg
    (error-key (session-side "x")))
  (test-equal "load-x509-certificate of a non-file" 'wrong-type-arg
    (error-key (load-x509-certificate 42)))
  (test-equal "a missing file is a system error" 'system-error
    (error-key (load-x509-certificate "/nonexistent/cert.pem")))

  (remove-cert-dir))
