;;; (net scheduler): tasks on one thread over suspendable ports.  Tasks
;;; and their results; sleeping, yielding, waiting for descriptors with
;;; time limits; suspend and resume; socket and TLS timeouts that hold
;;; with no epoll or timer descriptor per wait; closing a port wakes the
;;; task waiting on it, and a reused descriptor number confuses no one;
;;; asyncs and other threads' wake-ups reach a waiting scheduler at once;
;;; tasks without a stack (spawn-when-ready, when-ready, task-idle);
;;; watched descriptors, level-triggered, neither missing bytes left in a
;;; socket nor spinning on them; a thousand connections on one thread.
;;; Loopback and socketpairs only; every run is bounded.

(use-modules (tests harness)
             (tests tls-common)
             (net scheduler)
             (net socket)
             (net tls)
             (net error)
             (net wait)
             (srfi srfi-1)
             (srfi srfi-34)
             (srfi srfi-64)
             (ice-9 binary-ports)
             (ice-9 ftw)
             (ice-9 threads)
             (ice-9 suspendable-ports)
             (rnrs bytevectors))

(define (now) (/ (get-internal-real-time) internal-time-units-per-second 1.0))

(define (non-blocking! port)
  (fcntl port F_SETFL (logior O_NONBLOCK (fcntl port F_GETFL)))
  port)

(define (pair)
  (let ((p (socketpair AF_UNIX SOCK_STREAM 0)))
    (non-blocking! (car p))
    (non-blocking! (cdr p))
    p))

