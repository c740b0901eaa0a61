;;; Run each program of examples/ as a user would, through ./pre-inst-env,
;;; and check what it prints.  Servers pick their port (port 0) and print
;;; it; every wait is bounded.

(use-modules (tests harness)
             (tests tls-common)
             (net socket)
             (srfi srfi-64)
             (ice-9 popen)
             (ice-9 rdelim)
             (ice-9 regex)
             (ice-9 textual-ports))

(define top (or (getenv "abs_top_srcdir") "."))
(define (example name) (string-append top "/examples/" name))

(define (run-example name . args)
  "Run example NAME to completion (at most 60 s); return its output."
  (let* ((p (apply open-pipe* OPEN_READ "timeout" "60" "guile" "--no-auto-compile"
                   (example name) args))
         (out (get-string-all p)))
    (close-pipe p)
    out))

(define (start-server name . args)
  "Start example server NAME; return (pipe . port) once it prints its port."
  (let* ((p (apply open-pipe* OPEN_READ "timeout" "60" "guile" "--no-auto-compile"
                   (example name) args))
         (line (read-line p))
         (m (and (string? line) (string-match "listening on port ([0-9]+)" line))))
    (cons p (and m (match:substring m 1)))))

(run-tests "examples"
  (test-assert "tls-demo: a verified TLS exchange"
    (let ((out (run-example "tls-demo.scm")))
      (and (string-contains out "certificate verified")
           (string-contains out "server answered: \"HELLO OVER TLS\""))))

  (test-assert "dtls-echo: messages over DTLS, one cookie, one session"
    (let ((out (run-example "dtls-echo.scm")))
      (and (string-contains out "sent \"datagram\", got back \"DATAGRAM\"")
           (string-contains out "(cookies-sent . 1) (sessions-opened . 1) (sessions-closed . 1)"))))

  (test-assert "tcp-echo"
    (string-contains (run-example "tcp-echo.scm") "got \"echo: hello\""))

  (let ((server (start-server "tcp-server.scm")))
    (test-assert "tcp-server prints its port" (cdr server))
    (test-equal "tcp-client gets the server's greeting" "Hello!\n"
      (and (cdr server) (run-example "tcp-client.scm" (cdr server))))
    (test-equal "tcp-server gets the client's farewell" "Good Bye!\n"
      (let ((rest (get-string-all (car server))))
        (close-pipe (car server))
        rest)))

  (let* ((server (start-server "tls-echo-server.scm" (cert-file "server") (cert-file "key") "3"))
         ;; A client that connects first and says nothing (issue 14): the
         ;; server's handshake timeout is 10 s.
         (silent (and (cdr server)
                      (let ((s (socket AF_INET SOCK_STREAM 0)))
                        (connect s AF_INET INADDR_LOOPBACK (string->number (cdr server)))
                        s)))
         (start (get-internal-real-time)))
    (test-assert "tls-echo-server prints its port" (cdr server))
    (let ((out (run-example "tls-client.scm" "localhost" (cdr server) (cert-file "ca"))))
      (test-assert "tls-client connects with ALPN" (string-contains out "ALPN echo"))
      (test-assert "and gets its line echoed"
        (string-contains out "answer: hello, TLS echo server"))
      (test-assert "at once, though a silent client came first"
        (< (/ (- (get-internal-real-time) start) 1. internal-time-units-per-second) 8)))
    (test-assert "tls-client without the CA is refused (verification by default)"
      (not (string-contains (run-example "tls-client.scm" "localhost" (cdr server))
                            "answer:")))
    (when silent (close-port silent))
    (close-pipe (car server)))
  (remove-cert-dir))
