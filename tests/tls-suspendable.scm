;;; TLS under suspendable ports, on one thread: 1,000 concurrent TLS echo
;;; clients against a TLS echo server, several records read a line at a
;;; time (data GnuTLS already holds is never waited for), a server that
;;; speaks first, and a stalled peer that times out while others go on.

(use-modules (tests harness)
             (tests tls-common)
             (tests scheduler)
             (net socket)
             (net tls)
             (net error)
             (srfi srfi-1)
             (srfi srfi-64)
             (ice-9 exceptions)
             (ice-9 rdelim)
             (ice-9 suspendable-ports))

(install-suspendable-ports!)

(raise-fd-limit! 4096)

(cert-dir)
(define server-cred (server-credentials))
(define client-cred (client-credentials))

(define* (server-session conn #:key (timeout #f))
  (let ((s (make-session connection-end/server)))
    (set-session-transport-port! s (non-blocking! conn))
    (set-session-credentials! s server-cred)
    (set-session-timeout! s timeout)
    (handshake s)                       ; waits in the waiters
    (session-record-port s)))

(define (client-session address)
  (let ((c (socket AF_INET (logior SOCK_STREAM SOCK_NONBLOCK) 0))
        (s (make-session connection-end/client)))
    (connect c address)
    (set-session-transport-port! s c)
    (set-session-credentials! s client-cred)
    (set-session-server-name! s server-name-type/dns "localhost")
    (handshake s)
    (session-record-port s)))

(define (serve-echo tls)
  (let loop ()
    (let ((line (read-line tls)))
      (unless (eof-object? line)
        (display line tls) (newline tls) (force-output tls)
        (loop))))
  (close-port tls))

(define clients 1000)

(run-tests "tls-suspendable"
  (test-group "1,000 concurrent TLS echo clients on one thread"
    (let* ((l (non-blocking-listener))
           (address (getsockname l))
           (good 0) (bad 0))
      (spawn (lambda ()
               (let loop ((n 0))
                 (when (< n clients)
                   (let ((conn (car (accept l))))
                     (spawn (lambda () (serve-echo (server-session conn)))))
                   (loop (+ n 1))))
               (close-port l)))
      (for-each
       (lambda (i)
         (spawn (lambda ()
                  (let ((tls (client-session address)))
                    (let loop ((j 0))
                      (when (< j 3)
                        (let ((text (format #f "client ~a message ~a ~a" i j
                                            (make-string (modulo (* 37 i) 500) #\m))))
                          (display text tls) (newline tls) (force-output tls)
                          (if (equal? text (read-line tls))
                              (set! good (+ good 1))
                              (set! bad (+ bad 1))))
                        (loop (+ j 1))))
                    (close-port tls)))))
       (iota clients))
      (test-assert "the scheduler finishes" (run-scheduler #:limit 200))
      (test-equal "every message of every client echoed intact" (* 3 clients) good)
      (test-equal "no mismatch" 0 bad)))

  (test-group "several records, read a line at a time"
    (let* ((l (non-blocking-listener)) (address (getsockname l)) (lines '()))
      (spawn (lambda ()
               (let ((tls (server-session (car (accept l)))))
                 ;; Five records in one burst, then silence until the peer
                 ;; answers: the reader must not wait for data GnuTLS holds.
                 (for-each (lambda (i)
                             (format tls "record ~a~%" i)
                             (force-output tls))
                           (iota 5))
                 (read-line tls)
                 (close-port tls))
               (close-port l)))
      (spawn (lambda ()
               (let ((tls (client-session address)))
                 (let loop ((i 0))
                   (when (< i 5)
                     (set! lines (cons (read-line tls) lines))
                     (loop (+ i 1))))
                 (display "thanks\n" tls) (force-output tls)
                 (close-port tls))))
      (test-assert "the scheduler finishes (no deadlock on pending data)"
        (run-scheduler #:limit 30))
      (test-equal "every record read" '("record 0" "record 1" "record 2" "record 3" "record 4")
        (reverse lines))))

  (test-group "who speaks first"
    (let* ((l (non-blocking-listener)) (address (getsockname l)) (got #f))
      (spawn (lambda ()
               (let ((tls (server-session (car (accept l)))))
                 (display "220 server speaks first\n" tls) (force-output tls)
                 (read-line tls)
                 (close-port tls))
               (close-port l)))
      (spawn (lambda ()
               (let ((tls (client-session address)))
                 (set! got (read-line tls))
                 (display "bye\n" tls) (force-output tls)
                 (close-port tls))))
      (test-assert "the scheduler finishes" (run-scheduler #:limit 30))
      (test-equal "the client read the server's greeting" "220 server speaks first" got)))

  (test-group "a stalled TLS peer times out while the others carry on"
    (let* ((l (non-blocking-listener)) (address (getsockname l)) (outcomes '()) (stalled #f))
      (spawn (lambda ()
               (let loop ((n 0))
                 (when (< n 3)
                   (let ((conn (car (accept l))))
                     (spawn (lambda ()
                              (set! outcomes
                                    (cons (guard (e ((net-timeout-error? e)
                                                     (net-timeout-operation e)))
                                            (let* ((tls (server-session conn #:timeout 0.5))
                                                   (line (read-line tls)))
                                              (display "ok\n" tls) (force-output tls)
                                              (close-port tls)
                                              line))
                                          outcomes)))))
                   (loop (+ n 1))))
               (close-port l)))
      ;; One peer connects and never starts the handshake.
      (spawn (lambda ()
               (let ((c (socket AF_INET (logior SOCK_STREAM SOCK_NONBLOCK) 0)))
                 (connect c address)
                 (set! stalled c))))
      (for-each (lambda (text)
                  (spawn (lambda ()
                           (let ((tls (client-session address)))
                             (display text tls) (newline tls) (force-output tls)
                             ;; Read the reply first: closing with unread
                             ;; data (session tickets) would reset the TCP
                             ;; connection under the server.
                             (read-line tls)
                             (close-port tls)))))
                '("alpha" "beta"))
      (test-assert "the scheduler finishes" (run-scheduler #:limit 30))
      (test-equal "two served, the stalled handshake timed out"
        '("alpha" "beta" handshake)
        (sort outcomes (lambda (a b) (string<? (format #f "~a" a) (format #f "~a" b)))))
      (when stalled (close-port stalled))))

  (test-group "socket-time-left answers for every port a waiter is handed"
    (let ((p (pipe)))
      (test-equal "a pipe: no limit" #f (socket-time-left (car p) 'read))
      (close-port (car p)) (close-port (cdr p)))
    (let* ((pair (socketpair AF_UNIX SOCK_STREAM 0))
           (s (make-session connection-end/client)))
      (set-session-transport-port! s (car pair))
      (test-equal "a record port without a session timeout: no limit" #f
        (socket-time-left (session-record-port s) 'read))
      (set-session-timeout! s 5)
      (test-assert "a record port: its session's timeout"
        (let ((left (socket-time-left (session-record-port s) 'read)))
          (and left (< 4 left) (<= left 5))))
      (close-port (car pair))
      (close-port (cdr pair))))

  (remove-cert-dir))