(define (descriptor-links)
  (filter-map (lambda (f)
                (false-if-exception
                 (readlink (string-append "/proc/self/fd/" f))))
              (scandir "/proc/self/fd"
                       (lambda (f) (not (member f '("." "..")))))))

(define (wait-descriptor-count)
  "Epoll and timerfd descriptors open in this process."
  (count (lambda (link)
           (or (string-contains link "eventpoll")
               (string-contains link "timerfd")))
         (descriptor-links)))

(define-syntax-rule (elapsed body ...)
  (let ((start (now)))
    body ...
    (- (now) start)))

(cert-dir)

(run-tests "net-scheduler"

  (test-group "tasks"
    (let* ((s (make-scheduler))
           (a (spawn (lambda () (values 1 2)) #:scheduler s #:name "a"))
           (b (spawn (lambda () (error "boom")) #:scheduler s #:name "b"))
           (c (spawn (lambda () 'c) #:scheduler s)))
      (test-equal "a new task is ready" 'ready (task-state a))
      (test-equal "three tasks are counted" 3 (scheduler-task-count s))
      (test-assert "run-scheduler returns #t once none is left"
        (run-scheduler #:scheduler s #:timeout 5))
      (test-equal "a task's values are its result" '(1 2) (task-result a))
      (test-equal "a task that raised is failed" 'failed (task-state b))
      (test-assert "... with its exception kept" (exception? (task-error b)))
      (test-equal "and the others ran" '(c) (task-result c))
      (test-assert "all three are done" (every task-done? (list a b c)))
      (test-equal "none is counted any more" 0 (scheduler-task-count s))
      (scheduler-close! s)))

  (test-group "time"
    (let* ((s (make-scheduler))
           (order '())
           (note! (lambda (x) (set! order (cons x order)))))
      (spawn (lambda () (task-sleep 0.3) (note! 'slept)) #:scheduler s)
      (spawn (lambda () (note! 'one) (yield-task) (note! 'three)) #:scheduler s)
      (spawn (lambda () (note! 'two)) #:scheduler s)
      (let ((t (elapsed (run-scheduler #:scheduler s #:timeout 5))))
        (test-equal "yield-task lets the others run first"
          '(one two three slept) (reverse order))
        (test-assert "task-sleep waits its time (0.3 s, at most 0.2 s late)"
          (and (>= t 0.29) (< t 0.5))))
      (spawn (lambda () (task-sleep 10)) #:scheduler s)
      (test-equal "run-scheduler gives up at its timeout"
        #f (run-scheduler #:scheduler s #:timeout 0.2))
      (scheduler-close! s)))

  (test-group "waiting for descriptors"
    (let* ((s (make-scheduler))
           (p (pair))
           (results '()))
      (spawn (lambda ()
               (let ((t (elapsed (set! results (cons (wait-readable (car p) 0.2)
                                                     results)))))
                 (set! results (cons t results))))
             #:scheduler s)
      (run-scheduler #:scheduler s #:timeout 5)
      (test-equal "wait-readable returns #f when its time runs out"
        #f (cadr results))
      (test-assert "... after that time"
        (and (>= (car results) 0.19) (< (car results) 0.45)))
      (set! results '())
      (spawn (lambda ()
               (set! results (list (wait-readable (car p) 5)
                                   (get-u8 (car p)))))
             #:scheduler s)
      (spawn (lambda () (task-sleep 0.1) (put-u8 (cdr p) 42) (force-output (cdr p)))
             #:scheduler s)
      (run-scheduler #:scheduler s #:timeout 5)
      (test-equal "and #t once a byte comes, which it leaves to read"
        '(#t 42) results)
      (spawn (lambda () (set! results (wait-writable (cdr p) 1))) #:scheduler s)
      (run-scheduler #:scheduler s #:timeout 5)
      (test-equal "wait-writable on a writable socket" #t results)
      (close-port (car p)) (close-port (cdr p))
      (scheduler-close! s)))

  (test-group "suspend and resume"
    (let* ((s (make-scheduler))
           (got #f)
           (t (spawn (lambda () (set! got (suspend-task))) #:scheduler s)))
      (scheduler-run-ready! s)
      (test-equal "a task in suspend-task is suspended" 'suspended (task-state t))
      (test-assert "resume-task! makes it ready" (resume-task! t 'hello))
      (test-equal "resume-task! of a task not suspended does nothing"
        #f (resume-task! t 'again))
      (run-scheduler #:scheduler s #:timeout 5)
      (test-equal "suspend-task returns the value given" 'hello got)
      (spawn (lambda () (set! got (suspend-task 0.1))) #:scheduler s)
      (run-scheduler #:scheduler s #:timeout 5)
      (test-equal "or #f after its time" #f got)
      (scheduler-close! s)))

  (test-group "timeouts hold, with no descriptor per wait"
    (let* ((s (make-scheduler))
           (p (pair))
           (base (wait-descriptor-count))
           (most base)
           (ticks 0)
           (outcome #f))
      (set-socket-timeout! (car p) 'read 0.5)
      (spawn (lambda ()
               (let ((start (now)))
                 (set! outcome
                       (guard (e ((net-timeout-error? e) (- (now) start)))
                         (get-u8 (car p))
                         'returned))))
             #:scheduler s)
      (spawn (lambda ()
               (let loop ((i 0))
                 (when (< i 8)
                   (set! most (max most (wait-descriptor-count)))
                   (set! ticks (+ ticks 1))
                   (task-sleep 0.05)
                   (loop (+ i 1)))))
             #:scheduler s)
      (run-scheduler #:scheduler s #:timeout 5)
      (test-assert "a socket read times out within its limit + 0.2 s"
        (and (real? outcome) (>= outcome 0.48) (< outcome 0.7)))
      (test-equal "while another task kept running" 8 ticks)
      (test-equal "and no epoll or timer descriptor was made for the wait"
        base most)
      (close-port (car p)) (close-port (cdr p))
      (scheduler-close! s))

    (let* ((s (make-scheduler))
           (l (loopback-listener))
           (c (socket AF_INET SOCK_STREAM 0))
           (outcome #f))
      (connect c AF_INET INADDR_LOOPBACK (listener-port l))
      (let ((conn (non-blocking! (car (accept l))))
            (session (make-session connection-end/server)))
        (set-session-credentials! session (server-credentials))
        (set-session-transport-port! session conn)
        (set-session-timeout! session 0.5)
        (spawn (lambda ()
                 (let ((start (now)))
                   (set! outcome
                         (guard (e ((net-timeout-error? e) (- (now) start)))
                           (handshake session)
                           'returned))))
               #:scheduler s)
        (run-scheduler #:scheduler s #:timeout 5)
        (test-assert "a TLS handshake with a silent client times out in time"
          (and (real? outcome) (>= outcome 0.48) (< outcome 0.7)))
        (close-port conn))
      (close-port c) (close-port l)
      (scheduler-close! s)))

  (test-group "closing wakes the waiting"
    (let* ((s (make-scheduler))
           (p (pair))
           (outcome #f)
           (took #f))
      (spawn (lambda ()
               (let ((start (now)))
                 (set! outcome (guard (e (#t 'raised)) (get-u8 (car p)) 'read))
                 (set! took (- (now) start))))
             #:scheduler s)
      (spawn (lambda () (task-sleep 0.1) (close-port (car p))) #:scheduler s)
      (run-scheduler #:scheduler s #:timeout 5)
      (test-equal "a read with no time limit on a port another task closes raises"
        'raised outcome)
      (test-assert "... at once" (and took (< took 0.5)))
      (close-port (cdr p))
      ;; The closed number is taken by a new socket at once.
      (let* ((q (pair)) (r (pair))
             (got '()))
        (set-socket-timeout! (car q) 'read 5)
        (spawn (lambda ()
                 (set! got (cons (guard (e (#t 'raised)) (get-u8 (car q))) got)))
               #:scheduler s)
        (spawn (lambda ()
                 (task-sleep 0.05)
                 (close-port (car q))
                 ;; maybe the same numbers again
                 (set! r (pair))
                 (spawn (lambda ()
                          (set! got (cons (get-u8 (car r)) got)))
                        #:scheduler s)
                 (task-sleep 0.05)
                 (put-u8 (cdr r) 7) (force-output (cdr r)))
               #:scheduler s)
        (run-scheduler #:scheduler s #:timeout 5)
        (test-equal "a timed read is woken too, and a new socket of the same number is read"
          '(7 raised) got)
        (close-port (cdr q)) (close-port (car r)) (close-port (cdr r)))
      (let ((p (pair)) (outcome #f) (took #f))
        (set-socket-timeout! (car p) 'read 5)
        (spawn (lambda ()
                 (let ((start (now)))
                   (set! outcome (guard (e (#t 'raised)) (get-u8 (car p)) 'read))
                   (set! took (- (now) start))))
               #:scheduler s)
        (call-with-new-thread (lambda () (usleep 200000) (close-port (car p))))
        (run-scheduler #:scheduler s #:timeout 10)
        (test-equal "a close from another thread wakes the waiting task"
          'raised outcome)
        (test-assert "... at once, not at its deadline" (and took (< took 1.5)))
        (close-port (cdr p)))
      (scheduler-close! s)))

  (test-group "asyncs and other threads"
    (let* ((s (make-scheduler))
           (me (current-thread))
           (ran #f))
      (spawn (lambda () (task-sleep 5)) #:scheduler s)
      (scheduler-run-ready! s)
      (call-with-new-thread
       (lambda ()
         (usleep 100000)
         (system-async-mark (lambda () (set! ran (now))) me)))
      (let ((start (now)))
        (scheduler-poll! s 3)
        (test-assert "an async runs at once while the scheduler waits (< 50 ms late)"
          (and ran (< (- ran start) 0.15))))
      (call-with-new-thread (lambda () (usleep 100000) (scheduler-wake! s)))
      (test-assert "scheduler-wake! from another thread ends a poll at once"
        (< (elapsed (scheduler-poll! s 3)) 0.5))
      (scheduler-close! s))
    (let ((s (make-scheduler)))
      (spawn (lambda () (throw 'interrupt)) #:scheduler s)
      (test-equal "Ctrl-C's interrupt in a task goes on out of the scheduler"
        'interrupt
        (catch 'interrupt
          (lambda () (run-scheduler #:scheduler s #:timeout 2) 'returned)
          (lambda (key . args) key)))
      (scheduler-close! s)))

  (test-group "tasks without a stack"
    (let* ((s (make-scheduler))
           (p (pair))
           (calls '()))
      (spawn-when-ready (lambda (ready?) (set! calls (cons ready? calls)))
                        (car p) #:timeout 0.1 #:scheduler s)
      (run-scheduler #:scheduler s #:timeout 5)
      (test-equal "spawn-when-ready: #f once its time is up" '(#f) calls)
      (let ((t (spawn-when-ready (lambda (ready?)
                                   (set! calls (cons (list ready? (get-u8 (car p)))
                                                     calls)))
                                 (car p) #:timeout 5 #:scheduler s)))
        (test-equal "it waits as a task" 'waiting (task-state t))
        (put-u8 (cdr p) 9) (force-output (cdr p))
        (run-scheduler #:scheduler s #:timeout 5)
        (test-equal "and runs its procedure with #t once ready" '(#t 9) (car calls)))
      ;; One task, step by step: when-ready, task-idle, restart-task!.
      (let* ((steps '())
             (t (spawn (lambda ()
                         (set! steps (cons 'first steps))
                         (when-ready (lambda (ready?)
                                       (set! steps (cons (list 'read (get-u8 (car p)))
                                                         steps))
                                       (task-idle))
                                     (car p) #:timeout 5)
                         (set! steps (cons 'never steps)))
                       #:scheduler s)))
        (scheduler-run-ready! s)
        (test-equal "when-ready ends the run: the task waits" 'waiting (task-state t))
        (put-u8 (cdr p) 3) (force-output (cdr p))
        (scheduler-poll! s 1)
        (scheduler-run-ready! s)
        (test-equal "task-idle leaves it idle" 'idle (task-state t))
        (test-assert "restart-task! runs a new step in it"
          (restart-task! t (lambda () (set! steps (cons 'restarted steps)))))
        (run-scheduler #:scheduler s #:timeout 5)
        (test-equal "the steps ran, nothing after when-ready"
          '(first (read 3) restarted) (reverse steps))
        (test-equal "and it ended" 'done (task-state t)))
      (close-port (car p)) (close-port (cdr p))
      (scheduler-close! s)))

  (test-group "watched descriptors"
    (let* ((s (make-scheduler))
           (p (pair))
           (got '()))
      (scheduler-watch! s (fileno (car p)))
      ;; Two bytes come in one event; the task takes one, and must be
      ;; woken for the other although nothing more arrives.
      (put-bytevector (cdr p) #vu8(1 2)) (force-output (cdr p))
      (spawn (lambda ()
               (let loop ((i 0))
                 (when (< i 2)
                   (wait-readable (fileno (car p)) 2)
                   (set! got (cons (recv! (car p) (make-bytevector 1)) got))
                   (loop (+ i 1)))))
             #:scheduler s)
      (run-scheduler #:scheduler s #:timeout 5)
      (test-equal "bytes left in the socket after a wake are not missed" '(1 1) got)
      ;; Readable, and a task waits only to write: no round spins on it.
      (put-u8 (cdr p) 5) (force-output (cdr p))
      (let ((rounds 0))
        (spawn (lambda () (task-sleep 0.3)) #:scheduler s)
        (spawn (lambda () (wait-writable (fileno (car p)) 0.3)) #:scheduler s)
        (let loop ()
          (scheduler-run-ready! s)
          (unless (zero? (scheduler-task-count s))
            (set! rounds (+ rounds 1))
            (scheduler-poll! s 1)
            (when (< rounds 1000) (loop))))
        (test-assert "a descriptor ready with no task waiting for it does not spin"
          (< rounds 20)))
      (scheduler-unwatch! s (fileno (car p)))
      (close-port (car p)) (close-port (cdr p))
      (scheduler-close! s)))

  (test-group "many connections on one thread"
    (let* ((s (make-scheduler))
           (n 1000)
           (pairs (map (lambda (i) (pair)) (iota n)))
           (done 0)
           (threads (length (scandir "/proc/self/task"))))
      (for-each (lambda (p)
                  (set-socket-timeout! (car p) 'read 10)
                  (spawn (lambda ()
                           (put-u8 (cdr p) 1) (force-output (cdr p))
                           (get-u8 (car p))
                           (put-u8 (car p) 2) (force-output (car p))
                           (when (= 2 (get-u8 (cdr p)))
                             (set! done (+ done 1))))
                         #:scheduler s))
                pairs)
      (let ((t (elapsed (run-scheduler #:scheduler s #:timeout 30))))
        (test-equal "1,000 socket pairs exchange a byte each way" n done)
        (test-assert "in well under a second of this thread" (< t 3)))
      (test-equal "and no thread was started" threads
        (length (scandir "/proc/self/task")))
      (for-each (lambda (p) (close-port (car p)) (close-port (cdr p))) pairs)
      (scheduler-close! s)))

  (test-group "install-scheduler!"
    (let* ((s (make-scheduler))
           (before (current-read-waiter))
           (undo (install-scheduler! s)))
      (test-eq "current-scheduler is the installed one" s (current-scheduler))
      (test-assert "its waiters are this thread's" (not (eq? before (current-read-waiter))))
      (let ((p (pair)))
        (set-socket-timeout! (car p) 'read 0.2)
        (test-assert "outside a task, a read waits in the thread and times out"
          (net-timeout-error? (capture (lambda () (get-u8 (car p))))))
        (close-port (car p)) (close-port (cdr p)))
      (undo)
      (test-eq "the thunk it returned puts the old waiter back"
        before (current-read-waiter))
      (scheduler-close! s)))

  (test-group "cancel-task!"
    (let* ((s (make-scheduler))
           (after #f)
           (t (spawn (lambda () (task-sleep 5) (set! after #t)) #:scheduler s)))
      (scheduler-run-ready! s)
      (test-assert "a sleeping task is cancelled" (cancel-task! t))
      (test-equal "its state says so" 'cancelled (task-state t))
      (test-assert "the scheduler has nothing left"
        (run-scheduler #:scheduler s #:timeout 1))
      (test-equal "and it never ran on" #f after)
      (test-equal "cancelling it again does nothing" #f (cancel-task! t))
      (scheduler-close! s)))

  (remove-cert-dir))
