;;; (tests scheduler) -- a small one-thread scheduler on suspendable ports.
;;;
;;; Built only on (ice-9 suspendable-ports), as fibers is: a task that would
;;; block calls the current read or write waiter, which suspends it to the
;;; scheduler with the port's wait descriptor; the scheduler polls all
;;; waiting descriptors and resumes the tasks that can go on.  A waiter also
;;; asks the socket how long its operation may still wait (socket-time-left)
;;; and resumes the task when that runs out, so the operation can raise its
;;; timeout: timeouts hold under a suspending waiter too.  A task whose
;;; port is closed while it waits is resumed, to find it closed.

(define-module (tests scheduler)
  #:use-module (net socket)
  #:use-module (ice-9 suspendable-ports)
  #:use-module (ice-9 q)
  #:use-module ((ice-9 ports internal) #:select (port-read-wait-fd port-write-wait-fd))
  #:use-module (srfi srfi-1)
  #:export (spawn
            run-scheduler
            current-task-count))

(define tag (make-prompt-tag "scheduler"))
(define ready (make-q))                 ; thunks to run
(define waiting '())                    ; (fd events deadline resume port)
(define tasks 0)

(define (current-task-count) tasks)

(define (now) (/ (get-internal-real-time) internal-time-units-per-second 1.))

(define (spawn thunk)
  "Start THUNK as a task; errors in it are printed as TAP comments."
  (set! tasks (+ tasks 1))
  (enq! ready
        (lambda ()
          (catch #t
            thunk
            (lambda (key . args)
              (format #t "# task error: ~s ~s~%" key args)))
          (set! tasks (- tasks 1)))))

(define (time-left port kind)
  (and (not (port-closed? port)) (socket-time-left port kind)))

(define current-on-wait (make-parameter (lambda (port) #t)))

(define (suspend port fd events kind)
  ((current-on-wait) port)
  (abort-to-prompt tag fd events
                   (let ((left (time-left port kind)))
                     (and left (+ (now) left)))
                   port))

(define (read-waiter port)
  (suspend port (port-read-wait-fd port) 'read 'read))

(define (write-waiter port)
  (suspend port (port-write-wait-fd port) 'write 'write))

(define (run-task thunk)
  (call-with-prompt tag
    thunk
    (lambda (resume fd events deadline port)
      (set! waiting (cons (list fd events deadline resume port) waiting)))))

(define* (run-scheduler #:key (limit 60) (on-wait (lambda (port) #t)))
  "Run tasks until none is left, or LIMIT seconds pass (then return #f).
ON-WAIT is called with the port of every wait, for tests to observe."
  (define end (+ (now) limit))
  (parameterize ((current-read-waiter read-waiter)
                 (current-write-waiter write-waiter)
                 (current-on-wait on-wait))
    (let loop ()
      (cond
       ((> (now) end) #f)
       ((not (q-empty? ready))
        (run-task (deq! ready))
        (loop))
       ((null? waiting) #t)
       (else
        (let* ((deadlines (filter-map caddr waiting))
               (timeout (if (null? deadlines)
                            1
                            (max 0 (min 1 (- (apply min deadlines) (now))))))
               (reads (filter-map (lambda (w) (and (eq? (cadr w) 'read) (car w)))
                                  waiting))
               (writes (filter-map (lambda (w) (and (eq? (cadr w) 'write) (car w)))
                                   waiting))
               (result (select reads writes '() (inexact->exact (floor timeout))
                               (inexact->exact (floor (* 1e6 (- timeout (floor timeout)))))))
               (t (now)))
          (set! waiting
                (remove (lambda (w)
                          (let ((fd (car w)) (deadline (caddr w)))
                            (and (or (memv fd (if (eq? (cadr w) 'read)
                                                  (car result)
                                                  (cadr result)))
                                     (and deadline (>= t deadline))
                                     (port-closed? (list-ref w 4)))
                                 (begin (enq! ready (cadddr w)) #t))))
                        waiting))
          (loop)))))))
