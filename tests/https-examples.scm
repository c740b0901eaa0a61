;;; Run examples/https-server.scm and examples/https-get.scm as a user
;;; would: the server on a kernel-chosen loopback port, the client against
;;; it, verified with the test CA.  The server is killed by its PID; every
;;; wait is bounded.

(use-modules (tests harness)
             (tests tls-common)
             (tests https-common)
             (srfi srfi-64)
             (ice-9 regex))

(define top (or (getenv "abs_top_srcdir") "."))
(define (example name) (string-append top "/examples/" name))

(run-tests "https-examples"
  (let* ((server (spawn-peer "timeout" "60" "guile" "--no-auto-compile"
                             (example "https-server.scm")
                             (cert-file "server") (cert-file "key")))
         (m (peer-wait-output server "listening on port ([0-9]+)" 20))
         (port (and m (match:substring m 1))))
    (test-assert "https-server.scm prints its port" port)
    (test-assert "https-get.scm fetches from it, verified with the CA"
      (let ((out (run-program "timeout" "60" "guile" "--no-auto-compile"
                              (example "https-get.scm")
                              (string-append "https://localhost:" (or port "1") "/doc")
                              (cert-file "ca"))))
        (and (string-contains out "200 OK")
             (string-contains out "Hello over HTTPS! You asked for /doc"))))
    (test-assert "https-get.scm without the CA is refused (verification by default)"
      (let ((out (run-program "timeout" "60" "guile" "--no-auto-compile"
                              (example "https-get.scm")
                              (string-append "https://localhost:" (or port "1") "/"))))
        (and (not (string-contains out "Hello"))
             (string-contains out "verification"))))
    (test-assert "curl fetches from the example server"
      (string-contains (run-program "curl" "-sS" "--max-time" "20"
                                    "--cacert" (cert-file "ca")
                                    (string-append "https://localhost:" (or port "1") "/curl"))
                       "You asked for /curl"))
    (kill-peer server))
  (remove-cert-dir))
