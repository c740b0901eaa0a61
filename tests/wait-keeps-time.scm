;;; A scheduler that keeps time itself: with waiter-keeps-time? set, its
;;; waiters are handed the plain descriptor (no epoll or timer descriptor
;;; is made) and resume each task by the time socket-time-left gives, and
;;; timeouts hold as well; closing a port wakes a task waiting on it.
;;; (tests/wait-timeouts.scm checks waiters that do not keep time.)

(use-modules (tests harness)
             (tests tls-common)
             (tests scheduler)
             (net socket)
             (net tls)
             (net error)
             (net wait)
             (srfi srfi-1)
             (srfi srfi-34)
             (srfi srfi-64)
             (ice-9 binary-ports)
             (ice-9 ftw)
             (ice-9 suspendable-ports))

(install-suspendable-ports!)

(define (now) (/ (get-internal-real-time) internal-time-units-per-second 1.0))

(define (wait-descriptor-count)
  "The epoll and timerfd descriptors this process has open."
  (count (lambda (link)
           (or (string-contains link "eventpoll")
               (string-contains link "timerfd")))
         (filter-map (lambda (f)
                       (false-if-exception
                        (readlink (string-append "/proc/self/fd/" f))))
                     (scandir "/proc/self/fd"
                              (lambda (f) (not (member f '("." ".."))))))))

(define (timed-out-within thunk limit)
  "Run THUNK as a task of the scheduler; return how long it took to raise
its &net-timeout, or the symbol of what else happened."
  (let ((outcome 'not-run) (start #f))
    (spawn (lambda ()
             (set! start (now))
             (set! outcome
                   (guard (e ((net-timeout-error? e) (- (now) start)))
                     (thunk)
                     'returned))))
    (run-scheduler #:limit (+ limit 5))
    outcome))

(define most-wait-descriptors 0)
(define (note-wait-descriptors port)
  (set! most-wait-descriptors
        (max most-wait-descriptors (wait-descriptor-count))))

(cert-dir)

(run-tests "wait-keeps-time"
  (parameterize ((waiter-keeps-time? #t))
    (test-group "timeouts hold, with no extra descriptors"
      (let* ((p (socketpair AF_UNIX SOCK_STREAM 0))
             (base (wait-descriptor-count)))
        (non-blocking! (car p))
        (set-socket-timeout! (car p) 'read 0.5)
        (set! most-wait-descriptors base)
        (let ((took (let ((outcome 'not-run) (start #f))
                      (spawn (lambda ()
                               (set! start (now))
                               (set! outcome
                                     (guard (e ((net-timeout-error? e)
                                                (- (now) start)))
                                       (get-u8 (car p))
                                       'returned))))
                      (run-scheduler #:limit 5 #:on-wait note-wait-descriptors)
                      outcome)))
          (test-assert "a socket read times out within its limit + 0.2 s"
            (and (real? took) (>= took 0.48) (< took 0.7)))
          (test-equal "no epoll or timer descriptor was made for it"
            base most-wait-descriptors))
        (close-port (car p)) (close-port (cdr p)))
      (let* ((l (make-listener AF_INET 8))
             (c (non-blocking! (socket AF_INET SOCK_STREAM 0)))
             (s (make-session connection-end/client)))
        (connect c (getsockname l))     ; never accepted: a silent peer
        (set-session-transport-port! s c)
        (set-session-credentials! s (client-credentials))
        (set-session-server-name! s server-name-type/dns "localhost")
        (set-session-timeout! s 0.5)
        (let ((took (timed-out-within (lambda () (handshake s)) 0.5)))
          (test-assert "a TLS handshake times out within its limit + 0.2 s"
            (and (real? took) (>= took 0.48) (< took 0.7))))
        (close-port c) (close-port l)))

    (test-group "closing wakes a task that waits with a time limit"
      (let ((p (socketpair AF_UNIX SOCK_STREAM 0))
            (outcome 'not-run)
            (woken-after #f))
        (non-blocking! (car p))
        (set-socket-timeout! (car p) 'read 10)
        (spawn (lambda ()
                 (let ((start (now)))
                   (set! outcome (guard (e (#t 'error)) (get-u8 (car p))))
                   (set! woken-after (- (now) start)))))
        (spawn (lambda ()
                 ;; Let the reader wait first: one turn through a pipe.
                 (let ((q (pipe)))
                   (non-blocking! (car q))
                   (write-char #\x (cdr q)) (force-output (cdr q))
                   (read-char (car q))
                   (close-port (car q)) (close-port (cdr q)))
                 (close-port (car p))))
        (test-assert "the scheduler finishes" (run-scheduler #:limit 5))
        (test-equal "the waiting read fails" 'error outcome)
        (test-assert "at once, not at its 10-second timeout"
          (and woken-after (< woken-after 1)))
        (close-port (cdr p)))))

  (remove-cert-dir))
