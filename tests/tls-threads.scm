;;; 50 threads, each with its own TLS connection to a TLS echo server on
;;; loopback, exchanging lines of their own: every byte checked, no
;;; interference between sessions.

(use-modules (tests harness)
             (tests tls-common)
             (net socket)
             (net tls)
             (srfi srfi-1)
             (srfi srfi-64)
             (ice-9 rdelim)
             (ice-9 threads))

(define thread-count 50)
(define lines-per-thread 100)

(cert-dir)                              ; before any thread asks for it

(define listener (loopback-listener))
(define port (listener-port listener))
(define server-cred (server-credentials))

(define (serve conn)
  (let ((session (make-session connection-end/server)))
    (set-session-transport-port! session conn)
    (set-session-credentials! session server-cred)
    (handshake session)
    (let ((tls (session-record-port session)))
      (let loop ()
        (let ((line (read-line tls)))
          (unless (eof-object? line)
            (display line tls)
            (newline tls)
            (force-output tls)
            (loop))))
      (close-port tls))))

(define acceptor
  (call-with-new-thread
   (lambda ()
     (let loop ((n 0) (servers '()))
       (if (= n thread-count)
           (for-each join-thread servers)
           (let ((conn (car (accept listener))))
             (loop (+ n 1)
                   (cons (call-with-new-thread (lambda () (serve conn)))
                         servers))))))))

(define (client id)
  "Return the number of lines echoed intact."
  (let ((s (socket AF_INET SOCK_STREAM 0))
        (session (make-session connection-end/client)))
    (connect s AF_INET INADDR_LOOPBACK port)
    (set-session-transport-port! session s)
    (set-session-credentials! session (client-credentials))
    (set-session-server-name! session server-name-type/dns "localhost")
    (handshake session)
    (let ((tls (session-record-port session)))
      (let loop ((i 0) (good 0))
        (if (= i lines-per-thread)
            (begin (close-port tls) good)
            (let ((text (format #f "thread ~a line ~a ~a" id i
                                (make-string (modulo (* id i) 300) (integer->char (+ 65 (modulo id 26)))))))
              (display text tls)
              (newline tls)
              (force-output tls)
              (loop (+ i 1) (if (equal? (read-line tls) text) (+ good 1) good))))))))

(run-tests "tls-threads"
  (let* ((threads (map (lambda (id) (call-with-new-thread (lambda () (client id))))
                       (iota thread-count)))
         (results (map (lambda (t) (join-thread t (+ (current-time) 120) 'timeout))
                       threads)))
    (test-equal "every thread finished" thread-count
      (count integer? results))
    (test-equal "every line of every thread echoed intact"
      (* thread-count lines-per-thread)
      (apply + (filter integer? results)))
    (test-assert "the server side finished"
      (not (eq? 'timeout (join-thread acceptor (+ (current-time) 30) 'timeout)))))
  (close-port listener)
  (remove-cert-dir))
