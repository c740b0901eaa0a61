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

  (test-group "sockaddr: an AF_UNIX name that is not UTF-8"
    ;; Found by fuzz/sockaddr.c: converting the kernel's address raised a
    ;; decoding error, so recvfrom! (or accept) lost what it had taken.
    ;; Python binds the sender to an abstract name ending in bytes FF FE.
    (let* ((name (format #f "guile-net-fuzz-~a" (getpid)))
           (s (socket AF_UNIX SOCK_DGRAM 0))
           (buf (make-bytevector 10)))
      (bind s AF_UNIX (string-append "\x00" name))
      (if (zero? (status:exit-val
                  (system* "python3" "-c"
                           (string-append
                            "import socket\n"
                            "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
                            "s.bind(b'\\x00" name "-from-\\xff\\xfe')\n"
                            "s.sendto(b'hi', b'\\x00" name "')\n"))))
          (let ((got (recvfrom! s buf)))
            (test-equal "recvfrom! returns the datagram" 2 (car got))
            (test-equal "with the name, bad bytes as question marks"
              (string-append "\x00" name "-from-??")
              (sockaddr:path (cdr got))))
          (begin
            (test-skip 2)
            (test-assert "recvfrom! returns the datagram (no python3)" #f)
            (test-assert "with the name (no python3)" #f)))
      (close-port s)))

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
