;;; What the libFuzzer harnesses of fuzz/ found, as ordinary test cases
;;; (check-fuzz also replays the crashing inputs, in fuzz/regressions/).

(use-modules (tests harness)
             (srfi srfi-64)
             (net socket)
             (net tls)
             (ice-9 binary-ports)
             (rnrs bytevectors))

(define (regression-input harness name)
  (call-with-input-file
      (string-append (or (getenv "abs_top_srcdir") ".")
                     "/fuzz/regressions/" harness "/" name)
    get-bytevector-all #:binary #t))

(define (drop-bytes bv n)
  (let ((out (make-bytevector (- (bytevector-length bv) n))))
    (bytevector-copy! bv n out 0 (bytevector-length out))
    out))

(run-tests "fuzz-regressions"
  (test-group "sockaddr: AF_UNIX path with a NUL inside"
    ;; Found by fuzz/sockaddr.c: the kernel stops at the NUL, so the
    ;; socket got a shorter name than the one given.
    (test-equal "inside a file name: out of range" 'out-of-range
      (error-key (make-socket-address AF_UNIX "/tmp/a\x00b")))
    (test-equal "at the end: out of range" 'out-of-range
      (error-key (make-socket-address AF_UNIX "/tmp/ab\x00")))
    (test-equal "in a vector given to connect" 'out-of-range
      (let ((s (socket AF_UNIX SOCK_STREAM 0)))
        (dynamic-wind
          (lambda () #f)
          (lambda () (error-key (connect s (vector AF_UNIX "x\x00y"))))
          (lambda () (close-port s)))))
    (test-equal "an abstract name may hold NULs" "\x00a\x00b"
      (sockaddr:path (make-socket-address AF_UNIX "\x00a\x00b")))
    (test-equal "an ordinary path still works" "/tmp/ab"
      (sockaddr:path (make-socket-address AF_UNIX "/tmp/ab"))))

  (test-group "x509: a subject that is not UTF-8"
    ;; Found by fuzz/x509.c: the decoding error leaked the GnuTLS buffer
    ;; holding the name.  The input is an operation byte and a password
    ;; length byte, then the PEM certificate.
    (let ((cert (import-x509-certificate
                 (drop-bytes (regression-input "x509" "subject-dn-not-utf8") 2)
                 x509-certificate-format/pem)))
      (test-assert "x509-certificate-dn returns a string"
        (string? (x509-certificate-dn cert)))
      (test-assert "with a question mark for the bad byte"
        (string-index (x509-certificate-dn cert) #\?))
      (test-equal "the issuer is intact" "CN=Guile-Net fuzz CA"
        (x509-certificate-issuer-dn cert)))))
