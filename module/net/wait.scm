;;; (net wait) -- how Guile-Net waits under suspendable ports.
;;;
;;; Every operation that can wait (connect, accept, a port read or write,
;;; a TLS handshake, bye or record, a DTLS receive) goes through the one
;;; loop below when it waits in a scheduler's waiter.  Users need none of
;;; this module: (net socket), (net tls) and (net dtls) use it.  Its C half
;;; is libguile-net/wait.c.

(define-module (net wait)
  #:use-module (net config)
  #:use-module ((ice-9 suspendable-ports)
                #:select (current-read-waiter current-write-waiter))
  #:export (wait-and-retry
            perform-operation
            waiter-keeps-time?
            suspendable-ports-installed?
            ;; defined by the extension
            %would-block
            socket-time-left
            %wait-for-descriptors
            %operation-prepare! %operation-port %operation-end! %wait-port?
            %operation-time-left
            ;; the poller of (net scheduler), libguile-net/poller.c
            %make-poller %poller? %poller-arm! %poller-forget!
            %poller-wait! %poller-notified! %poller-notify! %poller-close!))

(eval-when (expand load eval)
  (load-guile-net-extension "scm_init_guile_net_wait"))

;;; Waiting under suspendable ports: the one loop.
;;;
;;; Outside suspendable ports, and on blocking descriptors, the C
;;; primitives wait themselves (libguile-net/wait.c).  Once
;;; `install-suspendable-ports!' has run, on a non-blocking descriptor they
;;; instead return %would-block, and this loop waits in the current read or
;;; write waiter and tries again: a scheduler such as fibers suspends
;;; there.  The wait must happen here in Scheme, since a waiter that
;;; suspends cannot resume through C frames.
;;;
;;; The operation begins (its record, its clock) only when it first has to
;;; wait, and ends when it returns or raises.  The waiter is handed the
;;; operation's wait port: when the operation has a deadline, its
;;; descriptor also becomes ready at the deadline, so a waiter that knows
;;; nothing of timeouts still wakes in time.  An operation whose waiter
;;; never returns (a cancelled task) is simply dropped: the next one gets a
;;; record and a clock of its own.

(define waiter-keeps-time?
  ;; Set by a scheduler whose waiters resume each task by the time
  ;; socket-time-left gives: its operations are then handed the plain
  ;; descriptor, without the epoll and timer descriptors that make a
  ;; deadline visible to waiters that do not ask.  (net scheduler) sets
  ;; it to its poller, which a wait port closed while it waits then wakes.
  (make-parameter #f (lambda (x) (if (%poller? x) x (and x #t)))))

(define (wait-and-retry op attempt)
  "Wait for operation OP (a wait port from a %...-operation primitive) in
the current waiters until ATTEMPT, a thunk, returns something other than
%would-block; return that."
  (with-exception-handler
      (lambda (e) (%operation-end! op) (raise-exception e))
    (lambda ()
      (let loop ()
        (if (%operation-prepare! op (waiter-keeps-time?))
            ((current-read-waiter) (%operation-port op))
            ((current-write-waiter) (%operation-port op)))
        (let ((result (attempt)))
          (if (eq? result %would-block)
              (loop)
              (begin
                (%operation-end! op)
                result)))))))

(define-syntax-rule (perform-operation attempt begin-operation)
  "Evaluate ATTEMPT; while it returns %would-block, wait for the
operation that BEGIN-OPERATION (evaluated once, when it first must wait)
makes, and evaluate ATTEMPT again."
  (let ((result attempt))
    (if (eq? result %would-block)
        (wait-and-retry begin-operation (lambda () attempt))
        result)))

(define suspendable-accept      ; what install-suspendable-ports! installs
  (module-ref (resolve-module '(ice-9 suspendable-ports)) 'accept))

(define the-guile-module (resolve-module '(guile)))

(define (suspendable-ports-installed?)
  "True once install-suspendable-ports! has run (and not been undone)."
  ;; Asked on every DTLS message: resolve-module would cons each time.
  (eq? (module-ref the-guile-module 'accept) suspendable-accept))

