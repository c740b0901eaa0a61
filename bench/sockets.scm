;;; bench/sockets.scm -- the plain socket benchmarks on the Guile side.
;;;
;;;   guile bench/sockets.scm client MODE IMPL ARG
;;;
;;; IMPL is `ours' ((net socket)) or `guile' (Guile's built-in sockets).
;;;   tcp BYTES    a child process (this script, `server') writes BYTES in
;;;                16 KiB bytevectors with put-bytevector to its socket
;;;                port; the client reads 16 KiB at a time with
;;;                get-bytevector-n!: MiB/s
;;;   udp COUNT    one process sends 64-byte datagrams with `sendto' to a
;;;                second socket in batches of 32 and reads each batch back
;;;                with `recvfrom!', so none is lost: datagrams/s
;;;   udp-batch COUNT  the same with one `sendmmsg' and one `recvmmsg!' per
;;;                batch of 32 (ours only): datagrams/s

(use-modules (bench common)
             (rnrs bytevectors)
             (ice-9 binary-ports)
             (ice-9 popen)
             (ice-9 match)
             (srfi srfi-11))

(define args (cdr (command-line)))
(define role (string->symbol (list-ref args 0)))
(define mode (string->symbol (list-ref args 1)))
(define impl (string->symbol (list-ref args 2)))
(define arg (string->number (list-ref args 3)))

(define socket-module
  (resolve-interface (if (eq? impl 'ours) '(net socket) '(guile))))
(define-syntax-rule (import-from module name ...)
  (begin (define name (module-ref module 'name)) ...))
(import-from socket-module
  socket bind listen accept connect setsockopt getsockname sockaddr:port
  sendto recvfrom!)

(define (serve)
  (let ((listener (socket AF_INET SOCK_STREAM 0)))
    (setsockopt listener SOL_SOCKET SO_REUSEADDR 1)
    (bind listener AF_INET INADDR_LOOPBACK 0)
    (listen listener 16)
    (server-ready (sockaddr:port (getsockname listener)))
    (let ((s (car (accept listener)))
          (chunk (make-bytevector 16384 120)))
      (let loop ((sent 0))
        (when (< sent arg)
          (put-bytevector s chunk)
          (loop (+ sent 16384))))
      (close-port s))))

(define (tcp-client)
  (let-values (((pipe port pid) (spawn-server "server" "tcp"
                                              (symbol->string impl)
                                              (number->string arg))))
    (let ((s (socket AF_INET SOCK_STREAM 0))
          (buf (make-bytevector 16384))
          (t0 (now)))
      (connect s AF_INET INADDR_LOOPBACK port)
      (let loop ((got 0))
        (let ((k (get-bytevector-n! s buf 0 16384)))
          (if (eof-object? k)
              (let ((t (elapsed t0)))
                (unless (= got arg) (error "short transfer" got))
                (close-port s)
                (close-pipe pipe)
                (report (/ arg 1048576. t) "MiB/s"))
              (loop (+ got k))))))))

(define (udp-socket)
  (let ((s (socket AF_INET SOCK_DGRAM 0)))
    (bind s AF_INET INADDR_LOOPBACK 0)
    s))

(define (udp-batch)
  ;; The vectors are made once and reused, as the manual advises.
  (let* ((sendmmsg (module-ref socket-module 'sendmmsg))
         (recvmmsg! (module-ref socket-module 'recvmmsg!))
         (a (udp-socket))
         (b (udp-socket))
         (to (make-vector 32 (getsockname b)))
         (out (make-vector 32 (make-bytevector 64 117)))
         (in (list->vector (map (lambda (i) (make-bytevector 64)) (iota 32))))
         (sizes (make-vector 32 0))
         (t0 (now)))
    (let loop ((done 0))
      (when (< done arg)
        (unless (= 32 (sendmmsg a out #f to))
          (error "short batch sent"))
        (let collect ((got 0))
          (when (< got 32)
            (collect (+ got (recvmmsg! b in sizes)))))
        (loop (+ done 32))))
    (report (/ arg (elapsed t0)) "datagrams/s")))

(define (udp)
  (let* ((a (udp-socket))
         (b (udp-socket))
         (to (getsockname b))
         (out (make-bytevector 64 117))
         (in (make-bytevector 64))
         (t0 (now)))
    (let loop ((done 0))
      (when (< done arg)
        (do ((i 0 (+ i 1))) ((= i 32))
          (sendto a out to))
        (do ((i 0 (+ i 1))) ((= i 32))
          (unless (= 64 (car (recvfrom! b in)))
            (error "short datagram")))
        (loop (+ done 32))))
    (report (/ arg (elapsed t0)) "datagrams/s")))

(match (list role mode)
  (('server 'tcp) (serve))
  (('client 'tcp) (tcp-client))
  (('client 'udp) (udp))
  (('client 'udp-batch) (udp-batch)))
