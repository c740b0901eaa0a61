;;; (tests fd-scheduler) -- a one-thread scheduler whose waiters only wait
;;; for the descriptor.
;;;
;;; Like (tests scheduler), built only on (ice-9 suspendable-ports), but its
;;; read and write waiters know nothing of timeouts: they suspend the task on
;;; `port-read-wait-fd' / `port-write-wait-fd' of whatever port they are
;;; handed, and the scheduler polls those descriptor numbers with (net
;;; socket)'s `select'.  It never calls socket-time-left or
;;; session-time-left, so an operation's timeout holds under it only if the
;;; descriptor the waiter is given becomes ready at the deadline, as under
;;; fibers or Guile's default waiters.  Each round it also wakes every task
;;; whose waited-on port is closed, so closing a port wakes its waiter.
;;;
;;; Tasks are handles: `spawn' returns one; `cancel-task!' drops a waiting
;;; task, either by forgetting its continuation (as a scheduler that gives
;;; up on a fiber does) or by resuming it with an exception raised inside
;;; the waiter (a non-local exit out of the operation).  `task-sleep' lets a
;;; task wait for time alone; it is the scheduler's, not a waiter's.

(define-module (tests fd-scheduler)
  #:use-module (net socket)
  #:use-module (ice-9 suspendable-ports)
  #:use-module (ice-9 q)
  #:use-module (ice-9 exceptions)
  #:use-module ((ice-9 ports internal)
                #:select (port-read-wait-fd port-write-wait-fd))
  #:use-module (srfi srfi-1)
  #:use-module (srfi srfi-9)
  #:export (spawn
            run-scheduler
            cancel-task!
            task-sleep
            task-state task-result task-error task-waits task-port
            task-name task-done?
            current-task
            now))

(define (now)
  "Seconds on the monotonic clock."
  (/ (get-internal-real-time) internal-time-units-per-second 1.))

(define-record-type <task>
  (make-task name thunk state)
  task?
  (name task-name)
  (thunk task-thunk)
  ;; ready running waiting sleeping done failed cancelled abandoned
  (state task-state set-task-state!)
  (result task-result set-task-result!)
  (error task-error set-task-error!)
  (resume task-resume set-task-resume!)        ; continuation, while parked
  (port task-port set-task-port!)              ; last port handed to a waiter
  (fd task-fd set-task-fd!)
  (events task-events set-task-events!)        ; read or write
  (deadline task-deadline set-task-deadline!)  ; sleeping only
  (waits task-waits set-task-waits!))          ; waiter calls so far

(define (task-done? task)
  (memq (task-state task) '(done failed cancelled abandoned)))

(define tag (make-prompt-tag "fd-scheduler"))
(define ready (make-q))                 ; tasks to run or resume
(define parked '())                     ; waiting or sleeping tasks
(define current #f)

(define (current-task) current)

(define* (spawn thunk #:optional (name "task"))
  "Start THUNK as a task and return its handle.  Its value becomes
task-result (state done); an exception it raises becomes task-error (state
failed) and is printed as a TAP comment (the first few of a run)."
  (let ((task (make-task name thunk 'ready)))
    (set-task-waits! task 0)
    (set-task-resume! task #f)
    (enq! ready task)
    task))

(define (park! task state)
  (set-task-state! task state)
  (set! parked (cons task parked)))

(define (unpark! task)
  (set! parked (delq task parked)))

(define (suspend port direction)
  (let ((task current))
    (unless task
      (error "fd-scheduler waiter called outside a task" port))
    (set-task-waits! task (+ 1 (task-waits task)))
    (set-task-port! task port)
    (set-task-events! task direction)
    ;; A port already closed: go on at once; the operation will say why.
    (unless (port-closed? port)
      (let ((fd (if (eq? direction 'read)
                    (port-read-wait-fd port)
                    (port-write-wait-fd port))))
        (unless (and (exact-integer? fd) (>= fd 0))
          (error "fd-scheduler: no wait descriptor" port direction fd))
        (set-task-fd! task fd)
        ;; The scheduler resumes with a thunk: returning normally, or
        ;; raising inside the waiter (cancel-task! #:how 'raise).
        ((abort-to-prompt tag 'wait))))))

(define (read-waiter port) (suspend port 'read))
(define (write-waiter port) (suspend port 'write))

(define (task-sleep seconds)
  "Suspend the current task for SECONDS."
  (let ((task current))
    (set-task-deadline! task (+ (now) seconds))
    ((abort-to-prompt tag 'sleep))))

(define* (cancel-task! task #:key (how 'drop))
  "Cancel TASK, which must not be the running task.  HOW is 'drop (its
continuation is forgotten, never resumed) or 'raise (it is resumed with the
exception 'task-cancelled raised inside its waiter).  Return #t if TASK was
cancelled, #f if it had ended already."
  (cond
   ((task-done? task) #f)
   ((eq? task current) (error "cancel-task!: the running task" task))
   ((and (eq? how 'raise) (task-resume task))
    (when (memq task parked)
      (unpark! task)
      (enq! ready task))
    (set-task-state! task 'cancelling)
    #t)
   (else
    (unpark! task)
    (set-task-resume! task #f)
    (set-task-state! task 'cancelled)
    #t)))

;; Task errors are printed as TAP comments, at most a few per run.
(define errors-reported 0)
(define (report-error task e)
  (set! errors-reported (+ errors-reported 1))
  (cond ((<= errors-reported 3)
         (format #t "# ~a: error ~s~%" (task-name task) e))
        ((= errors-reported 4)
         (format #t "# (more task errors not shown)~%"))))

(define (start-thunk task)
  (lambda ()
    (with-exception-handler
        (lambda (e)
          (if (eq? (exception-kind e) 'task-cancelled)
              ;; from cancel-task! #:how 'raise
              (set-task-state! task 'cancelled)
              (begin
                (set-task-error! task e)
                (set-task-state! task 'failed)
                (report-error task e))))
      (lambda ()
        (set-task-result! task ((task-thunk task)))
        (set-task-state! task 'done))
      #:unwind? #t)))

(define (run-task task)
  (set! current task)
  (let* ((k (task-resume task))
         (thunk (cond
                 ((not k) (start-thunk task))
                 ((eq? (task-state task) 'cancelling)
                  (lambda () (k (lambda () (throw 'task-cancelled)))))
                 (else (lambda () (k (lambda () #t)))))))
    (set-task-resume! task #f)
    (set-task-state! task 'running)
    (call-with-prompt tag
      thunk
      (lambda (k what)
        (set-task-resume! task k)
        (park! task (if (eq? what 'sleep) 'sleeping 'waiting)))))
  (set! current #f))

(define (wake! task)
  (unpark! task)
  (unless (eq? (task-state task) 'cancelling)
    (set-task-state! task 'ready))
  (enq! ready task))

(define (fd-ready? fd lst) (memv fd lst))

(define (poll-round end)
  "Wait once for the parked tasks' descriptors, at most until the next
sleeper's deadline, END, or one second; wake the tasks that may go on."
  (let* ((t0 (now))
         (deadlines (filter-map (lambda (t) (and (eq? (task-state t) 'sleeping)
                                                 (task-deadline t)))
                                parked))
         (timeout (max 0 (apply min 1 (- end t0)
                                (map (lambda (d) (- d t0)) deadlines))))
         (waiting (filter (lambda (t) (eq? (task-state t) 'waiting)) parked))
         ;; A closed waited-on port wakes its task without a poll.
         (closed (filter (lambda (t) (port-closed? (task-port t))) waiting))
         (open (lset-difference eq? waiting closed))
         (reads (delete-duplicates
                 (filter-map (lambda (t) (and (eq? (task-events t) 'read) (task-fd t)))
                             open)))
         (writes (delete-duplicates
                  (filter-map (lambda (t) (and (eq? (task-events t) 'write) (task-fd t)))
                              open))))
    (for-each wake! closed)
    (let* ((timeout (if (null? closed) timeout 0))
           (secs (inexact->exact (floor timeout)))
           (usecs (inexact->exact (floor (* 1e6 (- timeout secs)))))
           (result (catch 'system-error
                     (lambda () (select reads writes '() secs usecs))
                     ;; A descriptor closed under us (EBADF): wake every
                     ;; waiting task; each retries and waits again.
                     (lambda args (list reads writes '()))))
           (t (now)))
      (for-each (lambda (task)
                  (when (fd-ready? (task-fd task)
                                   (if (eq? (task-events task) 'read)
                                       (car result)
                                       (cadr result)))
                    (wake! task)))
                open)
      (for-each (lambda (task)
                  (when (and (eq? (task-state task) 'sleeping)
                             (>= t (task-deadline task)))
                    (wake! task)))
                parked))))

(define* (run-scheduler #:key (limit 30))
  "Run the tasks until none is left (return #t), or until LIMIT seconds
pass (return #f); the tasks still parked then are abandoned (state
abandoned, never resumed), so the next run starts afresh."
  (define end (+ (now) limit))
  (define (finish value)
    (for-each (lambda (t) (set-task-state! t 'abandoned) (set-task-resume! t #f))
              (append parked (car ready)))
    (set! parked '())
    (set! ready (make-q))
    value)
  (set! errors-reported 0)
  (parameterize ((current-read-waiter read-waiter)
                 (current-write-waiter write-waiter))
    (let loop ()
      (cond
       ((> (now) end) (finish #f))
       ((not (q-empty? ready))
        (let ((task (deq! ready)))
          (unless (eq? (task-state task) 'cancelled)
            (run-task task)))
        (loop))
       ((null? parked) (finish #t))
       (else
        (poll-round end)
        (loop))))))
