;;; (tests harness) -- what every test file shares.
;;;
;;; The SRFI-64 runner here prints TAP, one line per test case, so that
;;; automake's TAP driver counts each case in `make check'.  Helpers make
;;; loopback servers on kernel-chosen ports, and bound waits.

(define-module (tests harness)
  #:use-module (srfi srfi-64)
  #:use-module (ice-9 format)
  #:use-module (ice-9 ftw)
  #:use-module (ice-9 optargs)
  #:use-module ((ice-9 control) #:select (let/ec))
  #:use-module ((ice-9 suspendable-ports) #:select (current-write-waiter))
  #:use-module (net socket)
  #:export (tap-test-runner
            run-tests
            error-key
            error-errno
            catch-key
            make-listener
            connected-pair
            wait-until))

(define (tap-test-runner)
  (let ((runner (test-runner-null))
        (count 0))
    (test-runner-on-test-end! runner
      (lambda (runner)
        (set! count (+ count 1))
        (let* ((name (string-join
                      (append (test-runner-group-path runner)
                              (list (or (test-runner-test-name runner) "")))
                      ": "))
               (kind (test-result-kind runner)))
          (case kind
            ((pass xpass)
             (format #t "ok ~a - ~a~%" count name))
            ((skip)
             (format #t "ok ~a - ~a # SKIP~%" count name))
            ((xfail)
             (format #t "not ok ~a - ~a # TODO~%" count name))
            (else
             (format #t "not ok ~a - ~a~%" count name)
             (let ((expected (test-result-ref runner 'expected-value))
                   (actual (test-result-ref runner 'actual-value))
                   (error (test-result-ref runner 'actual-error)))
               (when expected (format #t "#   expected: ~s~%" expected))
               (when actual (format #t "#   actual:   ~s~%" actual))
               (when error (format #t "#   error:    ~s~%" error)))))
          (force-output))))
    (test-runner-on-final! runner
      (lambda (runner)
        (format #t "1..~a~%" count)))
    runner))

(define-syntax-rule (run-tests name body ...)
  (begin
    (test-runner-current (tap-test-runner))
    (test-begin name)
    body ...
    (test-end name)
    (exit 0)))

(define* (wait-until thunk #:optional (seconds 5))
  "Call THUNK every 10 ms until it returns true, at most SECONDS; return
its last value."
  (let ((end (+ (get-internal-real-time)
                (* seconds internal-time-units-per-second))))
    (let loop ()
      (or (thunk)
          (and (< (get-internal-real-time) end)
               (begin (usleep 10000) (loop)))))))

(define (catch-key thunk)
  "Call THUNK; return the key of the exception it throws, or #f."
  (catch #t (lambda () (thunk) #f) (lambda (key . args) key)))

(define-syntax-rule (error-key expr)
  (catch-key (lambda () expr)))

(define-syntax-rule (error-errno expr)
  ;; The errno of the system-error EXPR raises, or #f.
  (catch 'system-error
    (lambda () expr #f)
    (lambda (key subr msg args rest)
      (and (pair? rest) (car rest)))))

;;; Loopback helpers shared by the socket tests.

(define-public (loopback-address family)
  (if (= family AF_INET6) 1 INADDR_LOOPBACK))

(define* (make-listener #:optional (family AF_INET) (backlog 16))
  "A listening stream socket on the loopback address of FAMILY, port 0."
  (let ((s (socket family SOCK_STREAM 0)))
    (bind s family (loopback-address family) 0)
    (listen s backlog)
    s))

(define* (connected-pair #:optional (family AF_INET))
  "Return (CLIENT . SERVER): two connected TCP socket ports over loopback."
  (let* ((l (make-listener family))
         (c (socket family SOCK_STREAM 0)))
    (connect c (getsockname l))
    (let ((s (car (accept l))))
      (close-port l)
      (cons c s))))

(define-public (open-fd-count)
  "The number of descriptors this process has open."
  (length (scandir "/proc/self/fd"
                   (lambda (f) (not (member f '("." "..")))))))

(define-public (make-temp-dir)
  (let ((dir (string-append (or (getenv "TMPDIR") "/tmp")
                            "/guile-net-test-XXXXXX")))
    (mkdtemp dir)))

(define-public (non-blocking! port)
  "Make PORT's descriptor non-blocking; return PORT."
  (fcntl port F_SETFL (logior O_NONBLOCK (fcntl port F_GETFL)))
  port)

(define*-public (non-blocking-listener #:optional (backlog 1024))
  "A non-blocking listening stream socket on 127.0.0.1, port 0."
  (non-blocking! (make-listener AF_INET backlog)))

(define-public (full-backlog-listener)
  "Return (LISTENER . HELD): a listener whose accept queue is full, so
that one more connect to it hangs, and the connections that fill it."
  (let ((l (make-listener AF_INET 0)))
    (let fill ((n 0) (held '()))
      (if (= n 4)
          (cons l held)
          (let ((c (socket AF_INET (logior SOCK_STREAM SOCK_NONBLOCK) 0)))
            ;; A non-blocking connect returns at once, except that with
            ;; suspendable ports installed (the 'https server installs
            ;; them) it waits in the write waiter: leave it there.
            (let/ec return
              (parameterize ((current-write-waiter (lambda (p) (return #f))))
                (connect c (getsockname l))))
            ;; Until it is queued; once the queue is full the kernel drops
            ;; the connection's SYNs, so give up after 50 ms.
            (select '() (list c) '() 0 50000)
            (fill (+ n 1) (cons c held)))))))

(define-public (raise-fd-limit! n)
  "Raise the soft limit on open descriptors to at least N, if allowed."
  (call-with-values (lambda () (getrlimit 'nofile))
    (lambda (soft hard)
      (when (and soft (< soft n))
        (setrlimit 'nofile (if hard (min n hard) n) hard)))))
