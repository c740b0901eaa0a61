;;; Timeouts that hold under waiters that never ask for them.
;;;
;;; Guile's default waiters after install-suspendable-ports!, and the
;;; (tests fd-scheduler) scheduler, whose waiters only wait for the wait
;;; descriptor of the port they are handed (never socket-time-left): every
;;; operation with a deadline -- socket read, write, accept, connect, TLS
;;; handshake, bye, record-port read, record-receive!, DTLS server and
;;; client receive -- must raise &net-timeout within its limit plus 0.2 s
;;; while another task keeps running.  Then: an operation abandoned in its
;;; waiter leaves no clock behind (a fresh one gets its full time), and a
;;; port closed while a task waits on it wakes that task with an error,
;;; without confusing a new socket that reuses its descriptor number.
;;;
;;; Under a waiter that ignores the deadline, an operation whose deadline
;;; does not wake its descriptor would wait forever: every run of the
;;; scheduler is bounded (#:limit), and the default-waiter case runs in a
;;; thread joined with a timeout, so such a failure fails, not hangs.

(use-modules (tests harness)
             (tests tls-common)
             (tests fd-scheduler)
             (net socket)
             (net tls)
             (net dtls)
             (net error)
             (srfi srfi-1)
             (srfi srfi-64)
             (rnrs bytevectors)
             (ice-9 binary-ports)
             (ice-9 exceptions)
             (ice-9 threads)
             (ice-9 ftw)
             (ice-9 suspendable-ports))

(install-suspendable-ports!)
;; A write to a peer that reset the connection must fail, not kill us.
(sigaction SIGPIPE SIG_IGN)

(cert-dir)
(define server-cred (server-credentials))
(define client-cred (client-credentials))

(define limit 0.5)                      ; every timeout under test
(define slack 0.2)                      ; what the issue allows past it

;;; Descriptors a row opened, closed after its run.

(define to-close '())
(define (defer-close! port) (set! to-close (cons port to-close)) port)
(define (close-deferred!)
  (for-each (lambda (p)
              (unless (port-closed? p)
                (false-if-exception (close-port p))))
            to-close)
  (set! to-close '()))

(define (describe outcome)
  "What an operation ended with, for a test's expected/actual."
  (cond ((net-timeout-error? outcome)
         (list 'timeout (net-timeout-operation outcome)))
        ((exception? outcome) (list 'error outcome))
        (else (list 'returned outcome))))

(define* (wait-in-task pred #:optional (seconds 10))
  "In a task: sleep in 10 ms steps until PRED is true (return #t), or
SECONDS pass (return #f)."
  (let ((end (+ (now) seconds)))
    (let loop ()
      (cond ((pred) #t)
            ((> (now) end) #f)
            (else (task-sleep 0.01) (loop))))))

;;; Sessions, made inside tasks: their handshakes wait in the waiters.

(define (nb-socket type)
  (defer-close! (socket AF_INET (logior type SOCK_NONBLOCK) 0)))

(define* (client-session conn #:key (timeout 10))
  (let ((s (make-session connection-end/client)))
    (set-session-transport-port! s conn)
    (set-session-credentials! s client-cred)
    (set-session-server-name! s server-name-type/dns "localhost")
    (set-session-timeout! s timeout)
    s))

(define (handshaken-pair)
  "In a task: return (CLIENT-SESSION . SERVER-SESSION), handshaken over
non-blocking loopback TCP; the server's task has ended after its handshake,
so the server is silent from then on."
  (let* ((l (defer-close! (non-blocking-listener)))
         (server #f)
         (server-task
          (spawn (lambda ()
                   (let ((conn (defer-close! (non-blocking! (car (accept l)))))
                         (s (make-session connection-end/server)))
                     (set-session-transport-port! s conn)
                     (set-session-credentials! s server-cred)
                     (set-session-timeout! s 10)
                     (handshake s)
                     (set! server s)))
                 "TLS server handshake"))
         (c (nb-socket SOCK_STREAM)))
    (connect c (getsockname l))
    (let ((s (client-session c)))
      (handshake s)
      (unless (wait-in-task (lambda () (task-done? server-task)))
        (error "the server's handshake did not end"))
      (unless server
        (error "the server's handshake failed" (task-error server-task)))
      (close-port l)
      (cons s server))))

;;; A timeout row under the fd-scheduler: PREPARE runs in a task and
;;; returns the thunk of the timed operation; a ticker task counts 10 ms
;;; ticks meanwhile.

(define (timeout-row name prepare)
  (let* ((ticks 0)
         (start #f) (end #f) (ticks-at-start #f) (ticks-at-end #f)
         (outcome 'not-run)
         (op-task
          (spawn (lambda ()
                   (let ((op (prepare)))
                     (set! ticks-at-start ticks)
                     (set! start (now))
                     (set! outcome (capture op))
                     (set! end (now))
                     (set! ticks-at-end ticks)))
                 name))
         (ticker
          (spawn (lambda ()
                   ;; bounded: at most 10 s of ticks
                   (let loop ((i 0))
                     (when (and (< i 1000) (not (task-done? op-task)))
                       (task-sleep 0.01)
                       (set! ticks (+ ticks 1))
                       (loop (+ i 1)))))
                 "ticker"))
         (finished (run-scheduler #:limit (+ limit 2))))
    (close-deferred!)
    (when (task-error op-task)
      (format #t "# ~a: setup failed: ~s~%" name (task-error op-task)))
    (when start
      (format #t "# ~a: ~a after ~a s; ~a ticks meanwhile~%" name
              (describe outcome) (and end (- end start))
              (and ticks-at-end (- ticks-at-end ticks-at-start))))
    (test-equal (string-append name ": raises &net-timeout")
      'timeout
      (cond ((net-timeout-error? outcome) 'timeout)
            ((not finished)
             (list 'still-waiting-after (+ limit 2) 's 'task (task-state op-task)))
            (else (describe outcome))))
    (test-assert (string-append name ": within its limit + 0.2 s")
      (and end (<= (- limit 0.02) (- end start) (+ limit slack))))
    (test-assert (string-append name ": another task ran meanwhile")
      (and ticks-at-end (> (- ticks-at-end ticks-at-start) 0)))))

;;; A connect that hangs: a listener whose accept queue is full.

(define (without-suspendable-ports thunk)
  ;; full-backlog-listener connects non-blocking sockets and expects
  ;; Guile's semantics (connect returns at once).
  (dynamic-wind uninstall-suspendable-ports! thunk install-suspendable-ports!))

(define (hanging-connect-target)
  "Return (LISTENER . HELD), a listener with a full accept queue, if a
connect to it hangs here; otherwise #f."
  (without-suspendable-ports
   (lambda ()
     (let* ((full (full-backlog-listener))
            (probe (socket AF_INET (logior SOCK_STREAM SOCK_NONBLOCK) 0)))
       (connect probe (getsockname (car full)))
       (let ((hangs (null? (cadr (select '() (list probe) '() 0 300000)))))
         (close-port probe)
         (or (and hangs full)
             (begin
               (for-each close-port (cdr full))
               (close-port (car full))
               #f)))))))

;;; An abandoned read, then a fresh one on the same port.

(define (abandoned-row name how prepare)
  "PREPARE runs in a task and returns (READ . FEED): READ reads one byte
from the port under test (whose timeout is LIMIT), FEED makes one byte
arrive.  A first read is cancelled HOW inside its waiter after 0.1 s; 0.7 s
later a fresh read starts and its byte arrives 0.1 s after: it must get the
byte."
  (let* ((first #f) (fresh-outcome 'not-run) (fresh-time #f)
         (driver
          (spawn (lambda ()
                   (let* ((io (prepare)) (read (car io)) (feed (cdr io)))
                     (set! first (spawn read "abandoned read"))
                     (task-sleep 0.1)
                     (cancel-task! first #:how how)
                     (task-sleep 0.7)
                     (spawn (lambda () (task-sleep 0.1) (feed)) "feeder")
                     (let ((start (now)))
                       (set! fresh-outcome (capture read))
                       (set! fresh-time (- (now) start)))))
                 name))
         (finished (run-scheduler #:limit 5)))
    (close-deferred!)
    (when (task-error driver)
      (format #t "# ~a: ~s~%" name (task-error driver)))
    (format #t "# ~a: fresh read ~a after ~a s~%" name (describe fresh-outcome)
            fresh-time)
    (test-equal (string-append name ": the first read was cancelled in its waiter")
      'cancelled (and first (task-state first)))
    (test-equal (string-append name ": the fresh read gets the byte, not a timeout")
      '(returned 42) (describe fresh-outcome))
    (test-assert (string-append name ": ... when it arrives")
      (and fresh-time (< 0.05 fresh-time limit)))
    (test-assert (string-append name ": the scheduler finished") finished)))

(define (socket-read-io)
  (let* ((p (connected-pair))
         (c (defer-close! (non-blocking! (car p))))
         (peer (defer-close! (cdr p))))
    (set-socket-timeout! c 'read limit)
    (cons (lambda () (get-u8 c))
          (lambda () (put-u8 peer 42) (force-output peer)))))

(define (record-port-read-io)
  (let* ((pair (handshaken-pair))
         (c (session-record-port (car pair)))
         (peer (session-record-port (cdr pair))))
    (set-session-timeout! (car pair) limit)
    (cons (lambda () (get-u8 c))
          (lambda () (put-u8 peer 42) (force-output peer)))))

;;; A port closed while a task waits on it.

(define (close-row name timeout)
  (let* ((pair1 (socketpair AF_UNIX (logior SOCK_STREAM SOCK_NONBLOCK) 0))
         (a (defer-close! (car pair1)))
         (b (defer-close! (cdr pair1)))
         (old-fd (fileno a))
         (new-fd #f)
         (closed-at #f) (woke-at #f) (outcome 'not-run)
         (new-task #f))
    (when timeout (set-socket-timeout! a 'read timeout))
    (let ((waiter
           (spawn (lambda ()
                    (set! outcome (capture (lambda () (get-u8 a))))
                    (set! woke-at (now)))
                  "waiting on the port closed")))
      (spawn (lambda ()
               (task-sleep 0.1)
               (set! closed-at (now))
               (close-port a)
               ;; At once: a new socket takes the lowest free descriptor.
               (let* ((pair2 (socketpair AF_UNIX (logior SOCK_STREAM SOCK_NONBLOCK) 0))
                      (c (defer-close! (car pair2)))
                      (d (defer-close! (cdr pair2))))
                 (set! new-fd (fileno c))
                 (when timeout (set-socket-timeout! c 'read 5))
                 (set! new-task (spawn (lambda () (get-u8 c)) "on the new socket"))
                 (task-sleep 0.2)
                 (put-u8 d 7) (force-output d)))
             "closer")
      (let ((finished (run-scheduler #:limit 5)))
        (close-deferred!)
        (format #t "# ~a: the waiting task ended with ~a after ~a s~%" name
                (describe outcome) (and woke-at (- woke-at closed-at)))
        (test-assert (string-append name ": the scheduler finished") finished)
        (test-assert (string-append name ": the waiting task woke within 1 s of the close")
          (and woke-at (< (- woke-at closed-at) 1.0)))
        (test-equal (string-append name ": ... with an error")
          'error (car (describe outcome)))
        (test-equal (string-append name ": the new socket reuses the descriptor number")
          old-fd new-fd)
        (test-equal (string-append name ": a read on the new socket returns its own data")
          '(done 7) (and new-task (list (task-state new-task) (task-result new-task))))
        (test-equal (string-append name ": ... woken once, by its data")
          1 (and new-task (task-waits new-task)))))))

(define (descriptor-links)
  (filter-map (lambda (f)
                (false-if-exception (readlink (string-append "/proc/self/fd/" f))))
              (scandir "/proc/self/fd" (lambda (f) (not (member f '("." "..")))))))

(define (wait-descriptor-count)
  "The epoll and timerfd descriptors this process has open."
  (count (lambda (link)
           (or (string-contains link "eventpoll") (string-contains link "timerfd")))
         (descriptor-links)))

(define (socket-count)
  (count (lambda (link) (string-prefix? "socket:" link)) (descriptor-links)))

(define (settled count target)
  "The value of (COUNT) once it is at most TARGET, or after 2 s: a
collection only queues the finalizers that close collected operations'
descriptors, and Guile's finalizer thread runs them a moment later."
  (wait-until (lambda () (gc) (<= (count) target)) 2)
  (count))

(define fds-at-start (open-fd-count))
(define wait-fds-at-start (wait-descriptor-count))
(define sockets-at-start (socket-count))

(run-tests "wait-timeouts"
  (test-group "Guile's default waiters"
    ;; The default read waiter polls the wait descriptor with no timeout:
    ;; run in a thread so that a read that never times out fails the test.
    (let* ((p (connected-pair))
           (c (non-blocking! (car p)))
           (done (pipe))
           (result #f)
           (t (call-with-new-thread
               (lambda ()
                 (set-socket-timeout! c 'read limit)
                 (let* ((start (now))   ; the read's, not the thread's start
                        (outcome (capture (lambda () (get-u8 c)))))
                   (set! result (cons outcome (- (now) start)))
                   (write-char #\x (cdr done))
                   (force-output (cdr done))))))
           (r (and (pair? (car (select (list (car done)) '() '() 3)))
                   result)))
      ;; Still waiting: end it by closing the peer (end of file).
      (unless r (close-port (cdr p)))
      (when (pair? (car (select (list (car done)) '() '() 5)))
        (join-thread t))
      (close-port (car done))
      (close-port (cdr done))
      (format #t "# get-u8 under the default waiter: ~a~%"
              (if r (list (describe (car r)) (cdr r)) 'still-waiting-after-3-s))
      (test-equal "get-u8 on a silent non-blocking socket: raises &net-timeout"
        'timeout (if r (car (describe (car r))) 'still-waiting-after-3-s))
      (test-assert "... within its limit + 0.2 s"
        (and r (<= (- limit 0.02) (cdr r) (+ limit slack))))
      (close-port c)
      (unless (port-closed? (cdr p)) (close-port (cdr p)))))

  (test-group "a waiter that only waits for the descriptor"
    (timeout-row "socket read"
                 (lambda ()
                   (let* ((p (connected-pair))
                          (c (defer-close! (non-blocking! (car p)))))
                     (defer-close! (cdr p))
                     (set-socket-timeout! c 'read limit)
                     (lambda () (get-u8 c)))))

    (timeout-row "socket write to a peer that never reads"
                 (lambda ()
                   (let* ((p (connected-pair))
                          (c (defer-close! (non-blocking! (car p)))))
                     (defer-close! (cdr p))
                     (setsockopt c SOL_SOCKET SO_SNDBUF 4096)
                     (setsockopt (cdr p) SOL_SOCKET SO_RCVBUF 4096)
                     ;; unbuffered: nothing is left to flush at close
                     (setvbuf c 'none)
                     (set-socket-timeout! c 'write limit)
                     ;; Made here, not in the timed thunk: allocating and
                     ;; clearing 16 MiB took 0.2 s of the window once, on
                     ;; a loaded machine.
                     (let ((data (make-bytevector (* 16 1024 1024) 0)))
                       (lambda ()
                         (put-bytevector c data)
                         'all-written)))))

    (timeout-row "accept with no client"
                 (lambda ()
                   (let ((l (defer-close! (non-blocking-listener))))
                     (set-socket-timeout! l 'accept limit)
                     (lambda () (accept l)))))

    (let ((full (hanging-connect-target)))
      (if full
          (timeout-row "connect to a full backlog"
                       (lambda ()
                         (let ((c (nb-socket SOCK_STREAM)))
                           (defer-close! (car full))
                           (for-each defer-close! (cdr full))
                           (set-socket-timeout! c 'connect limit)
                           (lambda () (connect c (getsockname (car full)))))))
          (begin
            (format #t "# a connect to a full backlog does not hang here~%")
            (test-skip 3)
            (timeout-row "connect to a full backlog" (lambda () (lambda () #f))))))

    (timeout-row "TLS handshake with a silent TCP peer"
                 (lambda ()
                   (let ((l (defer-close! (non-blocking-listener)))
                         (c (nb-socket SOCK_STREAM)))
                     ;; the connection waits in the backlog, never accepted
                     (connect c (getsockname l))
                     (let ((s (client-session c #:timeout limit)))
                       (lambda () (handshake s))))))

    (timeout-row "TLS bye waiting for a close_notify that never comes"
                 (lambda ()
                   (let ((s (car (handshaken-pair))))
                     (set-session-timeout! s limit)
                     (lambda () (bye s close-request/rdwr)))))

    (timeout-row "TLS record-port read with a silent peer"
                 (lambda ()
                   (let ((s (car (handshaken-pair))))
                     (set-session-timeout! s limit)
                     (lambda () (get-u8 (session-record-port s))))))

    (timeout-row "TLS record-receive! with a silent peer"
                 (lambda ()
                   (let ((s (car (handshaken-pair))))
                     (set-session-timeout! s limit)
                     (lambda () (record-receive! s (make-bytevector 100))))))

    (timeout-row "DTLS dtls-server-receive! with no client"
                 (lambda ()
                   (let ((server (make-dtls-server "127.0.0.1" 0
                                                   #:credentials server-cred
                                                   #:timeout limit)))
                     (defer-close! (non-blocking! (dtls-server-socket server)))
                     (lambda ()
                       (dtls-server-receive! server (make-bytevector 2000))))))

    (timeout-row "DTLS dtls-receive! on a client whose server is silent"
                 (lambda ()
                   (let* ((server (make-dtls-server "127.0.0.1" 0
                                                    #:credentials server-cred
                                                    #:timeout 10))
                          (ssock (defer-close! (non-blocking! (dtls-server-socket server))))
                          ;; answers the handshake, then receives; cancelled
                          ;; by the time the row ends
                          (serving (spawn (lambda ()
                                            (let loop ((i 0))
                                              (when (< i 10)
                                                (false-if-exception
                                                 (dtls-server-receive!
                                                  server (make-bytevector 2000)))
                                                (loop (+ i 1)))))
                                          "DTLS server"))
                          (sock (nb-socket SOCK_DGRAM)))
                     (connect sock (getsockname ssock))
                     (let ((c (socket->dtls-client sock #:credentials client-cred
                                                   #:server-name "localhost"
                                                   #:timeout 10)))
                       (set-session-timeout! c limit)
                       (lambda ()
                         (dynamic-wind
                           (lambda () #t)
                           (lambda () (dtls-receive! c (make-bytevector 2000)))
                           ;; a non-local exit out of its receive: it ends
                           (lambda () (cancel-task! serving #:how 'raise)))))))))

  (test-group "descriptors after the timeouts"
    ;; A task still waiting when its row ended (the DTLS server's) holds
    ;; its operation's until the scheduler drops it and it is collected.
    (test-equal "no wait descriptor (epoll, timerfd) outlives its operation"
      wait-fds-at-start (settled wait-descriptor-count wait-fds-at-start)))

  (test-group "an operation abandoned in its waiter, then a fresh one"
    (abandoned-row "socket read, continuation dropped" 'drop socket-read-io)
    (abandoned-row "socket read, exception raised in the waiter" 'raise socket-read-io)
    (abandoned-row "TLS record-port read, continuation dropped" 'drop record-port-read-io)
    (abandoned-row "TLS record-port read, exception raised in the waiter" 'raise
                   record-port-read-io))

  (test-group "a port closed while a task waits on it"
    (close-row "untimed read" #f)
    (close-row "read with a timeout" 5))

  (test-group "descriptors"
    (test-equal "no socket left open" sockets-at-start (socket-count))
    ;; Abandoned operations whose continuations were dropped may hold
    ;; theirs until they are collected.
    (let ((now (settled open-fd-count (+ fds-at-start 2))))
      (format #t "# ~a descriptors at the start, ~a now, ~a of them epoll or timerfd~%"
              fds-at-start now (wait-descriptor-count))
      (test-assert "none leaked" (<= now (+ fds-at-start 2)))))

  (remove-cert-dir))
