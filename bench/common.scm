;;; (bench common) -- what the Guile benchmark programs share: their
;;; arguments, a clock, the certificates and priority string bench/run
;;; made, a server half started as a child process, and one result line.
;;;
;;; Every program prints exactly one line on standard output, "VALUE UNIT";
;;; bench/run collects it.  Every program is bounded in time by `alarm'.

(define-module (bench common)
  #:use-module (ice-9 popen)
  #:use-module (ice-9 rdelim)
  #:use-module (ice-9 format)
  #:export (now elapsed report cpu-seconds
            cert-file bench-priority
            spawn-server server-ready
            rss-kib
            %line))

(alarm (or (and=> (getenv "BENCH_ALARM") string->number) 300))

(define (now)
  (/ (exact->inexact (get-internal-real-time)) internal-time-units-per-second))

(define (elapsed t0) (- (now) t0))

;; The CPU time this process has used, user + system, all its threads, in
;; seconds: Guile's run time is the process's CPU clock
;; (CLOCK_PROCESS_CPUTIME_ID), the sum getrusage gives C.
(define (cpu-seconds)
  (/ (exact->inexact (get-internal-run-time)) internal-time-units-per-second))

(define (report value unit)
  (format #t "~,2f ~a~%" value unit)
  (force-output))

(define (cert-file name)
  (string-append (or (getenv "BENCH_CERTS") (error "BENCH_CERTS unset"))
                 "/" name ".pem"))

(define (bench-priority)
  (or (getenv "BENCH_PRIORITY") (error "BENCH_PRIORITY unset")))

;; The server half of a benchmark runs as a child process: this same
;; script with ARGS.  It says "PORT PID" on its first line when it
;; listens; return the pipe, the port and the PID.
(define (spawn-server . args)
  (let* ((pipe (apply open-pipe* OPEN_READ "guile" (car (command-line)) args))
         (line (read-line pipe))
         (fields (and (string? line) (string-split line #\space))))
    (unless (and fields (= 2 (length fields)))
      (error "the server half did not start" args line))
    (values pipe (string->number (car fields)) (string->number (cadr fields)))))

(define (server-ready port)
  (format #t "~a ~a~%" port (getpid))
  (force-output))

(define (rss-kib)
  (call-with-input-file "/proc/self/status"
    (lambda (p)
      (let loop ()
        (let ((line (read-line p)))
          (cond ((eof-object? line) -1)
                ((string-prefix? "VmRSS:" line)
                 (string->number (car (string-tokenize (substring line 6)))))
                (else (loop))))))))

;; One line of the line-oriented benchmarks, 56 bytes with its newline.
(define %line "the quick brown fox jumps over the lazy dog 0123456789.\n")
