;;; The tutorial's scheduler and TLS echo server, as the manual prints them
;;; (doc/tutorial.texi, node "Many Connections on One Thread"), run in a
;;; process of their own: its claims checked the way a reader would meet
;;; them.  Only what a reader must change is changed: the port (0, not
;;; 8443, printed once bound), the certificate files, and the 30-second
;;; timeout (3 seconds, to keep the test short).
;;;
;;; Checked: the server serves many TLS clients at once on its one
;;; thread; a client that connects and never starts its handshake is
;;; dropped after the timeout, while other clients keep being served.

(use-modules (tests harness)
             (tests tls-common)
             (net socket)
             (net tls)
             (srfi srfi-1)
             (srfi srfi-64)
             (ice-9 rdelim)
             (ice-9 regex)
             (ice-9 threads)
             (ice-9 binary-ports)
             (ice-9 textual-ports))

(define top (or (getenv "abs_top_srcdir") "."))

(define (now) (/ (get-internal-real-time) internal-time-units-per-second 1.0))

(define (node-lisp-blocks file node)
  "The @lisp blocks of NODE in Texinfo FILE, as strings, unescaped."
  (call-with-input-file file
    (lambda (port)
      (let loop ((in-node? #f) (block #f) (blocks '()))
        (let ((line (read-line port)))
          (cond
           ((eof-object? line) (reverse blocks))
           ((string-prefix? "@node " line)
            (if in-node?
                (reverse blocks)
                (loop (string=? line (string-append "@node " node)) #f blocks)))
           ((not in-node?) (loop #f #f blocks))
           ((string=? line "@lisp") (loop #t '() blocks))
           ((string=? line "@end lisp")
            (loop #t #f (cons (string-join (reverse block) "\n") blocks)))
           (block (loop #t (cons line block) blocks))
           (else (loop #t #f blocks))))))))

(define (unescape text)
  (regexp-substitute/global #f "@([@{}])" text 'pre 1 'post))

(define (replace-once text old new)
  (let ((i (string-contains text old)))
    (unless i (error "the tutorial no longer says" old))
    (string-append (substring text 0 i) new
                   (substring text (+ i (string-length old))))))

(define blocks
  (map unescape (node-lisp-blocks (string-append top "/doc/tutorial.texi")
                                  "Many Connections on One Thread")))

(cert-dir)

(define program
  (let* ((scheduler (first blocks))
         (server (second blocks))
         (server (replace-once server "\"cert.pem\" \"key.pem\""
                               (format #f "~s ~s" (cert-file "server")
                                       (cert-file "key"))))
         (server (replace-once server "(set-session-timeout! session 30)"
                               "(set-session-timeout! session 3)"))
         (server (replace-once server "INADDR_LOOPBACK 8443"
                               "INADDR_LOOPBACK 0"))
         (server (replace-once server "(listen listener 1024)"
                               "(listen listener 1024)
(format #t \"port ~a~%\" (sockaddr:port (getsockname listener)))
(force-output)")))
    (string-append scheduler "\n" server "\n")))

(define program-file
  (let ((file (string-append (cert-dir) "/tutorial-server.scm")))
    (call-with-output-file file (lambda (p) (display program p)))
    file))

(define (start-server)
  "Run the tutorial's server in a child process (at most 60 s); return
its PID and the port it printed."
  (let* ((p (pipe))
         (pid (primitive-fork)))
    (if (zero? pid)
        (begin
          (close-port (car p))
          (dup2 (fileno (cdr p)) 1)
          (execlp "timeout" "timeout" "60" "guile" "--no-auto-compile"
                  program-file))
        (begin
          (close-port (cdr p))
          (let* ((line (read-line (car p)))
                 (m (and (string? line) (string-match "^port ([0-9]+)" line))))
            (close-port (car p))
            (values pid (and m (string->number (match:substring m 1)))))))))

(define (tls-client port text)
  "Connect to the server on PORT, send TEXT and return the line echoed."
  (let ((s (socket AF_INET SOCK_STREAM 0))
        (session (make-session connection-end/client)))
    (set-socket-timeout! s 'connect 10)
    (connect s AF_INET INADDR_LOOPBACK port)
    (set-session-transport-port! session s)
    (set-session-credentials! session (client-credentials))
    (set-session-server-name! session server-name-type/dns "localhost")
    (set-session-timeout! session 10)
    (handshake session)
    (let ((tls (session-record-port session)))
      (display text tls) (newline tls) (force-output tls)
      (let ((line (read-line tls)))
        (close-port tls)
        line))))

(run-tests "tutorial"
  (test-equal "the node has the scheduler and the server" 2 (length blocks))
  (call-with-values start-server
    (lambda (pid port)
      (test-assert "the tutorial's server starts and listens" port)
      (when port
        ;; A client that connects and never starts its handshake.
        (let ((silent (socket AF_INET SOCK_STREAM 0))
              (start (now)))
          (connect silent AF_INET INADDR_LOOPBACK port)
          (set-socket-timeout! silent 'read 10)
          ;; Many clients at once, while the silent one waits.
          (let* ((answers (par-map (lambda (i)
                                     (false-if-exception
                                      (tls-client port (format #f "client ~a" i))))
                                   (iota 40)))
                 (served-in (- (now) start)))
            (test-equal "40 clients at once, every line echoed"
              (map (lambda (i) (format #f "client ~a" i)) (iota 40))
              answers)
            (format #t "# 40 clients served in ~,2f s~%" served-in)
            (test-assert "... while the silent client still waited"
              (null? (car (select (list silent) '() '() 0)))))
          ;; The silent client is dropped after the 3-second timeout.
          (let* ((got (catch #t (lambda () (get-u8 silent))
                        (lambda (key . args) (cons key args))))
                 (after (- (now) start)))
            (format #t "# the silent client was dropped after ~,2f s: ~s~%"
                    after got)
            (test-assert "the silent client is dropped (end of file or reset)"
              (or (eof-object? got) (pair? got)))
            (test-assert "... after its 3-second handshake timeout, not before"
              (and (>= after 2.9) (< after 6))))
          (close-port silent))
        (test-equal "a client after that is served too" "last"
          (false-if-exception (tls-client port "last"))))
      (kill pid SIGTERM)
      (test-assert "the server process ends when told"
        (let loop ((i 0))
          (let ((status (waitpid pid WNOHANG)))
            (cond ((not (zero? (car status))) #t)
                  ((> i 100) (kill pid SIGKILL) (waitpid pid) #f)
                  (else (usleep 50000) (loop (+ i 1)))))))))
  (remove-cert-dir))
