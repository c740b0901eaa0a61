;;; bench/wait.scm -- the wait-layer benchmarks (issue 13): how a thread
;;; blocked in (net socket) waits, against Guile's built-in sockets.
;;;
;;;   guile bench/wait.scm async WHAT IMPL N
;;;   guile bench/wait.scm syscalls IMPL SECONDS
;;;
;;; IMPL is `ours' ((net socket)) or `guile' (Guile's built-in sockets).
;;;
;;; async WHAT IMPL N   a second thread blocks in `accept' on a listener
;;;                     nobody connects to (WHAT = accept), or in `get-u8'
;;;                     on a connected socket port whose peer writes nothing
;;;                     (WHAT = read).  N times, after a pause of 20 to 50 ms
;;;                     (random, so the mark falls anywhere in a polling
;;;                     slice), the main thread runs
;;;                     (system-async-mark thunk thread), THUNK recording the
;;;                     time it runs.  Latency = that time - the time of the
;;;                     mark.  If THUNK has not run 200 ms after the mark the
;;;                     main thread releases the blocked call (connects a
;;;                     client, or writes one byte) and the latency counts
;;;                     from the same mark: Guile's built-in calls run asyncs
;;;                     only when they return, so their figure is the 200 ms
;;;                     cap plus what the release takes, a lower bound.
;;;                     Prints "MEDIAN MAX ms"; how many tries needed a
;;;                     release goes to standard error.
;;;
;;; syscalls IMPL SECONDS
;;;                     runs this script again (role `blocked') under
;;;                     `strace -f' and counts the system calls made by one
;;;                     thread blocked in `accept' for SECONDS: the thread
;;;                     first accepts one connection made 0.1 s after it
;;;                     starts waiting (a warm-up, so one-time set-up is not
;;;                     counted), then calls access("/nonexistent/...enter"),
;;;                     blocks in accept, and calls access(".../leave") when
;;;                     accept returns; the main thread connects to release
;;;                     it SECONDS after it began to wait, and marks
;;;                     (access) a window from 0.1 s after the thread began
;;;                     to wait to 0.1 s before the release.  The count is of
;;;                     the calls the thread starts between its own two
;;;                     markers (the whole blocked accept, the call that
;;;                     returns the connection included), and, second, of
;;;                     those it starts inside the main thread's window.
;;;                     Prints "WHOLE WINDOW syscalls"; the calls by name go
;;;                     to standard error.  The trace is written to
;;;                     $BENCH_WORK (bench/run's work directory) or a
;;;                     temporary file that is removed.
;;;
;;; Loopback and port 0 only; every program is bounded by `alarm' (bench
;;; common) and the tries by the 200-ms release.

(use-modules (bench common)
             (ice-9 atomic)
             (ice-9 binary-ports)
             (ice-9 format)
             (ice-9 match)
             (ice-9 rdelim)
             (ice-9 threads)
             (srfi srfi-1))

(define args (cdr (command-line)))
(define role (string->symbol (list-ref args 0)))

(define (socket-module impl)
  (resolve-interface (match impl
                       ('ours '(net socket))
                       ('guile '(guile))
                       (_ (error "IMPL is ours or guile" impl)))))

;; Procedures of IMPL's socket module, as an association list.
(define (socket-api impl)
  (let ((m (socket-module impl)))
    (map (lambda (name) (cons name (module-ref m name)))
         '(socket bind listen accept connect setsockopt getsockname
           sockaddr:port))))

