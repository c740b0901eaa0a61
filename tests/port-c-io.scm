;;; Guile's C port code (read-line, display, get-bytevector-n without
;;; suspendable ports) reaches socket and record ports through our C read
;;; and write, which libguile-net/socket-port.c puts back in the port types
;;; after giving suspendable ports their Scheme procedures.  On a Guile
;;; whose port type layout is not the expected one it leaves Guile's
;;; trampolines instead; %set-port-c-io! runs that fallback here, so both
;;; paths carry real traffic: lines, a large bytevector, a timeout, over a
;;; real TLS session and a plain socket pair.

(use-modules (tests harness)
             (tests tls-common)
             (net socket)
             (net tls)
             (net error)
             (srfi srfi-11)
             (srfi srfi-64)
             (ice-9 rdelim)
             (ice-9 binary-ports)
             (rnrs bytevectors))

(define port-c-io? (@@ (net socket) %port-c-io?))
(define set-port-c-io! (@@ (net socket) %set-port-c-io!))

(define line-count 2000)
(define (line-of i) (string-append "line " (number->string i) " of the stream"))
(define blob (let ((bv (make-bytevector 100000)))
               (let loop ((i 0))
                 (when (< i 100000)
                   (bytevector-u8-set! bv i (modulo (* i 7) 251))
                   (loop (+ i 1))))
               bv))

(define (exchange)
  "A TLS pair: the server streams lines with display, then a bytevector
with put-bytevector; the client reads them with read-line and
get-bytevector-n, answers, then waits for a line that never comes (a
timeout).  Return the client's and the server's findings."
  (tls-pair
   #:server-body
   (lambda (s)
     (let ((tls (session-record-port s)))
       (let loop ((i 0))
         (when (< i line-count)
           (display (line-of i) tls)
           (newline tls)
           (loop (+ i 1))))
       (put-bytevector tls blob)
       (force-output tls)
       (let ((answer (read-line tls)))
         ;; Quiet until the client's timeout has passed and it closes.
         (and (eof-object? (read-line tls)) answer))))
   #:client-body
   (lambda (s)
     (let ((tls (session-record-port s)))
       (let* ((c-io (port-c-io? tls))
              (lines (let loop ((i 0) (good 0))
                       (if (= i line-count)
                           good
                           (loop (+ i 1)
                                 (if (equal? (read-line tls) (line-of i))
                                     (+ good 1)
                                     good)))))
              (bv (get-bytevector-n tls (bytevector-length blob))))
         (display "all read\n" tls)
         (force-output tls)
         (set-session-timeout! s 0.3)
         (let ((quiet (capture (lambda () (read-line tls)))))
           (close-port tls)             ; close_notify: the server's EOF
           (list c-io lines (and (bytevector? bv) (bytevector=? bv blob))
                 (net-timeout-error? quiet))))))))

(define (socket-pair-line)
  "A line each way over a socket pair of socket ports."
  (let* ((p (socketpair AF_UNIX SOCK_STREAM 0))
         (a (car p))
         (b (cdr p)))
    (display "over a socket pair\n" a)
    (force-output a)
    (let ((got (read-line b)))
      (display "and back\n" b)
      (force-output b)
      (let ((back (read-line a)))
        (close-port a)
        (close-port b)
        (list (port-c-io? a) got back)))))

(run-tests "port-c-io"
  (let ((sock (socket AF_INET SOCK_STREAM 0)))
    (test-assert "socket ports are read and written through our C functions"
      (port-c-io? sock))
    (close-port sock))
  (test-assert "a string port is not one of ours"
    (not (port-c-io? (open-input-string "x"))))
  (test-equal "a non-port: wrong-type-arg" 'wrong-type-arg
    (catch-key (lambda () (port-c-io? 42))))

  (let-values (((client server) (exchange)))
    (test-equal "C path: lines, a bytevector and a timeout over a record port"
      (list #t line-count #t #t) client)
    (test-equal "C path: the server got the answer" "all read" server))
  (test-equal "C path: a socket pair's ports"
    '(#t "over a socket pair" "and back") (socket-pair-line))

  ;; The fallback: Guile's trampolines to the Scheme procedures.
  (dynamic-wind
    (lambda () (set-port-c-io! #f))
    (lambda ()
      (let-values (((client server) (exchange)))
        (test-equal "trampolines: lines, a bytevector and a timeout"
          (list #f line-count #t #t) client)
        (test-equal "trampolines: the server got the answer" "all read" server))
      (test-equal "trampolines: a socket pair's ports"
        '(#f "over a socket pair" "and back") (socket-pair-line)))
    (lambda () (set-port-c-io! #t)))

  (let ((sock (socket AF_INET SOCK_STREAM 0)))
    (test-assert "our C functions are back afterwards" (port-c-io? sock))
    (close-port sock)))
