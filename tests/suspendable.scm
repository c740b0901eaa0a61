;;; Socket ports under suspendable ports: many connections on one thread,
;;; accept and connect through the waiters, and timeouts that still hold.

(use-modules (tests harness)
             (tests scheduler)
             (net socket)
             (net error)
             (srfi srfi-64)
             (rnrs bytevectors)
             (ice-9 binary-ports)
             (ice-9 rdelim)
             (ice-9 suspendable-ports)
             (ice-9 threads)
             (ice-9 exceptions))

(install-suspendable-ports!)

(define (nb-client address)
  (let ((c (socket AF_INET (logior SOCK_STREAM SOCK_NONBLOCK) 0)))
    (connect c address)                 ; waits in the write waiter
    c))

(define clients 200)
(define lines-per-client 20)

(run-tests "suspendable"
  (test-group "many echo connections on one thread"
    (let* ((l (non-blocking-listener))
           (address (getsockname l))
           (checked 0)
           (errors 0))
      (spawn (lambda ()
               (let loop ((n 0))
                 (when (< n clients)
                   (let ((conn (car (accept l))))   ; waits in the read waiter
                     (non-blocking! conn)
                     (spawn (lambda ()
                              (let echo ()
                                (let ((line (read-line conn)))
                                  (unless (eof-object? line)
                                    (display line conn)
                                    (newline conn)
                                    (echo))))
                              (close-port conn))))
                   (loop (+ n 1))))
               (close-port l)))
      (for-each
       (lambda (i)
         (spawn (lambda ()
                  (let ((c (nb-client address)))
                    (setvbuf c 'block 1024)
                    (let loop ((j 0))
                      (when (< j lines-per-client)
                        (let ((text (format #f "client ~a line ~a ~a" i j
                                            (make-string (* 10 j) #\x))))
                          (display text c) (newline c) (force-output c)
                          (if (equal? (read-line c) text)
                              (set! checked (+ checked 1))
                              (set! errors (+ errors 1)))
                          (loop (+ j 1)))))
                    (close-port c)))))
       (iota clients))
      (test-assert "the scheduler finishes" (run-scheduler #:limit 120))
      (test-equal "every line echoed intact" (* clients lines-per-client) checked)
      (test-equal "no mismatch" 0 errors)))

  (test-group "a stalled peer times out while the others carry on"
    (let* ((l (non-blocking-listener))
           (address (getsockname l))
           (outcome '()))
      (spawn (lambda ()
               (let loop ((n 0))
                 (when (< n 3)
                   (let ((conn (non-blocking! (car (accept l)))))
                     (set-socket-timeout! conn 'read 0.3)
                     (spawn (lambda ()
                              (let ((r (catch #t
                                         (lambda () (read-line conn))
                                         (lambda (key . args)
                                           (if (and (eq? key '%exception)
                                                    (net-timeout-error? (car args)))
                                               'timeout
                                               key)))))
                                (set! outcome (cons r outcome))
                                (close-port conn)))))
                   (loop (+ n 1))))
               (close-port l)))
      ;; Two clients send a line; one stalls, holding its connection open.
      (spawn (lambda () (let ((c (nb-client address))) (display "one\n" c) (force-output c)
                          (read-char c) (close-port c))))
      (spawn (lambda () (let ((c (nb-client address))) (display "two\n" c) (force-output c)
                          (read-char c) (close-port c))))
      (let ((stalled #f))
        (spawn (lambda () (set! stalled (nb-client address))))
        (test-assert "the scheduler finishes" (run-scheduler #:limit 30))
        (test-equal "the two live clients were served and the stalled one timed out"
          '("one" timeout "two")
          (sort outcome (lambda (a b) (string<? (format #f "~a" a) (format #f "~a" b)))))
        (when stalled (close-port stalled)))))

  (test-group "accept and connect wait in the waiters"
    (let* ((l (non-blocking-listener))
           (waits 0)
           (accepted #f))
      (parameterize ((current-read-waiter
                      (lambda (port) (set! waits (+ waits 1)) (select (list port) '() '() 5))))
        (let ((t (call-with-new-thread
                  (lambda () (usleep 100000)
                    (let ((c (socket AF_INET SOCK_STREAM 0)))
                      (connect c (getsockname l)) c)))))
          (set! accepted (accept l))
          (test-assert "accept on a non-blocking socket returns a connection" (pair? accepted))
          (test-assert "after waiting in the read waiter" (> waits 0))
          (close-port (car accepted))
          (close-port (join-thread t))))
      (set-socket-timeout! l 'accept 0.2)
      (parameterize ((current-read-waiter (lambda (port) (select (list port) '() '() 0 50000))))
        (test-assert "the accept timeout holds under a waiter"
          (guard (e ((net-timeout-error? e) (eq? 'accept (net-timeout-operation e))))
            (accept l) #f)))
      (close-port l)))

  (test-group "name resolution does not hold up the scheduler"
    (let* ((l (non-blocking-listener))
           (port (sockaddr:port (getsockname l)))
           (pipe-waits 0)
           (ticks 0)
           (connected 0))
      (spawn (lambda ()
               (let loop ((n 0))
                 (when (< n 20)
                   (close-port (car (accept l)))
                   (loop (+ n 1))))
               (close-port l)))
      ;; A task that keeps running while others resolve.
      (spawn (lambda ()
               (let loop ((i 0))
                 (when (< i 50)
                   (set! ticks (+ ticks 1))
                   (let ((p (pipe)))          ; a yield: wait for a ready fd
                     (non-blocking! (car p))
                     (write-char #\t (cdr p)) (force-output (cdr p))
                     (read-char (car p))
                     (close-port (car p)) (close-port (cdr p)))
                   (loop (+ i 1))))))
      (for-each (lambda (i)
                  (spawn (lambda ()
                           (let ((s (connect-to-host "localhost" port)))
                             (set! connected (+ connected 1))
                             (close-port s)))))
                (iota 20))
      (test-assert "the scheduler finishes"
        (run-scheduler #:limit 30
                       #:on-wait (lambda (port)
                                   (unless (socket-port? port)
                                     (set! pipe-waits (+ pipe-waits 1))))))
      (test-equal "every lookup connected" 20 connected)
      (test-assert "lookups waited in the read waiter, not in the thread"
        (> pipe-waits 0))
      (test-equal "the other task ran to the end" 50 ticks)))

  (test-group "without suspendable ports, Guile's semantics"
    (uninstall-suspendable-ports!)
    (let ((l (non-blocking-listener)))
      (test-equal "non-blocking accept returns #f" #f (accept l))
      (close-port l))
    (install-suspendable-ports!)))