(define-syntax-rule (with-api api (name ...) body ...)
  (let ((name (assq-ref api 'name)) ...) body ...))

(define (listener api)
  (with-api api (socket setsockopt bind listen getsockname sockaddr:port)
    (let ((s (socket AF_INET SOCK_STREAM 0)))
      (setsockopt s SOL_SOCKET SO_REUSEADDR 1)
      (bind s AF_INET INADDR_LOOPBACK 0)
      (listen s 16)
      (values s (sockaddr:port (getsockname s))))))

(define (connect-to api port)
  (with-api api (socket connect)
    (let ((s (socket AF_INET SOCK_STREAM 0)))
      (connect s AF_INET INADDR_LOOPBACK port)
      s)))

(define-syntax-rule (begin0 e rest ...)
  (let ((v e)) rest ... v))

(define (median xs)
  (let* ((v (list->vector (sort xs <)))
         (n (vector-length v)))
    (if (odd? n)
        (vector-ref v (quotient n 2))
        (/ (+ (vector-ref v (- (quotient n 2) 1)) (vector-ref v (quotient n 2)))
           2))))

;;; Async latency.

(define %cap 0.2)                       ; seconds before the release

(define (async-latency what impl n)
  (define api (socket-api impl))
  ;; BLOCK: the thunk the blocked thread loops in; RELEASE!: makes one
  ;; blocked call return.
  (define-values (block release!)
    (call-with-values (lambda () (listener api))
      (lambda (lsock port)
        (match what
          ('accept
           (values (lambda ()
                     (let loop ()
                       (close-port (car ((assq-ref api 'accept) lsock)))
                       (loop)))
                   (lambda () (close-port (connect-to api port)))))
          ('read
           (let* ((client (connect-to api port))
                  (server (car ((assq-ref api 'accept) lsock))))
             (values (lambda ()
                       (let loop ()
                         (when (eof-object? (get-u8 server))
                           (error "end of file"))
                         (loop)))
                     (lambda ()
                       (put-u8 client 1)
                       (force-output client)))))
          (_ (error "WHAT is accept or read" what))))))
  (define ran (make-atomic-box #f))
  (define (thunk) (atomic-box-set! ran (now)))
  (define thread (call-with-new-thread block))
  (usleep 100000)                       ; let it block the first time
  (let loop ((i 0) (latencies '()) (released 0))
    (if (< i n)
        (begin
          (usleep (+ 20000 (random 30000)))
          (atomic-box-set! ran #f)
          (let ((t0 (now)))
            (system-async-mark thunk thread)
            (let wait ((released? #f))
              (let ((t1 (atomic-box-ref ran)))
                (cond
                 (t1
                  (loop (+ i 1) (cons (* 1000 (- t1 t0)) latencies)
                        (if released? (+ released 1) released)))
                 ((and (not released?) (> (elapsed t0) %cap))
                  (release!)
                  (wait #t))
                 ((> (elapsed t0) (+ %cap 5))
                  (error "the async never ran, even after the release"))
                 (else
                  (usleep 200)
                  (wait released?)))))))
        (begin
          (format (current-error-port)
                  "async ~a ~a: ~a of ~a tries released after ~a ms~%"
                  what impl released n (* 1000 %cap))
          (format #t "~,2f ~,2f ms~%" (median latencies)
                  (apply max latencies))
          (force-output)
          ;; The blocked thread is still blocked; do not wait for it.
          (primitive-exit 0)))))

;;; System calls of a blocked thread.

(define %marker "/nonexistent/guile-net-bench-wait/")
(define (mark! what) (access? (string-append %marker what) F_OK))

(define (blocked impl seconds)
  (define api (socket-api impl))
  (define accept (assq-ref api 'accept))
  (define-values (lsock port) (listener api))
  (define waiting (make-atomic-box #f))
  (define thread
    (call-with-new-thread
     (lambda ()
       (atomic-box-set! waiting 'warm-up)
       (close-port (car (accept lsock)))
       (atomic-box-set! waiting 'blocked)
       (mark! "enter")
       (let ((s (car (accept lsock))))
         (mark! "leave")
         (close-port s)))))
  (define (wait-for state)
    (let loop ((i 0))
      (unless (eq? (atomic-box-ref waiting) state)
        (when (> i 10000) (error "the thread did not get to" state))
        (usleep 1000)
        (loop (+ i 1)))))
  (wait-for 'warm-up)
  (usleep 100000)
  (close-port (connect-to api port))
  (wait-for 'blocked)
  (usleep 100000)
  (mark! "window-begin")
  (usleep (inexact->exact (round (* 1e6 (- seconds 0.2)))))
  (mark! "window-end")
  (usleep 100000)
  (close-port (connect-to api port))
  (join-thread thread (+ (current-time) 10))
  (primitive-exit 0))

;; "PID rest" -> (PID . rest), or #f.
(define (split-pid line)
  (let ((sp (string-index line #\space)))
    (and sp (cons (string->number (substring line 0 sp))
                  (string-trim (substring line (+ sp 1)))))))

(define (count-syscalls file)
  (define lines
    (call-with-input-file file
      (lambda (p)
        (let loop ((acc '()))
          (let ((l (read-line p)))
            (if (eof-object? l) (reverse acc) (loop (cons l acc))))))))
  (define (marker? what line)
    (and (string-contains line (string-append %marker what "\""))
         (not (string-contains line "resumed>"))))
  (define (find-index* pred)
    (or (list-index pred lines)
        (error "marker missing from the trace" file)))
  (define enter (find-index* (lambda (l) (marker? "enter" l))))
  (define leave (find-index* (lambda (l) (marker? "leave" l))))
  (define wbegin (find-index* (lambda (l) (marker? "window-begin" l))))
  (define wend (find-index* (lambda (l) (marker? "window-end" l))))
  (define tid (car (split-pid (list-ref lines enter))))
  ;; The system calls TID starts on lines FROM+1 .. TO-1, by name.
  (define (calls from to)
    (filter-map (lambda (l)
                  (match (split-pid l)
                    (((? (lambda (p) (eqv? p tid))) . rest)
                     (and (not (string-prefix? "<..." rest))
                          (not (string-prefix? "---" rest))
                          (not (string-prefix? "+++" rest))
                          (let ((paren (string-index rest #\()))
                            (and paren (substring rest 0 paren)))))
                    (_ #f)))
                (take (drop lines (+ from 1)) (max 0 (- to from 1)))))
  (define (by-name names)
    (let ((table '()))
      (for-each (lambda (n)
                  (set! table (assoc-set! table n
                                          (+ 1 (or (assoc-ref table n) 0)))))
                names)
      (sort table (lambda (a b) (> (cdr a) (cdr b))))))
  (let ((whole (calls enter leave))
        (window (calls wbegin wend)))
    (values whole window (by-name whole))))

(define (syscalls impl seconds)
  (let* ((work (getenv "BENCH_WORK"))
         (file (if work
                   (string-append work "/strace-wait-" (symbol->string impl)
                                  "." (number->string (getpid)))
                   (let ((p (mkstemp! (string-copy "/tmp/bench-wait-XXXXXX"))))
                     (begin0 (port-filename p) (close-port p)))))
         (status (system* "timeout" "-k" "5" "60"
                          "strace" "-f" "-o" file
                          "guile" (car (command-line)) "blocked"
                          (symbol->string impl) (number->string seconds))))
    (unless (eqv? 0 (status:exit-val status))
      (error "the traced program failed" status))
    (call-with-values (lambda () (count-syscalls file))
      (lambda (whole window names)
        (unless work (delete-file file))
        (format (current-error-port)
                "syscalls ~a, accept blocked ~a s: ~a~{ ~a~}; in the window: ~a~%"
                impl seconds (length whole)
                (map (lambda (p) (format #f "~a ~a" (car p) (cdr p))) names)
                (length window))
        (format #t "~a ~a syscalls~%" (length whole) (length window))
        (force-output)))))

(set! *random-state* (random-state-from-platform))

(match role
  ('async
   (async-latency (string->symbol (list-ref args 1))
                  (string->symbol (list-ref args 2))
                  (string->number (list-ref args 3))))
  ('syscalls
   (syscalls (string->symbol (list-ref args 1)) (string->number (list-ref args 2))))
  ('blocked
   (blocked (string->symbol (list-ref args 1)) (string->number (list-ref args 2)))))
