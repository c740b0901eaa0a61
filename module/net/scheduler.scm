;;; (net scheduler) -- many tasks on one thread, on suspendable ports.
;;;
;;;   (run-scheduler
;;;    (lambda ()
;;;      (spawn (lambda () (serve-one client-a)))
;;;      (spawn (lambda () (serve-one client-b)))))
;;;
;;; A task is a thunk run as a coroutine.  When it would block on a
;;; non-blocking socket, a TLS record port, a TLS handshake or any port
;;; under suspendable ports, Guile calls the current read or write waiter;
;;; ours suspends the task there (a delimited continuation) and parks it on
;;; the descriptor the waiter was handed, with the deadline of the
;;; operation (socket-time-left).  The scheduler waits for all parked
;;; descriptors at once in a poller (libguile-net/poller.c: an epoll set,
;;; each descriptor armed one-shot per wait) and resumes the tasks whose
;;; descriptor is ready, whose deadline has come (the operation then raises
;;; its &net-timeout), or whose port was closed meanwhile (the operation
;;; then fails as on any closed port).
;;;
;;; The waiters keep time themselves, so the scheduler sets
;;; `waiter-keeps-time?' of (net wait) to its poller: operations hand the
;;; waiter the plain descriptor (no epoll or timer descriptor per timed
;;; wait), and a wait port closed while its task waits wakes the poller.
;;;
;;; Costs, per wait: one epoll_ctl (none for a watched descriptor, which
;;; stays armed from wait to wait) and a continuation of the task's stack
;;; between its start and the waiter (none for when-ready and
;;; spawn-when-ready, which drop the stack); per round: one epoll_wait,
;;; however many tasks wait, and a pass over the parked tasks only when a
;;; deadline comes or a port closed.  Timers are kept as a lower bound on
;;; the next deadline, so waits that end early cost nothing more.  A task
;;; woken at its operation's deadline raises the timeout in the waiter,
;;; rather than try the operation once more.
;;;
;;; Everything runs in the thread that runs the scheduler; a scheduler
;;; belongs to one thread at a time.  Making one installs Guile's
;;; suspendable ports (install-suspendable-ports!), for the whole process,
;;; as fibers does.

(define-module (net scheduler)
  #:use-module (net wait)
  #:use-module (ice-9 suspendable-ports)
  #:use-module (ice-9 exceptions)
  #:use-module ((ice-9 ports internal)
                #:select (port-read-wait-fd port-write-wait-fd
                          port-read-buffer port-buffer-cur port-buffer-end))
  #:use-module (srfi srfi-9)
  #:use-module (srfi srfi-9 gnu)
  #:export (make-scheduler
            scheduler?
            current-scheduler
            spawn
            spawn-when-ready
            when-ready
            task-idle
            restart-task!
            run-scheduler
            install-scheduler!
            scheduler-run-ready!
            scheduler-poll!
            scheduler-task-count
            scheduler-close!
            scheduler-wake!
            scheduler-watch!
            scheduler-unwatch!
            current-task
            task?
            task-name
            task-state
            task-result
            task-error
            task-done?
            task-sleep
            yield-task
            wait-readable
            wait-writable
            suspend-task
            resume-task!
            cancel-task!))

;;; Time: seconds on the monotonic clock, as reals.

(define unit (/ 1. internal-time-units-per-second))
(define (now) (* (get-internal-real-time) unit))

;;; Tasks.

(define-record-type <task>
  (make-task name thunk scheduler state)
  task?
  (name task-name)
  (thunk task-thunk set-task-thunk!)
  (scheduler task-scheduler)
  ;; ready running waiting sleeping suspended done failed cancelled
  (state task-state set-task-state!)
  (k task-k set-task-k!)                ; continuation while parked
  (value task-value set-task-value!)    ; what the suspension returns
  (result task-result* set-task-result!)
  (error task-error set-task-error!)
  ;; while parked on a descriptor: its number, 1 read / 2 write, the port
  ;; the waiter was handed; while parked with a time limit: the deadline
  ;; and the task's index in the scheduler's parked vector
  (fd task-fd set-task-fd!)
  (bits task-bits set-task-bits!)
  (port task-port set-task-port!)
  (deadline task-deadline set-task-deadline!)
  (slot task-slot set-task-slot!))

(set-record-type-printer! <task>
  (lambda (task port)
    (format port "#<task ~a ~a>" (task-name task) (task-state task))))

(define (task-done? task)
  "True when TASK has ended: returned (state @code{done}), raised
(@code{failed}) or was cancelled (@code{cancelled})."
  (and (memq (task-state task) '(done failed cancelled)) #t))

(define (task-result task)
  "The list of values TASK's thunk returned, once it is done; #f before."
  (task-result* task))

;; Record accessors carry no docstring of their own.
(for-each (lambda (proc doc)
            (set-procedure-property! proc 'documentation doc))
          (list task? task-name task-state task-error)
          '("Return #t if OBJ is a task."
            "The name TASK was given when it was spawned."
            "TASK's state: ready, running, waiting, sleeping, suspended, idle, done, failed or cancelled."
            "The exception TASK raised, once it failed; #f before."))

;;; Schedulers.

(define-record-type <scheduler>
  (%make-scheduler poller)
  scheduler?
  (poller scheduler-poller)
  (head scheduler-head set-scheduler-head!)      ; ready queue: pairs
  (tail scheduler-tail set-scheduler-tail!)
  (ready-count scheduler-ready-count set-scheduler-ready-count!)
  (readers scheduler-readers set-scheduler-readers!) ; fd -> tasks
  (writers scheduler-writers set-scheduler-writers!)
  ;; fd -> #f (not watched), or watched: -1 when not in the poller, else
  ;; the directions it is armed for, level-triggered (1 read, 2 write)
  (watched scheduler-watched set-scheduler-watched!)
  (parked scheduler-parked set-scheduler-parked!)    ; vector of tasks
  (parked-count scheduler-parked-count set-scheduler-parked-count!)
  (next-deadline scheduler-next-deadline set-scheduler-next-deadline!)
  (current scheduler-current set-scheduler-current!)
  (count scheduler-count set-scheduler-count!)   ; tasks not ended
  (read-waiter scheduler-read-waiter set-scheduler-read-waiter!)
  (write-waiter scheduler-write-waiter set-scheduler-write-waiter!)
  (last-scan scheduler-last-scan set-scheduler-last-scan!))

(set-procedure-property! scheduler? 'documentation
                         "Return #t if OBJ is a scheduler.")

(set-record-type-printer! <scheduler>
  (lambda (s port)
    (format port "#<scheduler ~a tasks>" (scheduler-count s))))

(define (make-scheduler)
  "Return a new scheduler, with no task.  It installs Guile's suspendable
ports (@code{install-suspendable-ports!}) if they are not yet."
  (unless (suspendable-ports-installed?)
    (install-suspendable-ports!))
  (let ((s (%make-scheduler (%make-poller))))
    (set-scheduler-head! s '())
    (set-scheduler-tail! s '())
    (set-scheduler-ready-count! s 0)
    (set-scheduler-readers! s (make-vector 64 '()))
    (set-scheduler-writers! s (make-vector 64 '()))
    (set-scheduler-watched! s (make-vector 64 #f))
    (set-scheduler-parked! s (make-vector 64 #f))
    (set-scheduler-parked-count! s 0)
    (set-scheduler-next-deadline! s +inf.0)
    (set-scheduler-current! s #f)
    (set-scheduler-count! s 0)
    (set-scheduler-last-scan! s (now))
    (set-scheduler-read-waiter! s (lambda (port) (wait-on-port s port 1)))
    (set-scheduler-write-waiter! s (lambda (port) (wait-on-port s port 2)))
    s))

(define (scheduler-task-count scheduler)
  "The number of tasks of SCHEDULER that have not ended."
  (scheduler-count scheduler))

;; The scheduler whose tasks run in this thread now, and the one `spawn'
;; and `run-scheduler' use outside of any (made on first use).
(define %running (make-thread-local-fluid #f))
(define %default (make-thread-local-fluid #f))

(define (current-scheduler)
  "The scheduler running the current task, or else this thread's default
scheduler (made on first use), which @code{spawn} and
@code{run-scheduler} use when given none."
  (or (fluid-ref %running)
      (fluid-ref %default)
      (let ((s (make-scheduler)))
        (fluid-set! %default s)
        s)))

(define (current-task)
  "The task running now, or #f outside a task."
  (let ((s (fluid-ref %running)))
    (and s (scheduler-current s))))

;;; The ready queue.

(define (enqueue! s task)
  (let ((cell (list task)))
    (if (null? (scheduler-head s))
        (set-scheduler-head! s cell)
        (set-cdr! (scheduler-tail s) cell))
    (set-scheduler-tail! s cell)
    (set-scheduler-ready-count! s (+ 1 (scheduler-ready-count s)))))

(define (dequeue! s)
  (let ((head (scheduler-head s)))
    (set-scheduler-head! s (cdr head))
    (when (null? (cdr head))
      (set-scheduler-tail! s '()))
    (set-scheduler-ready-count! s (- (scheduler-ready-count s) 1))
    (car head)))

;;; Parked tasks: on a descriptor, a deadline, or both.

(define (grow vector n fill)
  (let ((new (make-vector (max n (* 2 (vector-length vector))) fill)))
    (vector-move-left! vector 0 (vector-length vector) new 0)
    new))

(define (fd-table-add! s read? fd task)
  (let ((table (if read? (scheduler-readers s) (scheduler-writers s))))
    (if (< fd (vector-length table))
        (vector-set! table fd (cons task (vector-ref table fd)))
        (let ((table (grow table (+ fd 1) '())))
          (vector-set! table fd (list task))
          (if read?
              (set-scheduler-readers! s table)
              (set-scheduler-writers! s table))))))

(define (fd-table-remove! table fd task)
  (when (< fd (vector-length table))
    (vector-set! table fd (delq! task (vector-ref table fd)))))

(define (parked-add! s task)
  (let ((n (scheduler-parked-count s))
        (v (scheduler-parked s)))
    (let ((v (if (< n (vector-length v))
                 v
                 (let ((v (grow v (+ n 1) #f)))
                   (set-scheduler-parked! s v)
                   v))))
      (vector-set! v n task)
      (set-task-slot! task n)
      (set-scheduler-parked-count! s (+ n 1)))))

(define (parked-remove! s task)
  (let ((i (task-slot task)))
    (when i
      (let* ((v (scheduler-parked s))
             (last (- (scheduler-parked-count s) 1))
             (moved (vector-ref v last)))
        (vector-set! v i moved)
        (set-task-slot! moved i)
        (vector-set! v last #f)
        (set-scheduler-parked-count! s last)
        (set-task-slot! task #f)))))

(define (fd-mask s fd)
  "The directions tasks now wait in on FD: 1 read, 2 write."
  (let ((r (scheduler-readers s)) (w (scheduler-writers s)))
    (logior (if (and (< fd (vector-length r)) (pair? (vector-ref r fd))) 1 0)
            (if (and (< fd (vector-length w)) (pair? (vector-ref w fd))) 2 0))))

(define (watched-mask s fd)
  "FD's armed directions if it is watched (-1: none, not in the poller),
else #f."
  (let ((v (scheduler-watched s)))
    (and (< fd (vector-length v)) (vector-ref v fd))))

(define (set-watched-mask! s fd mask)
  (let ((v (scheduler-watched s)))
    (if (< fd (vector-length v))
        (vector-set! v fd mask)
        (let ((v (grow v (+ fd 1) #f)))
          (vector-set! v fd mask)
          (set-scheduler-watched! s v)))))

(define (rearm-watched! s fd mask)
  "Arm watched FD for MASK exactly (0: take it out of the poller)."
  (if (zero? mask)
      (begin
        (%poller-forget! (scheduler-poller s) fd)
        (set-watched-mask! s fd -1))
      (begin
        (%poller-arm! (scheduler-poller s) fd (logior mask 8))
        (set-watched-mask! s fd mask))))

(define (scheduler-watch! scheduler fd)
  "Watch descriptor FD from now until @code{scheduler-unwatch!}: the
waits of SCHEDULER's tasks on it then leave it armed in the poller from
one wait to the next (level-triggered), so that a connection waited on
for request after request costs no system call per wait; it is disarmed
only when it becomes ready with no task waiting.  Without this, each wait
arms FD once (one @code{epoll_ctl}).  Call @code{scheduler-unwatch!}
before closing FD: the next descriptor of that number must start afresh."
  (unless (watched-mask scheduler fd)
    (set-watched-mask! scheduler fd -1)))

(define (scheduler-unwatch! scheduler fd)
  "Stop watching descriptor FD (see @code{scheduler-watch!}); call it
before closing FD."
  (let ((mask (watched-mask scheduler fd)))
    (when mask
      (when (>= mask 0)
        (%poller-forget! (scheduler-poller scheduler) fd))
      (set-watched-mask! scheduler fd #f))))

(define (arm-for-wait! s fd bits)
  "Arm FD for a task about to wait on it in direction BITS; #f when FD
cannot be polled (a regular file, always ready)."
  (let ((mask (watched-mask s fd)))
    (cond
     ((not mask)                        ; one shot, for this wait
      (%poller-arm! (scheduler-poller s) fd (logior bits (fd-mask s fd))))
     ((and (>= mask 0) (logtest mask bits)) #t)   ; armed already
     (else
      (let ((new (logior bits (max mask 0))))
        (and (%poller-arm! (scheduler-poller s) fd (logior new 8))
             (begin (set-watched-mask! s fd new) #t)))))))

(define tag (make-prompt-tag "net-scheduler"))

(define (register! s task state fd bits port deadline)
  "Park TASK in STATE on FD in direction BITS (or none: FD #f) and until
DEADLINE (or #f).  Return #f, or #t when FD cannot be polled (a regular
file, always ready) and nothing was parked."
  (if (and fd (not (arm-for-wait! s fd bits)))
      #t
      (begin
        (set-task-state! task state)
        (set-task-fd! task fd)
        (set-task-bits! task bits)
        (set-task-port! task port)
        (set-task-deadline! task deadline)
        (when fd
          (fd-table-add! s (= bits 1) fd task))
        (when (or fd deadline)
          (parked-add! s task))
        (when (and deadline (< deadline (scheduler-next-deadline s)))
          (set-scheduler-next-deadline! s deadline))
        #f)))

(define (park! s task state fd bits port deadline)
  "Suspend TASK, the running task, in STATE, on FD in direction BITS (or
none: FD #f) and until DEADLINE (or #f); return what wakes it: ready,
timeout, closed, or the value given to resume-task!."
  (cond
   ((task-done? task)                   ; it cancelled itself: stop here
    (abort-to-prompt tag))
   ((register! s task state fd bits port deadline)
    'ready)
   (else
    (abort-to-prompt tag))))

(define (wake! s task value)
  "Make parked TASK ready; its suspension returns VALUE."
  (let ((fd (task-fd task)))
    (when fd
      (fd-table-remove! (if (= (task-bits task) 1)
                            (scheduler-readers s)
                            (scheduler-writers s))
                        fd task)
      (set-task-fd! task #f)))
  (parked-remove! s task)
  (set-task-port! task #f)
  (set-task-deadline! task #f)
  (set-task-value! task value)
  (set-task-state! task 'ready)
  (enqueue! s task))

;;; The waiters Guile's suspendable ports call.

(define (buffered-input? port)
  (and (input-port? port)
       (let ((buf (port-read-buffer port)))
         (< (port-buffer-cur buf) (port-buffer-end buf)))))

(define (timed-out! port)
  "The wait of PORT's operation ended at its deadline: raise its timeout
now, rather than try once more.  A try might move a few bytes (a socket
takes some before it says it is writable again), and the next wait of
the same transfer would get a full time limit again: a client reading
a byte now and then could hold a writer for ever."
  (when (%wait-port? port)
    ;; Raises the operation's &net-timeout once its deadline has passed
    ;; (an earlier wake-up, a DTLS resend, returns and retries).
    (%operation-prepare! port (waiter-keeps-time?))))

(define (wait-on-port s port bits)
  "Suspend the current task until PORT is ready in direction BITS, its
operation's time runs out, or PORT is closed."
  (let ((task (scheduler-current s)))
    (cond
     ((port-closed? port) #t)            ; the retry will say why
     ((not task)
      ;; Not in a task (code between tasks): wait here, in the thread.
      (let ((fd (if (= bits 1) (port-read-wait-fd port) (port-write-wait-fd port)))
            (left (socket-time-left port (if (= bits 1) 'read 'write))))
        (when (null? (apply append
                            (%wait-for-descriptors (if (= bits 1) (list fd) '())
                                                   (if (= bits 2) (list fd) '())
                                                   '() left)))
          (timed-out! port))
        #t))
     (else
      (let ((fd (if (= bits 1) (port-read-wait-fd port) (port-write-wait-fd port)))
            (left (socket-time-left port (if (= bits 1) 'read 'write))))
        (when (eq? 'timeout
                   (park! s task 'waiting fd bits port (and left (+ (now) left))))
          (timed-out! port)))))))

;;; Running tasks.

(define (passes-through? e)
  ;; Ctrl-C under run-server, and exit: not the task's to swallow.
  (or (quit-exception? e)
      (and (memq (exception-kind e) '(interrupt quit)) #t)))

(define (report-task-error task e)
  (let ((port (current-error-port)))
    (false-if-exception
     (begin
       (format port "Uncaught exception in task ~a:~%" (task-name task))
       (print-exception port #f (exception-kind e) (exception-args e))))))

(define (end-task! s task state)
  (set-task-state! task state)
  (set-task-thunk! task #f)
  (set-scheduler-count! s (- (scheduler-count s) 1)))

;; A run of a task ends by returning, by suspending (an abort to TAG,
;; whose handler keeps the continuation), or by an escape to END-TAG,
;; whose handler takes no continuation, so that none is captured: an
;; uncaught exception ('failed E), or a task that drops its stack to start
;; afresh later ('fresh, when-ready and task-idle).
(define end-tag (make-prompt-tag "net-scheduler-end"))

(define (task-failure e)
  (abort-to-prompt end-tag 'failed e))

(define (task-start task)
  (lambda ()
    (let ((values (call-with-values
                      (lambda ()
                        (with-exception-handler task-failure (task-thunk task)))
                    list)))
      (unless (task-done? task)          ; it cancelled itself
        (set-task-result! task values)
        (end-task! (task-scheduler task) task 'done)))))

(define (task-ended-early reason e)
  ;; An escape to END-TAG: REASON is fresh or failed (with E).
  (let* ((s (fluid-ref %running))
         (task (scheduler-current s)))
    (when (and (eq? reason 'failed) (not (task-done? task)))
      (set-task-error! task e)
      (end-task! s task 'failed)
      (if (passes-through? e)
          (raise-exception e)
          (report-task-error task e)))))

(define (run-task! s task)
  (let ((k (task-k task))
        (outer (scheduler-current s)))   ; a task running its scheduler
    (set-task-k! task #f)
    (set-task-state! task 'running)
    (set-scheduler-current! s task)
    (call-with-prompt end-tag
      (lambda ()
        (call-with-prompt tag
          (if k
              (lambda () (k (task-value task)))
              (task-start task))
          (lambda (k)                   ; suspended
            (unless (task-done? task)   ; or cancelled by itself
              (set-task-k! task k)))))
      (lambda (_ reason . e)            ; no continuation: an escape
        (task-ended-early reason (and (pair? e) (car e)))))
    (set-scheduler-current! s outer)))

(define (in-scheduler s thunk)
  "Call THUNK with S's waiters installed, unless they are already."
  (if (and (eq? (fluid-ref %running) s)
           (eq? (current-read-waiter) (scheduler-read-waiter s)))
      (thunk)
      (with-fluids ((%running s))
        (parameterize ((current-read-waiter (scheduler-read-waiter s))
                       (current-write-waiter (scheduler-write-waiter s))
                       (waiter-keeps-time? (scheduler-poller s)))
          (thunk)))))

(define (install-scheduler! scheduler)
  "Make SCHEDULER this thread's from now on, rather than only while it
runs tasks: its waiters become this thread's read and write waiters, and
@code{current-scheduler} returns it here, so that running its tasks no
longer binds them each time (a server that runs a few tasks at a time,
between calls of its own, saves that).  Outside a task the waiters wait
in the thread, honouring the time limits of the library's operations, as
Guile's own do.  Return a thunk that puts back what was there before."
  (let ((running (fluid-ref %running))
        (read-waiter (current-read-waiter))
        (write-waiter (current-write-waiter))
        (keeps-time (waiter-keeps-time?)))
    (fluid-set! %running scheduler)
    (current-read-waiter (scheduler-read-waiter scheduler))
    (current-write-waiter (scheduler-write-waiter scheduler))
    (waiter-keeps-time? (scheduler-poller scheduler))
    (lambda ()
      (when (eq? (fluid-ref %running) scheduler)
        (fluid-set! %running running)
        (current-read-waiter read-waiter)
        (current-write-waiter write-waiter)
        (waiter-keeps-time? keeps-time)))))

(define (scheduler-run-ready! scheduler)
  "Run, once each, the tasks of SCHEDULER that are ready now, until each
ends or waits again; return how many ran.  Tasks made ready meanwhile run
at the next call."
  (let ((n (scheduler-ready-count scheduler)))
    (if (zero? n)
        0
        (in-scheduler
         scheduler
         (lambda ()
           ;; One at a time off the queue, so that the rest stays queued
           ;; should an exception go through (Ctrl-C).
           (let loop ((n n))
             (if (zero? n)
                 n
                 (let ((task (dequeue! scheduler)))
                   (when (eq? (task-state task) 'ready)
                     (run-task! scheduler task))
                   (loop (- n 1))))))))
    n))

;;; Polling.

(define (wake-timed-out! s t)
  "Wake the parked tasks whose deadline is T or earlier, and those whose
port is closed; set the next deadline."
  (let loop ((i (- (scheduler-parked-count s) 1)) (next +inf.0))
    (if (< i 0)
        (set-scheduler-next-deadline! s next)
        (let* ((task (vector-ref (scheduler-parked s) i))
               (d (task-deadline task))
               (port (task-port task)))
          (cond ((and d (<= d t))
                 (wake! s task 'timeout)
                 (loop (- i 1) next))
                ((and port (port-closed? port))
                 (wake! s task 'closed)
                 (loop (- i 1) next))
                (else
                 (loop (- i 1) (if (and d (< d next)) d next)))))))
  (set-scheduler-last-scan! s t))

(define (wake-closed! s)
  (let loop ((i (- (scheduler-parked-count s) 1)))
    (when (>= i 0)
      (let* ((task (vector-ref (scheduler-parked s) i))
             (port (task-port task)))
        (when (and port (port-closed? port))
          (wake! s task 'closed))
        (loop (- i 1))))))

(define (wake-waiters! s table fd)
  "Wake the tasks waiting on FD in TABLE; #f if there were none."
  (and (< fd (vector-length table))
       (pair? (vector-ref table fd))
       (let wake-all ((tasks (vector-ref table fd)))
         (if (pair? tasks)
             (begin
               (wake! s (car tasks) 'ready)
               (wake-all (vector-ref table fd)))
             #t))))

(define (fd-event! s fd bits)
  (let ((waiting (fd-mask s fd)))       ; before waking anyone
    (when (logtest bits 1)
      (wake-waiters! s (scheduler-readers s) fd))
    (when (logtest bits 2)
      (wake-waiters! s (scheduler-writers s) fd))
    (let ((watched (watched-mask s fd)))
      (cond
       ((not watched)
        ;; The event disarmed FD: arm it again for those still waiting.
        (let ((mask (fd-mask s fd)))
          (unless (zero? mask)
            (%poller-arm! (scheduler-poller s) fd mask))))
       ((>= watched 0)
        ;; Still armed.  A direction that came ready with no task waiting
        ;; in it is disarmed, or every round would see it again at once;
        ;; one whose tasks were woken stays armed for their next wait.
        (let ((keep (logand watched (logior waiting (lognot bits)))))
          (unless (= keep watched)
            (rearm-watched! s fd keep))))))))

(define* (scheduler-poll! scheduler #:optional (timeout #f))
  "Wait until a task of SCHEDULER can go on, at most TIMEOUT seconds (#f:
until one can; 0 when tasks are ready already), and make ready the tasks
whose descriptor is ready, whose deadline has come or whose port was
closed.  Asyncs (Ctrl-C) run at once while it waits."
  (let* ((s scheduler)
         (t (now))
         (limit (cond ((pair? (scheduler-head s)) 0)
                      (else
                       (let ((d (- (scheduler-next-deadline s) t)))
                         (cond ((<= d 0) 0)
                               ((and timeout (< timeout d)) timeout)
                               ((= d +inf.0) timeout)
                               (else d))))))
         (events (%poller-wait! (scheduler-poller s) limit)))
    (let loop ((events events))
      (when (pair? events)
        (fd-event! s (caar events) (cdar events))
        (loop (cdr events))))
    (when (%poller-notified! (scheduler-poller s))
      (wake-closed! s))
    (let ((t (now)))
      (when (or (>= t (scheduler-next-deadline s))
                ;; Ports not of this library do not say they closed.
                (> (- t (scheduler-last-scan s)) 1))
        (wake-timed-out! s t)))))

(define* (run-scheduler #:optional thunk #:key (scheduler (current-scheduler))
                        (timeout #f))
  "Spawn THUNK, if given, as a task of SCHEDULER (by default this thread's,
see @code{current-scheduler}), then run the tasks until none is left and
return #t, or until TIMEOUT seconds have passed (#f: no limit) and return
#f, leaving the rest parked for a later run."
  (let ((end (and timeout (+ (now) timeout)))
        (s scheduler))
    (when thunk (spawn thunk #:scheduler s))
    (in-scheduler
     s
     (lambda ()
       (let loop ()
         (scheduler-run-ready! s)
         (cond ((zero? (scheduler-count s)) #t)
               ((and end (>= (now) end)) #f)
               (else
                (scheduler-poll! s (and end (max 0 (- end (now)))))
                (loop))))))))

(define (scheduler-wake! scheduler)
  "Make SCHEDULER's current or next @code{scheduler-poll!} return at once;
any thread may call it (to have the scheduler's thread look at something
it set)."
  (%poller-notify! (scheduler-poller scheduler)))

(define (scheduler-close! scheduler)
  "Close SCHEDULER: its poller's descriptors are released and its tasks
still parked or ready are dropped, never resumed (state cancelled)."
  (let ((s scheduler))
    (let loop ((i (- (scheduler-parked-count s) 1)))
      (when (>= i 0)
        (cancel-task! (vector-ref (scheduler-parked s) i))
        (loop (- i 1))))
    (for-each (lambda (task) (unless (task-done? task) (cancel-task! task)))
              (scheduler-head s))
    (set-scheduler-head! s '())
    (set-scheduler-tail! s '())
    (set-scheduler-ready-count! s 0)
    (%poller-close! (scheduler-poller s))))

;;; What tasks call.

(define* (spawn thunk #:key (scheduler (current-scheduler)) (name "task"))
  "Start THUNK as a new task of SCHEDULER (by default the current one) and
return the task; it runs when the scheduler next runs its ready tasks.
What THUNK returns becomes @code{task-result}; an exception it raises ends
the task only (state @code{failed}, @code{task-error}), printed to the
current error port, except Ctrl-C's @code{interrupt} and @code{quit},
which go on out of the scheduler."
  (let ((task (make-task name thunk scheduler 'ready)))
    (set-task-slot! task #f)
    (set-task-fd! task #f)
    (set-task-result! task #f)
    (set-task-error! task #f)
    (set-scheduler-count! scheduler (+ 1 (scheduler-count scheduler)))
    (enqueue! scheduler task)
    task))

(define* (spawn-when-ready proc port-or-fd
                           #:key (direction 'read) (timeout #f)
                           (scheduler (current-scheduler)) (name "task"))
  "Start a new task of SCHEDULER that calls PROC once PORT-OR-FD (a port or
a descriptor number) is ready in DIRECTION (@code{read} or @code{write}),
is closed, or TIMEOUT seconds have passed (#f: no limit); PROC receives #t,
or #f when the time ran out.  Return the task, in state @code{waiting}
until then.  Unlike a task that calls @code{wait-readable}, it has no
stack while it waits, only a small record: for servers whose connections
wait long between requests."
  (let ((task (make-task name #f scheduler 'waiting))
        (bits (direction-bits "spawn-when-ready" direction)))
    (set-task-slot! task #f)
    (set-task-fd! task #f)
    (set-task-result! task #f)
    (set-task-error! task #f)
    (set-task-thunk! task (lambda () (proc (not (eq? (task-value task) 'timeout)))))
    (set-scheduler-count! scheduler (+ 1 (scheduler-count scheduler)))
    (let* ((port (and (port? port-or-fd) port-or-fd))
           (ready (cond ((and port (port-closed? port)) #t)
                        ((and port (= bits 1) (buffered-input? port)) #t)
                        (else
                         (register! scheduler task 'waiting
                                    (cond ((not port) port-or-fd)
                                          ((= bits 1) (port-read-wait-fd port))
                                          (else (port-write-wait-fd port)))
                                    bits port (deadline-in timeout))))))
      (when ready
        (set-task-value! task 'ready)
        (set-task-state! task 'ready)
        (enqueue! scheduler task)))
    task))

(define* (when-ready proc port-or-fd #:key (direction 'read) (timeout #f))
  "End the current run of the current task, dropping its stack (nothing
after this call runs), and run @code{(PROC ready?)} in the same task, from
a fresh stack, once PORT-OR-FD is ready in DIRECTION (@code{read} or
@code{write}), is closed, or TIMEOUT seconds have passed (READY? #f).  As
@code{spawn-when-ready}, but without a new task: a connection served step
by step keeps one task for its life."
  (let* ((task (running-task "when-ready"))
         (s (task-scheduler task))
         (bits (direction-bits "when-ready" direction))
         (port (and (port? port-or-fd) port-or-fd)))
    (set-task-thunk! task (lambda () (proc (not (eq? (task-value task) 'timeout)))))
    (when (or (and port (port-closed? port))
              (and port (= bits 1) (buffered-input? port))
              (register! s task 'waiting
                         (cond ((not port) port-or-fd)
                               ((= bits 1) (port-read-wait-fd port))
                               (else (port-write-wait-fd port)))
                         bits port (deadline-in timeout)))
      (set-task-value! task 'ready)
      (set-task-state! task 'ready)
      (enqueue! s task))
    (abort-to-prompt end-tag 'fresh)))

(define (task-idle)
  "End the current run of the current task, dropping its stack, until
@code{restart-task!} gives it something to run."
  (let ((task (running-task "task-idle")))
    (set-task-state! task 'idle)
    (set-task-thunk! task #f)
    (abort-to-prompt end-tag 'fresh)))

(define (restart-task! task thunk)
  "Make TASK, idle since it called @code{task-idle}, ready to run THUNK
from a fresh stack; return #t, or #f (doing nothing) when TASK is not
idle."
  (and (eq? (task-state task) 'idle)
       (begin
         (set-task-thunk! task thunk)
         (set-task-state! task 'ready)
         (enqueue! (task-scheduler task) task)
         #t)))

(define (direction-bits who direction)
  (case direction
    ((read) 1)
    ((write) 2)
    (else (scm-error 'wrong-type-arg who
                     "Wrong type argument (expecting read or write): ~S"
                     (list direction) (list direction)))))

(define (running-task who)
  (or (current-task)
      (scm-error 'misc-error who "not called from a task" '() #f)))

(define (deadline-in seconds)
  (and seconds (+ (now) (max 0 seconds))))

(define (task-sleep seconds)
  "Suspend the current task for SECONDS."
  (let ((task (running-task "task-sleep")))
    (park! (task-scheduler task) task 'sleeping #f 0 #f (deadline-in seconds))
    *unspecified*))

(define (yield-task)
  "Let the other ready tasks run before the current one goes on."
  (let* ((task (running-task "yield-task"))
         (s (task-scheduler task)))
    (set-task-value! task #t)
    (set-task-state! task 'ready)
    (enqueue! s task)
    (abort-to-prompt tag)
    *unspecified*))

(define (wait-on who target bits seconds)
  (let* ((task (running-task who))
         (s (task-scheduler task))
         (port (and (port? target) target)))
    (cond
     ((and port (port-closed? port)) #t)
     ((and port (= bits 1) (buffered-input? port)) #t)
     (else
      (let ((fd (cond ((not port) target)
                      ((= bits 1) (port-read-wait-fd port))
                      (else (port-write-wait-fd port)))))
        (not (eq? 'timeout
                  (park! s task 'waiting fd bits port (deadline-in seconds)))))))))

(define* (wait-readable port-or-fd #:optional seconds)
  "Suspend the current task until PORT-OR-FD (a port, or a descriptor
number) can be read without waiting, is closed, or SECONDS have passed
(#f: no limit).  Return #t, or #f when the time ran out.  A port with
buffered input is ready at once."
  (wait-on "wait-readable" port-or-fd 1 seconds))

(define* (wait-writable port-or-fd #:optional seconds)
  "Suspend the current task until PORT-OR-FD (a port, or a descriptor
number) can be written without waiting, is closed, or SECONDS have passed
(#f: no limit).  Return #t, or #f when the time ran out."
  (wait-on "wait-writable" port-or-fd 2 seconds))

(define* (suspend-task #:optional seconds)
  "Suspend the current task until another calls @code{resume-task!} on it,
and return the value given there; or return #f once SECONDS have passed
(#f: no limit)."
  (let* ((task (running-task "suspend-task"))
         (value (park! (task-scheduler task) task 'suspended #f 0 #f
                       (deadline-in seconds))))
    (if (eq? value 'timeout) #f value)))

(define* (resume-task! task #:optional (value #t))
  "Make TASK, suspended in @code{suspend-task}, ready again, its
@code{suspend-task} returning VALUE; return #t, or #f (doing nothing) when
TASK is not suspended there."
  (and (eq? (task-state task) 'suspended)
       (begin
         (wake! (task-scheduler task) task value)
         #t)))

(define (cancel-task! task)
  "End TASK, which never runs again (state @code{cancelled}): its
continuation is dropped, so its @code{dynamic-wind} exits do not run.
Return #t, or #f if it had ended already.  A task may cancel itself; it
then stops at its next suspension."
  (cond
   ((task-done? task) #f)
   (else
    (let ((s (task-scheduler task)))
      (case (task-state task)
        ((waiting sleeping suspended)
         (wake! s task #f)))
      (set-task-thunk! task #f)
      ;; Left in the ready queue, it is skipped: not in state ready.
      (set-task-k! task #f)
      (end-task! s task 'cancelled)
      #t))))
