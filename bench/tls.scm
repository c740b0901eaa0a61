;;; bench/tls.scm -- the TLS benchmarks on the Guile side.
;;;
;;;   guile bench/tls.scm client MODE IMPL ARG...
;;;
;;; IMPL is `ours' ((net tls) over (net socket)), `gnutls' (Debian's
;;; guile-gnutls over Guile's built-in sockets, the way its manual shows:
;;; the session's transport is the socket's descriptor, the record port used
;;; as it comes) or `gnutls-block' (the same with `setvbuf' 'block 16384
;;; set by hand on the record port at both ends).  The client starts the
;;; server half of the same IMPL as a child process (this script with
;;; `server'); each process runs on its own core.
;;;
;;; MODE and ARG:
;;;   bulk BYTES       the server writes BYTES in 16 KiB bytevectors to its
;;;                    record port; the client reads 16 KiB at a time: MiB/s,
;;;                    after a line "cpu MS ms/MiB": the CPU time (user +
;;;                    system, all threads) both processes spent from the
;;;                    end of their handshake to the end of the transfer
;;;   lines N          the server writes N lines with `display', the client
;;;                    reads them with `read-line': lines/s
;;;   rr N             N request/reply round trips of one line each, with
;;;                    force-output after each line: round trips/s
;;;   handshakes SECONDS MAX
;;;                    full handshakes, the client verifying the chain and
;;;                    host name: connect, handshake, receive one byte from
;;;                    the server, close; per second
;;;   idle PORT N      (client only) hold N verified connections, each with
;;;                    its record port, to the C idle server on PORT: KiB of
;;;                    resident memory per connection
;;;   idle-bare PORT N the same without asking for the record ports (the
;;;                    session and its socket only), to show what they cost
;;;
;;; Both ends of every connection set TCP_NODELAY, as the C baseline does.

(use-modules (bench common)
             (rnrs bytevectors)
             (ice-9 binary-ports)
             (ice-9 rdelim)
             (ice-9 popen)
             (ice-9 match)
             (ice-9 format)
             (srfi srfi-11))

(define args (cdr (command-line)))
(define role (string->symbol (list-ref args 0)))
(define mode (string->symbol (list-ref args 1)))
(define impl (string->symbol (list-ref args 2)))
(define rest (list-tail args 3))
(define ours? (eq? impl 'ours))
(define block? (eq? impl 'gnutls-block))

(define tls-module (resolve-interface (if ours? '(net tls) '(gnutls))))
(define socket-module (resolve-interface (if ours? '(net socket) '(guile))))

(define-syntax-rule (import-from module name ...)
  (begin (define name (module-ref module 'name)) ...))

(import-from tls-module
  make-session connection-end/client connection-end/server
  set-session-credentials! set-session-priorities!
  set-session-server-name! server-name-type/dns
  set-session-transport-fd! handshake session-record-port
  make-certificate-credentials
  set-certificate-credentials-x509-key-files!
  set-certificate-credentials-x509-trust-file!
  x509-certificate-format/pem
  record-send record-receive! bye close-request/wr)
(import-from socket-module
  socket bind listen accept connect setsockopt getsockname sockaddr:port)
(define set-session-transport-port!
  (and ours? (module-ref tls-module 'set-session-transport-port!)))

(define (nodelay! s) (setsockopt s IPPROTO_TCP TCP_NODELAY 1))

(define server-creds
  (delay (let ((c (make-certificate-credentials)))
           (set-certificate-credentials-x509-key-files!
            c (cert-file "server") (cert-file "key")
            x509-certificate-format/pem)
           c)))
(define client-creds
  (delay (let ((c (make-certificate-credentials)))
           (set-certificate-credentials-x509-trust-file!
            c (cert-file "ca") x509-certificate-format/pem)
           c)))

;; A TLS connection over socket S, handshake done.  Ours verifies the
;; server (the default); guile-gnutls never does during the handshake.
(define (tls-connection s end)
  (let ((session (make-session end)))
    (unless ours?
      (set-session-priorities! session (bench-priority)))
    (set-session-credentials! session
                              (force (if (eq? end connection-end/server)
                                         server-creds client-creds)))
    (when (eq? end connection-end/client)
      (set-session-server-name! session server-name-type/dns "localhost"))
    (if ours?
        (set-session-transport-port! session s)
        (set-session-transport-fd! session (fileno s)))
    (handshake session)
    session))

(define (record-port session)
  (let ((p (session-record-port session)))
    (when block? (setvbuf p 'block 16384))
    p))

;; Close a connection cleanly: close_notify, then the socket.
(define (finish session port sock)
  (force-output port)
  (if ours?
      (close-port port)                 ; close_notify, closes the socket
      (begin (bye session close-request/wr) (close-port sock))))

(define (connect-loopback port)
  (let ((s (socket AF_INET SOCK_STREAM 0)))
    (connect s AF_INET INADDR_LOOPBACK port)
    (nodelay! s)
    s))

(define (accept-one listener)
  (let ((s (car (accept listener))))
    (nodelay! s)
    s))

;;; The server half.

(define (serve)
  (let ((listener (socket AF_INET SOCK_STREAM 0)))
    (setsockopt listener SOL_SOCKET SO_REUSEADDR 1)
    (bind listener AF_INET INADDR_LOOPBACK 0)
    (listen listener 128)
    (server-ready (sockaddr:port (getsockname listener)))
    (match mode
      ('handshakes
       (let ((one (make-bytevector 1 33)))
         (let loop ()
           (let* ((s (accept-one listener))
                  (session (tls-connection s connection-end/server)))
             (record-send session one)
             (close-port s)
             (loop)))))
      (_
       (let* ((s (accept-one listener))
              (session (tls-connection s connection-end/server))
              (port (record-port session)))
         (match mode
           ('bulk
            (let ((bytes (string->number (car rest)))
                  (chunk (make-bytevector 16384 120))
                  (cpu0 (cpu-seconds)))
              (let loop ((sent 0))
                (when (< sent bytes)
                  (put-bytevector port chunk)
                  (loop (+ sent 16384))))
              (finish session port s)
              ;; The client reads this from the pipe after the transfer.
              (format #t "cpu ~a~%" (- (cpu-seconds) cpu0))
              (force-output)))
           ('lines
            (let ((n (string->number (car rest))))
              (let loop ((i 0))
                (when (< i n)
                  (display %line port)
                  (loop (+ i 1))))))
           ('rr
            (let loop ()
              (let ((line (read-line port)))
                (unless (eof-object? line)
                  (display "reply to the request\n" port)
                  (force-output port)
                  (loop))))))
         (unless (eq? mode 'bulk)
           (finish session port s)))))))

;;; The client half.

(define (client)
  (match mode
    ((or 'idle 'idle-bare)
     (let ((port (string->number (car rest)))
           (n (string->number (cadr rest))))
       (define (open-one)
         (let* ((s (connect-loopback port))
                (session (tls-connection s connection-end/client)))
           (list s session
                 (and (eq? mode 'idle) (record-port session)))))
       (let ((first (open-one)))         ; warm-up, as in C
         (gc)
         (let* ((before (rss-kib))
                (held (let loop ((i 0) (acc '()))
                        (if (< i n) (loop (+ i 1) (cons (open-one) acc)) acc))))
           (gc)
           (report (/ (- (rss-kib) before) (exact->inexact n))
                   "KiB/connection")
           (unless (= n (length held)) (error "lost connections"))
           first))))
    (_
     (let-values (((pipe port pid) (apply spawn-server "server"
                                          (symbol->string mode)
                                          (symbol->string impl) rest)))
       (match mode
         ('handshakes
          (let ((seconds (string->number (car rest)))
                (max (string->number (cadr rest)))
                (buf (make-bytevector 1))
                (t0 (now)))
            (let loop ((n 0))
              (if (and (< n max) (< (elapsed t0) seconds))
                  (let* ((s (connect-loopback port))
                         (session (tls-connection s connection-end/client)))
                    (unless (= 1 (record-receive! session buf))
                      (error "no byte after the handshake"))
                    (close-port s)
                    (loop (+ n 1)))
                  (let ((t (elapsed t0)))
                    (kill pid SIGTERM)
                    (close-pipe pipe)
                    (report (/ n t) "handshakes/s"))))))
         (_
          (let* ((s (connect-loopback port))
                 (session (tls-connection s connection-end/client))
                 (rp (record-port session)))
            (match mode
              ('bulk
               (let ((bytes (string->number (car rest)))
                     (buf (make-bytevector 16384))
                     (t0 (now))
                     (cpu0 (cpu-seconds)))
                 (let loop ((got 0))
                   (let ((k (get-bytevector-n! rp buf 0 16384)))
                     (if (eof-object? k)
                         (let* ((t (elapsed t0))
                                (cpu (- (cpu-seconds) cpu0))
                                (line (read-line pipe))
                                (server-cpu
                                 (and (string? line)
                                      (string-prefix? "cpu " line)
                                      (string->number (substring line 4))))
                                (mib (/ bytes 1048576.)))
                           (unless (= got bytes) (error "short transfer" got))
                           (unless server-cpu
                             (error "no CPU time from the server half" line))
                           (format #t "cpu ~,4f ms/MiB (receiver ~,4f, sender ~,4f)~%"
                                   (/ (* 1e3 (+ cpu server-cpu)) mib)
                                   (/ (* 1e3 cpu) mib) (/ (* 1e3 server-cpu) mib))
                           (report (/ mib t) "MiB/s"))
                         (loop (+ got k)))))))
              ('lines
               (let ((n (string->number (car rest)))
                     (t0 (now)))
                 (let loop ((i 0))
                   (let ((line (read-line rp)))
                     (if (eof-object? line)
                         (let ((t (elapsed t0)))
                           (unless (= i n) (error "lines lost" i))
                           (report (/ n t) "lines/s"))
                         (loop (+ i 1)))))))
              ('rr
               (let ((n (string->number (car rest)))
                     (t0 (now)))
                 (let loop ((i 0))
                   (when (< i n)
                     (display "a request of one line\n" rp)
                     (force-output rp)
                     (when (eof-object? (read-line rp))
                       (error "no reply"))
                     (loop (+ i 1))))
                 (let ((t (elapsed t0)))
                   (finish session rp s)
                   (report (/ n t) "round-trips/s")))))
            ;; Keep the socket alive to here: guile-gnutls holds only its
            ;; descriptor, which the socket port's finalizer would close.
            (close-port s)
            (close-pipe pipe))))))))

(match role
  ('server (serve))
  ('client (client)))
