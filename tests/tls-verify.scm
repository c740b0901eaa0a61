;;; A client verifies by default: each bad server certificate made by
;;; tests/tls-certs.sh is rejected during the handshake with the right
;;; reason, and the good ones are accepted.

(use-modules (tests harness)
             (tests tls-common)
             (srfi srfi-64)
             (srfi srfi-11)
             (net tls)
             (net error)
             (ice-9 rdelim)
             (ice-9 exceptions)
             (rnrs bytevectors))

(define* (connect-with cert #:key (name "localhost") (crl #f))
  "Our client against our server presenting CERT; return what the client
got: 'ok, or the exception."
  (let-values (((c s)
                (tls-pair #:server-cert cert
                          #:server-name name
                          #:client-creds (client-credentials #:crl crl)
                          #:client-body
                          (lambda (s)
                            (let ((p (session-record-port s)))
                              (display "hi\n" p)
                              (force-output p)
                              (read-line p)
                              'ok))
                          #:server-body
                          (lambda (s)
                            (let ((p (session-record-port s)))
                              (read-line p)
                              (display "ho\n" p)
                              (force-output p))))))
    c))

(define (reasons r)
  (if (tls-verification-error? r) (tls-verification-reasons r) r))

(define-syntax-rule (test-rejected name cert reason args ...)
  (let ((r (connect-with cert args ...)))
    (test-assert (string-append name ": a verification condition")
      (tls-verification-error? r))
    (test-assert (string-append name ": reason " (symbol->string 'reason))
      (memq 'reason (reasons r)))
    (test-assert (string-append name ": says so in words")
      (and (tls-verification-error? r)
           (pair? (tls-verification-words r))
           (string? (exception-message r))))
    (test-assert (string-append name ": fatal") 
      (and (tls-error? r) (tls-error-fatal? r)))))

(run-tests "tls-verify"
  (test-equal "good certificate accepted" 'ok (connect-with "server"))
  (test-equal "full chain with intermediate accepted" 'ok
    (connect-with "chain"))
  (test-rejected "expired" "expired" expired)
  (test-rejected "not yet valid" "notyet" not-yet-valid)
  (test-rejected "wrong host" "wronghost" host-name-mismatch)
  (test-rejected "right certificate, other name asked" "server"
                 host-name-mismatch #:name "example.net")
  (test-rejected "self-signed" "selfsigned" untrusted-issuer)
  (test-rejected "untrusted root" "untrusted" untrusted-issuer)
  (test-rejected "incomplete chain" "leaf-of-inter" untrusted-issuer)
  (test-rejected "revoked" "revoked" revoked #:crl "crl")
  (test-equal "same certificate without the CRL accepted" 'ok
    (connect-with "revoked"))
  (test-rejected "SHA-1 signature" "sha1" insecure-algorithm)
  (test-rejected "client-only key purpose" "clientonly" purpose-mismatch)
  (test-equal "host name in the message"
    "localhost"
    (let ((r (connect-with "expired")))
      (and (tls-verification-error? r) (tls-verification-host r))))

  ;; Without trust given, the system store is used: our test CA is not in it.
  (let-values (((c s)
                (tls-pair #:client-creds (make-certificate-credentials)
                          #:client-body (lambda (s) 'ok))))
    (test-assert "system trust does not know the test CA"
      (memq 'untrusted-issuer (reasons c))))
  (let-values (((c s)
                (tls-pair #:client-body (lambda (s) 'ok)
                          #:client-creds 'none)))
    (test-assert "no credentials given: system trust, verified"
      (memq 'untrusted-issuer (reasons c))))

  (let-values (((c s)
                (tls-pair #:server-cert "expired"
                          #:client-setup
                          (lambda (s) (set-session-verify-peer! s #f))
                          #:client-body
                          (lambda (s)
                            (list (peer-certificate-status s)
                                  (peer-certificate-status s "example.com"))))))
    (test-equal "verification off: peer-certificate-status by hand"
      '((expired) (expired host-name-mismatch))
      c))
  (let-values (((c s)
                (tls-pair #:client-body peer-certificate-status)))
    (test-equal "peer-certificate-status of a good peer" '() c))

  (test-assert "session unusable after a failed verification"
    (let* ((session #f)
           (r (let-values (((c s)
                            (tls-pair #:server-cert "expired"
                                      #:client-body (lambda (s) 'ok)
                                      #:client-setup
                                      (lambda (s) (set! session s)))))
                c)))
      (and (tls-verification-error? r)
           (tls-error? (capture (lambda ()
                                  (record-send session
                                               (make-bytevector 1 0))))))))

  (remove-cert-dir))
