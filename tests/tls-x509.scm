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
             (ice-9 exceptions)
             (rnrs bytevectors))

(define (exception-of thunk)
  "The exception THUNK raises, or #f if it returns."
  (with-exception-handler (lambda (e) e)
    (lambda () (thunk) #f)
    #:unwind? #t))

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

  ;; Issue 14: errors that say what went wrong, and what objects print.
  (test-group "files that cannot be read"
    (define (file-error thunk)
      ;; (FILE ERRNO MESSAGE ORIGIN KIND CODE) of the &tls-file-error.
      (let ((e (exception-of thunk)))
        (and (tls-file-error? e)
             (list (tls-file-error-file e) (tls-file-error-errno e)
                   (exception-message e) (exception-origin e)
                   (exception-kind e) (tls-error-code e)))))
    (test-equal "missing key file: names it and ENOENT"
      (list "/nonexistent/key.pem" ENOENT
            "cannot read /nonexistent/key.pem: No such file or directory"
            'set-certificate-credentials-x509-key-files! 'gnutls-error -64)
      (file-error (lambda ()
                    (set-certificate-credentials-x509-key-files!
                     (make-certificate-credentials) (cert-file "server")
                     "/nonexistent/key.pem"))))
    (test-equal "missing certificate file"
      (list "/nonexistent/cert.pem" ENOENT)
      (let ((r (file-error (lambda ()
                             (set-certificate-credentials-x509-key-files!
                              (make-certificate-credentials)
                              "/nonexistent/cert.pem" (cert-file "key"))))))
        (and r (list-head r 2))))
    (test-equal "missing trust file"
      (list "/nonexistent/ca.pem" ENOENT
            "cannot read /nonexistent/ca.pem: No such file or directory"
            'set-certificate-credentials-x509-trust-file!)
      (let ((r (file-error (lambda ()
                             (set-certificate-credentials-x509-trust-file!
                              (make-certificate-credentials)
                              "/nonexistent/ca.pem")))))
        (and r (list-head r 4))))
    (test-equal "missing CRL file"
      (list "/nonexistent/crl.pem" ENOENT
            'set-certificate-credentials-x509-crl-file!)
      (let ((r (file-error (lambda ()
                             (set-certificate-credentials-x509-crl-file!
                              (make-certificate-credentials)
                              "/nonexistent/crl.pem")))))
        (and r (list (car r) (cadr r) (cadddr r)))))
    (test-equal "a directory as trust file: EISDIR" EISDIR
      (let ((r (file-error (lambda ()
                             (set-certificate-credentials-x509-trust-file!
                              (make-certificate-credentials) (cert-dir))))))
        (and r (cadr r))))
    (test-equal "net-error-errno gives the errno too" ENOENT
      (net-error-errno
       (exception-of (lambda ()
                       (set-certificate-credentials-x509-trust-file!
                        (make-certificate-credentials) "/nonexistent/ca.pem")))))
    (test-equal "still a &tls-error, caught by (catch 'gnutls-error ...) with guile-gnutls's arguments"
      (list error/file-error 'set-certificate-credentials-x509-trust-file!)
      (catch 'gnutls-error
        (lambda ()
          (set-certificate-credentials-x509-trust-file!
           (make-certificate-credentials) "/nonexistent/ca.pem")
          #f)
        (lambda (key code proc)
          (list code proc))))
    ;; Root reads anything: the EACCES case only means something otherwise.
    (let ((unreadable (string-append (cert-dir) "/unreadable.pem")))
      (copy-file (cert-file "ca") unreadable)
      (chmod unreadable #o000)
      (when (zero? (getuid)) (test-skip 1))
      (test-equal "an unreadable file: EACCES" EACCES
        (let ((r (file-error (lambda ()
                               (set-certificate-credentials-x509-trust-file!
                                (make-certificate-credentials) unreadable)))))
          (and r (cadr r))))))

  (test-group "certificates and keys that do not go together"
    (define (message-of thunk)
      (let ((e (exception-of thunk)))
        (and (tls-error? e) (exception-message e))))
    (test-equal "certificate and key files in the wrong order: says so"
      (string-append "the certificate and the private key are given in the "
                     "wrong order: " (cert-file "key") " holds a private key"
                     " and " (cert-file "server") " a certificate; give the"
                     " certificate first, then the key")
      (message-of (lambda ()
                    (set-certificate-credentials-x509-key-files!
                     (make-certificate-credentials) (cert-file "key")
                     (cert-file "server")))))
    (test-assert "certificate and key data in the wrong order: says so"
      (let ((m (message-of (lambda ()
                             (set-certificate-credentials-x509-key-data!
                              (make-certificate-credentials)
                              (file-bytes (cert-file "key"))
                              (file-bytes (cert-file "server")))))))
        (and m (string-prefix? "the certificate and the private key are given in the wrong order" m))))
    (test-equal "a key that does not match the certificate (files): says so"
      (string-append "the private key in " (cert-file "ca-key")
                     " does not match the certificate in "
                     (cert-file "server") " (the first certificate of the"
                     " chain must be the one of the key)")
      (message-of (lambda ()
                    (set-certificate-credentials-x509-key-files!
                     (make-certificate-credentials) (cert-file "server")
                     (cert-file "ca-key")))))
    (test-assert "... (data)"
      (let ((m (message-of (lambda ()
                             (set-certificate-credentials-x509-key-data!
                              (make-certificate-credentials)
                              (file-bytes (cert-file "server"))
                              (file-bytes (cert-file "ca-key")))))))
        (and m (string-prefix? "the private key does not match the certificate" m))))
    (test-assert "... (objects, set-certificate-credentials-x509-keys!)"
      (let ((m (message-of (lambda ()
                             (set-certificate-credentials-x509-keys!
                              (make-certificate-credentials)
                              (list (load-x509-certificate (cert-file "server")))
                              (load-x509-private-key (cert-file "ca-key")))))))
        (and m (string-prefix? "the private key does not match the certificate" m))))
    (test-assert "a key file that holds no key: says what it holds"
      (let ((m (message-of (lambda ()
                             (set-certificate-credentials-x509-key-files!
                              (make-certificate-credentials) (cert-file "server")
                              (cert-file "ca"))))))
        (and m (string-contains m "holds no private key (its PEM blocks: CERTIFICATE)"))))
    (test-equal "the error code is still GnuTLS's" -60
      (let ((e (exception-of (lambda ()
                               (set-certificate-credentials-x509-key-files!
                                (make-certificate-credentials) (cert-file "server")
                                (cert-file "ca-key"))))))
        (and (tls-error? e) (tls-error-code e)))))

  (test-group "PEM where DER is the default, and DER where PEM is"
    (let ((pem (file-bytes (cert-file "server")))
          (der-key (string-append (cert-dir) "/key.der")))
      (system (string-append "env -u LD_PRELOAD certtool -k --infile "
                             (cert-file "key") " --outder --outfile " der-key
                             " >/dev/null 2>&1"))
      (test-equal "import-x509-certificate reads PEM given without a format"
        "CN=localhost"
        (x509-certificate-dn (import-x509-certificate pem)))
      (test-equal "... and PEM given as DER"
        "CN=localhost"
        (x509-certificate-dn
         (import-x509-certificate pem x509-certificate-format/der)))
      (test-assert "import-x509-private-key reads PEM given as DER"
        (x509-private-key?
         (import-x509-private-key (file-bytes (cert-file "key"))
                                  x509-certificate-format/der)))
      (test-assert "import-x509-private-key reads DER given as PEM (its default)"
        (x509-private-key? (import-x509-private-key (file-bytes der-key))))
      (test-assert "key data: a PEM chain with a DER key"
        (begin
          (set-certificate-credentials-x509-key-data!
           (make-certificate-credentials) pem (file-bytes der-key))
          #t))
      (test-assert "key data: PEM given as DER"
        (begin
          (set-certificate-credentials-x509-key-data!
           (make-certificate-credentials) pem (file-bytes (cert-file "key"))
           x509-certificate-format/der)
          #t))
      (test-equal "trust data: a DER certificate given as PEM (the default)" 1
        (set-certificate-credentials-x509-trust-data!
         (make-certificate-credentials)
         (export-x509-certificate (load-x509-certificate (cert-file "ca")))))
      (test-equal "trust file: PEM given as DER" 1
        (set-certificate-credentials-x509-trust-file!
         (make-certificate-credentials) (cert-file "ca")
         x509-certificate-format/der))
      (test-assert "a PEM key given to import-x509-certificate: says so"
        (let ((e (exception-of (lambda ()
                                 (import-x509-certificate
                                  (file-bytes (cert-file "key")))))))
          (and (tls-error? e)
               (string=? (exception-message e)
                         "the data hold no certificate (its PEM blocks: EC PRIVATE KEY)"))))))

  (test-group "trust that holds no certificate is an error"
    (define (no-certificate thunk)
      (let ((e (exception-of thunk)))
        (and (tls-error? e)
             (list (tls-error-code e) (exception-message e)))))
    (test-equal "a key file as trust file"
      (list error/no-certificate-found
            (string-append (cert-file "key")
                           " holds no certificate (its PEM blocks: EC PRIVATE KEY)"))
      (no-certificate (lambda ()
                        (set-certificate-credentials-x509-trust-file!
                         (make-certificate-credentials) (cert-file "key")))))
    (test-equal "empty trust data"
      (list error/no-certificate-found
            "the trust data holds no certificate (it is empty)")
      (no-certificate (lambda ()
                        (set-certificate-credentials-x509-trust-data!
                         (make-certificate-credentials) (make-bytevector 0)))))
    (test-equal "text that is not PEM"
      error/no-certificate-found
      (let ((r (no-certificate (lambda ()
                                 (set-certificate-credentials-x509-trust-data!
                                  (make-certificate-credentials)
                                  (string->utf8 "hello"))))))
        (and r (car r))))
    (test-assert "... the credentials still trust nothing"
      (let ((c (make-certificate-credentials)))
        (false-if-exception
         (set-certificate-credentials-x509-trust-file! c (cert-file "key")))
        (string-contains (object->string c) "no trust given"))))

  (test-group "the default credentials cannot be changed"
    (let-values (((c s) (tls-pair #:client-creds 'none
                                  #:client-setup
                                  (lambda (s) (set-session-verify-peer! s #f))
                                  #:client-body session-credentials)))
      (test-assert "session-credentials of a session given none: the default"
        (and (certificate-credentials? c)
             (string-prefix? "#<certificate-credentials default, trusting the system store"
                             (object->string c))))
      (let ((e (exception-of (lambda ()
                               (set-certificate-credentials-x509-trust-file!
                                c (cert-file "ca"))))))
        (test-assert "adding trust to them: &net-state-error" (net-state-error? e))
        (test-equal "... naming the procedure, with the credentials"
          (list 'set-certificate-credentials-x509-trust-file! c)
          (and (net-state-error? e)
               (list (exception-origin e) (net-state-error-object e)))))
      (test-assert "adding a key pair to them: &net-state-error"
        (net-state-error?
         (exception-of (lambda ()
                         (set-certificate-credentials-x509-key-files!
                          c (cert-file "server") (cert-file "key"))))))))

  (test-group "printing"
    (test-equal "empty credentials"
      "#<certificate-credentials no trust given (the system store at the first handshake)>"
      (object->string (make-certificate-credentials)))
    (let ((c (make-certificate-credentials)))
      (set-certificate-credentials-x509-key-files! c (cert-file "chain")
                                                   (cert-file "key"))
      (set-certificate-credentials-x509-trust-file! c (cert-file "ca"))
      (set-certificate-credentials-x509-crl-file! c (cert-file "crl"))
      (test-equal "a chain by subjects, the trust, the CRLs"
        (string-append "#<certificate-credentials chain (\"CN=localhost\" "
                       "\"CN=Guile-Net Intermediate CA\"), trusting 1 "
                       "certificate, 1 CRL>")
        (object->string c))
      (test-equal "display prints the same" (object->string c)
        (with-output-to-string (lambda () (display c)))))
    (let ((c (make-certificate-credentials)))
      (set-certificate-credentials-x509-key-files! c (cert-file "server")
                                                   (cert-file "key"))
      (let-values (((cert key) (make-self-signed-certificate "other.test")))
        (set-certificate-credentials-x509-key-data! c cert key))
      (test-equal "two chains"
        (string-append "#<certificate-credentials chain (\"CN=localhost\"), "
                       "chain (\"CN=other.test\"), no trust given (the "
                       "system store at the first handshake)>")
        (object->string c)))
    (let ((c (make-certificate-credentials)))
      (set-certificate-credentials-x509-trust-file! c (cert-file "ca"))
      (let ((n (set-certificate-credentials-system-trust! c)))
        (test-equal "explicit trust and the system store"
          (format #f "#<certificate-credentials trusting 1 certificate and the system store (~a certificate~a)>"
                  n (if (= n 1) "" "s"))
          (object->string c))))
    (let ((cert (load-x509-certificate (cert-file "server"))))
      (test-equal "a certificate: its subject and expiry"
        (string-append "#<x509-certificate \"CN=localhost\" expires "
                       (strftime "%Y-%m-%d %H:%M:%S UTC"
                                 (gmtime (x509-certificate-expiration-time cert)))
                       ">")
        (object->string cert)))
    (let ((cert (load-x509-certificate (cert-file "expired"))))
      (test-equal "an expired certificate says so"
        (string-append "#<x509-certificate \"CN=localhost\" expired "
                       (strftime "%Y-%m-%d %H:%M:%S UTC"
                                 (gmtime (x509-certificate-expiration-time cert)))
                       ">")
        (object->string cert)))
    (test-equal "a private key: its algorithm and size"
      "#<x509-private-key EC/ECDSA 256 bits>"
      (object->string (load-x509-private-key (cert-file "key"))))
    (let ((rsa (string-append (cert-dir) "/rsa-key.pem")))
      (system (string-append "env -u LD_PRELOAD certtool --generate-privkey"
                             " --key-type=rsa --bits=2048 --outfile " rsa
                             " >/dev/null 2>&1"))
      (test-equal "an RSA key"
        "#<x509-private-key RSA 2048 bits>"
        (object->string (load-x509-private-key rsa)))))

  (remove-cert-dir))
