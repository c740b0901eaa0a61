;;; Blocking waits, threads and asyncs, without suspendable ports.
;;;
;;; A thread blocked in accept, recv!, a TLS handshake or a TLS record-port
;;; read must run an async (system-async-mark, cancel-thread) at once, and
;;; two threads accepting on one blocking listener must both stay
;;; interruptible: the one that loses the race for a connection must not
;;; be left blocked in accept4 where no async reaches it.
;;;
;;; "Blocked" is observed, not assumed after a sleep: each thread records
;;; its kernel thread id (/proc/thread-self) before the call, and the test
;;; waits until /proc/self/task/TID/syscall shows it sleeping in a system
;;; call (x86_64 numbers; elsewhere the thread's state in .../stat).  Every
;;; wait for a thread is bounded, signalled by a pipe the thread writes
;;; when it ends (however it ends), so a thread that stays blocked fails
;;; its test; the test then unblocks it (a connection, the peer closing) so
;;; that the file still ends.

(use-modules (tests harness)
             (tests tls-common)
             (net socket)
             (net tls)
             (net error)
             (srfi srfi-1)
             (srfi srfi-64)
             (rnrs bytevectors)
             (ice-9 binary-ports)
             (ice-9 rdelim)
             (ice-9 threads)
             (ice-9 ftw))

(define (now) (/ (get-internal-real-time) internal-time-units-per-second 1.0))

;;; Threads watched through a pipe.

(define (make-watched thunk)
  "Run THUNK in a new thread.  Return a vector #(THREAD DONE-PIPE RESULT
TID STARTED); THUNK is called with a procedure to call just before it
blocks (it records the thread id)."
  (let* ((w (vector #f (pipe) 'not-finished #f #f))
         (about-to-block
          (lambda ()
            (vector-set! w 3 (false-if-exception
                              (string->number
                               (basename (readlink "/proc/thread-self")))))
            (vector-set! w 4 #t))))
    (vector-set! w 0
                 (call-with-new-thread
                  (lambda ()
                    (dynamic-wind
                      (lambda () #t)
                      (lambda ()
                        (vector-set! w 2 (capture (lambda () (thunk about-to-block)))))
                      (lambda ()
                        (let ((out (cdr (vector-ref w 1))))
                          (write-char #\x out)
                          (force-output out)))))))
    w))

(define (watched-result w) (vector-ref w 2))
(define (watched-tid w) (vector-ref w 3))

(define (watched-done? w)
  (pair? (car (select (list (car (vector-ref w 1))) '() '() 0))))

(define (wait-watched ws seconds)
  "Wait at most SECONDS until one of the watched threads WS has ended;
return those that have."
  (let* ((reads (map (lambda (w) (car (vector-ref w 1))) ws))
         (secs (inexact->exact (floor seconds)))
         (usecs (inexact->exact (floor (* 1e6 (- seconds secs)))))
         (ready (car (select reads '() '() secs usecs))))
    (filter (lambda (w) (memq (car (vector-ref w 1)) ready)) ws)))

(define (finish-watched! w)
  "Join W, which has ended, and close its pipe."
  (join-thread (vector-ref w 0))
  (close-port (car (vector-ref w 1)))
  (close-port (cdr (vector-ref w 1))))

;;; Is a thread blocked in a system call?

(define sleeping-syscalls
  ;; x86_64: read poll select accept recvfrom epoll_wait pselect6 ppoll
  ;; epoll_pwait accept4
  '(0 7 23 43 45 232 270 271 281 288))

(define (thread-syscall tid)
  "The number of the system call thread TID is in, or #f if it is running
(or that cannot be read)."
  (false-if-exception
   (let ((line (call-with-input-file
                   (format #f "/proc/self/task/~a/syscall" tid)
                 read-line)))
     (string->number (car (string-split line #\space))))))

(define (thread-sleeping? tid)
  (false-if-exception
   (let ((stat (call-with-input-file
                   (format #f "/proc/self/task/~a/stat" tid)
                 read-line)))
     ;; the state follows the command name, which is in parentheses
     (string-prefix? " S" (substring stat (+ 1 (string-rindex stat #\))))))))

(define x86-64? (string-prefix? "x86_64" %host-type))

(define (blocked-now? tid)
  (if x86-64?
      (memv (thread-syscall tid) sleeping-syscalls)
      (thread-sleeping? tid)))

(define (wait-blocked w)
  "Wait (at most 3 s) until W's thread is blocked: it has said it is about
to block and the kernel shows it asleep in a system call twice 10 ms
apart.  Return the system call's number (or #t), or #f."
  (let ((end (+ (now) 3)))
    (let loop ((seen #f))
      (let ((tid (watched-tid w)))
        (cond
         ((> (now) end) #f)
         ((not (vector-ref w 4)) (usleep 2000) (loop #f))
         ((not tid)                     ; no /proc/thread-self: the fallback
          (usleep 50000) #t)
         ((blocked-now? tid)
          (if seen
              (or (thread-syscall tid) #t)
              (begin (usleep 10000) (loop #t))))
         (else (usleep 2000) (loop #f)))))))

;;; One async into a blocked thread.

(define (async-latency name block unblock)
  "Start a thread running (BLOCK); once it is blocked, mark an async that
throws.  Return the seconds from the mark to the thread's leaving BLOCK,
or #f if it did not leave within 1 s (then UNBLOCK is called, to end it)."
  (let* ((left-at #f)
         (w (make-watched
             (lambda (about-to-block)
               (catch 'interrupted
                 (lambda () (about-to-block) (block) 'returned)
                 (lambda _ (set! left-at (now)) 'interrupted)))))
         (syscall (wait-blocked w))
         (marked (now)))
    (system-async-mark (lambda () (throw 'interrupted)) (vector-ref w 0))
    (let ((done (pair? (wait-watched (list w) 1))))
      (unless done
        (unblock)
        (wait-watched (list w) 5))
      (format #t "# ~a: blocked in system call ~a; ~a~%" name syscall
              (if (and done left-at)
                  (format #f "the async ran after ~,1f ms" (* 1000 (- left-at marked)))
                  (format #f "the thread ~a" (if done (watched-result w) "did not leave within 1 s"))))
      (let ((result (and done (eq? (watched-result w) 'interrupted) left-at
                         (- left-at marked))))
        (when (watched-done? w) (finish-watched! w))
        (values result syscall)))))

(define-syntax-rule (test-async name block unblock)
  (call-with-values (lambda () (async-latency name block unblock))
    (lambda (latency syscall)
      (test-assert (string-append name ": the thread was seen blocked") syscall)
      (test-assert (string-append name ": an async makes it leave within 0.2 s")
        (and latency (< latency 0.2))))))

;;; TLS over blocking loopback TCP.

(define server-cred #f)
(define client-cred #f)

(define (handshaken-tls-pair)
  "Return (CLIENT-SESSION SERVER-SESSION CLIENT-SOCKET SERVER-SOCKET),
handshaken over blocking loopback TCP."
  (let* ((p (connected-pair))
         (server (make-session connection-end/server))
         (client (make-session connection-end/client)))
    (set-session-transport-port! server (cdr p))
    (set-session-credentials! server server-cred)
    (set-session-timeout! server 10)
    (set-session-transport-port! client (car p))
    (set-session-credentials! client client-cred)
    (set-session-server-name! client server-name-type/dns "localhost")
    (set-session-timeout! client 10)
    (let ((t (call-with-new-thread (lambda () (capture (lambda () (handshake server)))))))
      (handshake client)
      (join-thread t)
      (list client server (car p) (cdr p)))))

(define (open-socket-count)
  "The number of sockets this process has open (threads' own pipes come
and go with the threads)."
  (count (lambda (f)
           (false-if-exception
            (string-prefix? "socket:" (readlink (string-append "/proc/self/fd/" f)))))
         (scandir "/proc/self/fd" (lambda (f) (not (member f '("." "..")))))))

(define sockets-at-start (open-socket-count))

(run-tests "wait-blocking"
  (test-group "an async reaches a blocked thread at once"
    (let ((l (make-listener)))
      (test-async "accept on a blocking listener"
                  (lambda () (accept l))
                  (lambda ()
                    (let ((c (socket AF_INET SOCK_STREAM 0)))
                      (connect c (getsockname l))
                      (close-port c))))
      (close-port l))
    (let ((p (connected-pair)))
      (test-async "recv! on a blocking socket"
                  (lambda () (recv! (car p) (make-bytevector 16)))
                  (lambda () (close-port (cdr p))))
      (close-port (car p))
      (unless (port-closed? (cdr p)) (close-port (cdr p)))))

  (test-group "cancel-thread"
    (let* ((p (connected-pair))
           (w (make-watched
               (lambda (about-to-block)
                 (about-to-block)
                 (recv! (car p) (make-bytevector 16))))))
      (let ((syscall (wait-blocked w)))
        (test-assert "the thread was seen blocked in recv!" syscall)
        (let* ((start (now))
               (_ (cancel-thread (vector-ref w 0)))
               (done (pair? (wait-watched (list w) 1)))
               (took (- (now) start)))
          (format #t "# cancel-thread: ~a after ~,1f ms~%"
                  (if done "joined" "still blocked") (* 1000 took))
          (test-assert "a thread blocked in recv! is cancelled: it ends within 1 s" done)
          (test-assert "... within 0.2 s" (and done (< took 0.2)))
          (unless done
            (close-port (cdr p))
            (wait-watched (list w) 5))
          (when (watched-done? w)
            (test-assert "... and join-thread returns" (begin (finish-watched! w) #t)))))
      (close-port (car p))
      (unless (port-closed? (cdr p)) (close-port (cdr p)))))

  (test-group "closing a socket wakes the thread blocked on it"
    ;; Guile's own sockets (and poll) leave such a thread asleep until
    ;; data or its timeout comes; ours wake it with an error.
    (define (close-wakes name make-blocker)
      (let* ((p (connected-pair))
             (w (make-watched (make-blocker p))))
        (let ((syscall (wait-blocked w)))
          (test-assert (string-append name ": the thread was seen blocked")
                       syscall)
          (let* ((start (now))
                 (_ (close-port (car p)))
                 (done (pair? (wait-watched (list w) 1)))
                 (took (- (now) start)))
            (format #t "# ~a: ~a after ~,1f ms~%" name
                    (if done "left" "still blocked") (* 1000 took))
            (test-assert (string-append name ": it leaves within 0.2 s")
                         (and done (< took 0.2)))
            (unless done
              (close-port (cdr p))
              (wait-watched (list w) 5))
            (test-assert (string-append name ": with an error, not data")
                         (and (watched-done? w)
                              (exception? (watched-result w))))
            (when (watched-done? w) (finish-watched! w))))
        (unless (port-closed? (cdr p)) (close-port (cdr p)))))
    ;; (Not a read through the port: Guile closes a port that another
    ;; thread is reading only once that read returns.)
    (close-wakes "recv!"
                 (lambda (p)
                   (lambda (about-to-block)
                     (about-to-block)
                     (recv! (car p) (make-bytevector 16)))))
    (close-wakes "accept"
                 (lambda (p)
                   (let ((l (make-listener)))
                     (close-port (car p))   ; the listener stands in for it
                     (set-car! p l)
                     (lambda (about-to-block)
                       (about-to-block)
                       (accept l))))))

  (test-group "threads accepting on one blocking listener"
    ;; Two threads block in accept; one client connects: one thread takes
    ;; it.  The other (each other, if THREADS is raised), still waiting,
    ;; must stay interruptible (an async makes it leave at once), or take
    ;; a later client.  Whether the losing thread was already on its way
    ;; into accept when the winner took the connection is a matter of
    ;; timing (the collection below makes it likely): so the race is run
    ;; several times.
    (define threads 2)
    ;; live data, so that a collection takes some milliseconds
    (define ballast (iota 3000000))
    (define (race interrupt-losers?)
      ;; A list with one element per losing thread: (SYSCALL . OUTCOME),
      ;; where OUTCOME is the seconds it took to leave after the async, or
      ;; 'accepted (a later client), or a symbol saying what went wrong;
      ;; or a symbol when the race itself went wrong.
      (let* ((l (make-listener))
             (address (getsockname l))
             (clients '())
             (left-at (make-vector threads #f))
             (ws (map (lambda (i)
                        (make-watched
                         (lambda (about-to-block)
                           (catch 'interrupted
                             (lambda ()
                               (about-to-block)
                               (let ((conn (car (accept l))))
                                 (close-port conn)
                                 'accepted))
                             (lambda _
                               (vector-set! left-at i (now))
                               'interrupted)))))
                      (iota threads)))
             (connect! (lambda ()
                         (let ((c (socket AF_INET SOCK_STREAM 0)))
                           (connect c address)
                           (set! clients (cons c clients)))))
             (result
              (if (not (every wait-blocked ws))
                  'threads-not-seen-blocked
                  (begin
                    (connect!)
                    ;; A collection at once, while the threads wake for the
                    ;; connection: a thread coming back from a system call
                    ;; waits for the collection to end, so each of them has
                    ;; seen the connection ready before any can take it --
                    ;; the race at its worst.
                    (gc)
                    (let* ((first (wait-watched ws 2))
                           (winner (and (= 1 (length first))
                                        (eq? 'accepted (watched-result (car first)))
                                        (car first)))
                           (losers (if winner (delq winner ws) '())))
                      (if (not winner)
                          (list 'not-one-winner (map watched-result first))
                          (let ((syscalls (map wait-blocked losers)))
                            (map
                             cons
                             syscalls
                             (if interrupt-losers?
                                 (let ((marked (now)))
                                   (for-each (lambda (w)
                                               (system-async-mark
                                                (lambda () (throw 'interrupted))
                                                (vector-ref w 0)))
                                             losers)
                                   (map (lambda (w)
                                          (let ((i (list-index (lambda (x) (eq? x w)) ws)))
                                            (cond
                                             ((null? (wait-watched (list w) 1))
                                              'still-blocked-after-1-s)
                                             ((vector-ref left-at i)
                                              (- (vector-ref left-at i) marked))
                                             (else (watched-result w)))))
                                        losers))
                                 (map (lambda (w)
                                        (connect!)
                                        (let ((done (wait-watched losers 2)))
                                          (if (null? done)
                                              'later-client-not-accepted-after-2-s
                                              'accepted)))
                                      losers))))))))))
        ;; End whatever still waits: a connection for each thread left.
        (for-each (lambda (w)
                    (unless (watched-done? w)
                      (connect!)
                      (wait-watched (list w) 5)))
                  ws)
        (let ((accepted (count (lambda (w)
                                 (and (watched-done? w)
                                      (eq? 'accepted (watched-result w))))
                               ws)))
          (for-each (lambda (w) (when (watched-done? w) (finish-watched! w))) ws)
          (for-each close-port clients)
          (close-port l)
          (if (and (pair? result) (not interrupt-losers?))
              (cons accepted result)
              result))))
    (let ((results (map (lambda (i) (race #t)) (iota 6))))
      (format #t "# asyncs to the threads left waiting (system call . seconds): ~s~%"
              results)
      (test-assert "one client: one thread takes it, the others still wait"
        (every pair? results))
      (test-equal "... each of them leaves within 0.2 s of an async, in every round"
        '()
        (remove (lambda (r) (and (pair? r) (real? (cdr r)) (< (cdr r) 0.2)))
                (concatenate (filter pair? results)))))
    (let ((results (map (lambda (i) (race #f)) (iota 3))))
      (format #t "# later clients (accepted . (system call . outcome)): ~s~%" results)
      (test-equal "... or each takes a later client"
        (make-list 3 threads)
        (map (lambda (r) (if (pair? r) (car r) r)) results))
      (set! ballast #f)))

  (test-group "TLS over a blocking transport"
    (cert-dir)
    (set! server-cred (server-credentials))
    (set! client-cred (client-credentials))
    (let* ((pair (handshaken-tls-pair))
           (record-port (session-record-port (car pair))))
      (test-async "a TLS record-port read with a silent peer"
                  (lambda () (get-u8 record-port))
                  (lambda () (close-port (cadddr pair))))
      (for-each (lambda (p) (unless (port-closed? p) (close-port p))) (cddr pair)))
    (let* ((l (make-listener))
           (c (socket AF_INET SOCK_STREAM 0)))
      (connect c (getsockname l))       ; never accepted: a silent peer
      (let ((s (make-session connection-end/client)))
        (set-session-transport-port! s c)
        (set-session-credentials! s client-cred)
        (set-session-server-name! s server-name-type/dns "localhost")
        (test-async "a TLS handshake with a silent peer"
                    (lambda () (handshake s))
                    (lambda () (close-port l))))
      (close-port c)
      (unless (port-closed? l) (close-port l)))
    (remove-cert-dir))

  (test-group "descriptors"
    (gc) (gc)
    (test-equal "no socket left open" sockets-at-start (open-socket-count))))

