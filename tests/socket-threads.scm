;;; Threads, interrupts, signals and descriptors above 1024.
;;;
;;; Guile's built-in socket calls block inside the system call, so an async
;;; (system-async-mark, cancel-thread, Ctrl-C) aimed at the blocked thread
;;; waits until the call returns: forever, if no data comes.  Ours run while
;;; the call is still blocked.  The latency is printed as a TAP comment; the
;;; assertions only bound it generously (this machine is shared and noisy),
;;; what they check is that it runs at all while nothing arrives.

(use-modules (tests harness)
             (net socket)
             (srfi srfi-1)
             (srfi srfi-64)
             (rnrs bytevectors)
             (ice-9 binary-ports)
             (ice-9 rdelim)
             (ice-9 threads))

(define (now) (/ (get-internal-real-time) internal-time-units-per-second 1.0))

(define (interrupt-latency name blocking-thunk)
  "Run BLOCKING-THUNK in a thread; once it is blocked, mark an async that
escapes from it.  Return the seconds between the mark and the escape, or #f
if the thread did not escape within 3 s."
  (let* ((started #f)
         (escaped-at #f)
         (thread (call-with-new-thread
                  (lambda ()
                    (catch 'interrupted
                      (lambda () (set! started #t) (blocking-thunk) 'returned)
                      (lambda _ (set! escaped-at (now)) 'interrupted))))))
    (wait-until (lambda () started))
    (usleep 100000)                     ; let it block in the system call
    (let ((marked (now)))
      (system-async-mark (lambda () (throw 'interrupted)) thread)
      (let ((result (join-thread thread (+ (current-time) 3))))
        (and (eq? result 'interrupted)
             (let ((latency (- escaped-at marked)))
               (format #t "# ~a: async ran after ~,1f ms~%" name (* 1000 latency))
               latency))))))

(run-tests "socket-threads"

  (test-group "asyncs run while a call is blocked"
    (let ((p (connected-pair)))
      (test-assert "recv!"
        (< (interrupt-latency "recv!" (lambda () (recv! (car p) (make-bytevector 8))))
           1.0))
      (test-assert "read-line on the port"
        (< (interrupt-latency "read-line" (lambda () (read-line (car p)))) 1.0))
      (test-assert "get-bytevector-n on the port"
        (< (interrupt-latency "get-bytevector-n"
                              (lambda () (get-bytevector-n (car p) 10)))
           1.0))
      ;; Fill the send buffer: the peer never reads.
      (test-assert "send with a full buffer"
        (< (interrupt-latency "send"
                              (lambda () (send (car p) (make-bytevector (* 64 1024 1024) 0))))
           1.0))
      (close-port (car p)) (close-port (cdr p)))
    (let ((p (connected-pair)))
      (setvbuf (car p) 'block 65536)
      (test-assert "port write with a full buffer"
        (< (interrupt-latency "put-bytevector"
                              (lambda ()
                                (put-bytevector (car p) (make-bytevector (* 64 1024 1024) 0))
                                (force-output (car p))))
           1.0))
      (close-port (car p)) (close-port (cdr p)))
    (let ((l (make-listener)))
      (test-assert "accept"
        (< (interrupt-latency "accept" (lambda () (accept l))) 1.0))
      (close-port l))
    (let ((u (socket AF_INET SOCK_DGRAM 0)))
      (bind u AF_INET INADDR_LOOPBACK 0)
      (test-assert "recvfrom!"
        (< (interrupt-latency "recvfrom!" (lambda () (recvfrom! u (make-bytevector 8))))
           1.0))
      (close-port u))
    (let* ((target (full-backlog-listener))
           (c (socket AF_INET SOCK_STREAM 0)))
      (test-assert "connect to a full backlog"
        (< (interrupt-latency "connect" (lambda () (connect c (getsockname (car target)))))
           1.0))
      (for-each close-port (cons c target))))

  (test-group "cancel-thread"
    (let* ((l (make-listener))
           (t (call-with-new-thread (lambda () (accept l)))))
      (usleep 100000)
      (cancel-thread t)
      (test-assert "a thread blocked in accept can be cancelled"
        (not (equal? '(timeout)
                     (call-with-values
                         (lambda () (join-thread t (+ (current-time) 3) 'timeout))
                       list))))
      (close-port l)))

  (test-group "other threads carry on"
    (let* ((p (connected-pair))
           (reader (call-with-new-thread
                    (lambda () (read-line (cdr p)))))
           (counter 0)
           (worker (call-with-new-thread
                    (lambda ()
                      (let loop ((i 0))
                        (when (< i 200)
                          (set! counter (+ counter 1))
                          (gc)
                          (loop (+ i 1))))
                      counter))))
      (test-equal "a worker thread finishes, GC included, while one reads"
        200 (join-thread worker (+ (current-time) 10) 'timeout))
      (display "done\n" (car p))
      (test-equal "the reader then gets its line" "done"
        (join-thread reader (+ (current-time) 5) 'timeout))
      (close-port (car p)) (close-port (cdr p)))
    (let* ((p (connected-pair))
           (size (* 8 1024 1024))
           (data (u8-list->bytevector (map (lambda (i) (modulo i 251)) (iota size))))
           (writer (call-with-new-thread (lambda () (send (car p) data)))))
      (usleep 50000)
      (test-equal "a blocked send completes once the peer reads, no byte lost"
        data (get-bytevector-n (cdr p) size))
      (test-equal "send returns the whole length" size
        (join-thread writer (+ (current-time) 5) 'timeout))
      (close-port (car p)) (close-port (cdr p))))

  (test-group "signals"
    (let* ((p (connected-pair))
           (alarms 0)
           (old (sigaction SIGALRM (lambda (sig) (set! alarms (+ alarms 1))))))
      (setitimer ITIMER_REAL 0 50000 0 50000)
      (let ((t (call-with-new-thread
                (lambda ()
                  (usleep 400000)
                  (display "after signals\n" (cdr p))))))
        (test-equal "EINTR is retried: the read completes" "after signals"
          (read-line (car p)))
        (setitimer ITIMER_REAL 0 0 0 0)
        (join-thread t)
        (test-assert "the signal handler ran meanwhile" (> alarms 0)))
      (sigaction SIGALRM (car old) (cdr old))
      (close-port (car p)) (close-port (cdr p)))
    (let ((p (connected-pair)))
      (close-port (cdr p))
      (test-assert "writing to a vanished peer is EPIPE or ECONNRESET, not SIGPIPE"
        (memv (catch 'system-error
                (lambda ()
                  (let loop ((i 0))
                    (and (< i 200)
                         (begin (send (car p) (make-bytevector 4096 1))
                                (usleep 1000)
                                (loop (+ i 1))))))
                (lambda (key subr msg args rest) (car rest)))
              (list EPIPE ECONNRESET)))
      (test-assert "the port reports it too"
        (memv (catch 'system-error
                (lambda ()
                  (display "x" (car p)) (force-output (car p)) #f)
                (lambda (key subr msg args rest) (car rest)))
              (list EPIPE ECONNRESET)))
      (close-port (car p))))

  (test-group "descriptors above 1024"
    (raise-fd-limit! 2048)
    (let* ((padding (map (lambda (i) (open-fdes "/dev/null" O_RDONLY)) (iota 1030)))
           (p (connected-pair)))
      (test-assert "the socket's descriptor is above 1024" (> (fileno (car p)) 1024))
      (display "high\n" (cdr p))
      (test-equal "read-line works" "high" (read-line (car p)))
      (test-assert "asyncs still run while blocked"
        (< (interrupt-latency "recv! fd>1024"
                              (lambda () (recv! (car p) (make-bytevector 8))))
           1.0))
      (test-assert "select with a high socket"
        (begin (display "x" (cdr p))
               (equal? (list (car p)) (car (select (list (car p)) '() '() 2)))))
      (close-port (car p)) (close-port (cdr p))
      (for-each close-fdes padding))))
