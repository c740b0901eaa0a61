;;; bench/dtls.scm -- the DTLS benchmarks on the Guile side, through
;;; (net dtls); the same protocol as bench/dtls-baseline.c, so the two
;;; figures compare.
;;;
;;;   guile bench/dtls.scm client MODE ARG...
;;;
;;; The client starts the server half as a child process (this script with
;;; `server'), as the C program forks its server; each process can run on
;;; its own core.  The server is make-dtls-server on 127.0.0.1 port 0 (the
;;; cookie exchange, handshakes and retransmissions inside
;;; dtls-server-receive!), answering with dtls-send; the client is
;;; make-dtls-client, verifying the chain and the host name "localhost".
;;; DTLS 1.2 with our default priority string, MTU 1200 on both sides.
;;;
;;; MODE and ARG:
;;;   echo COUNT          COUNT round trips of one 1 KiB message, the server
;;;                       echoing it, the client checking it byte for
;;;                       byte: round-trips/s
;;;   oneway COUNT WINDOW COUNT 1 KiB messages client to server in windows
;;;                       of WINDOW, the last of each asking for an ack that
;;;                       carries the number the server received; the client
;;;                       waits for it before the next window: messages/s
;;;                       (received by the server)
;;;   many CLIENTS ROUNDS BATCH
;;;                       CLIENTS sessions with one server; ROUNDS times, one
;;;                       1 KiB message on each, then the echo of each
;;;                       (several datagrams wait at the server at once):
;;;                       echoes/s.  The server takes up to BATCH datagrams
;;;                       per system call (its #:receive-batch)
;;;
;;; In the echo and oneway modes the server's batch is 32, or
;;; $BENCH_DTLS_BATCH.
;;;
;;; Every message starts with an 8-byte little-endian sequence number and a
;;; flag byte (0 data, 1 data + ack please, 2 ack); byte I >= 9 is
;;; (I * 7 + 3) mod 256.  The client waits at most 1 s for a reply, then
;;; sends again (at most 10 times); the server gives up after 30 s without
;;; a message; `alarm' bounds both.

(use-modules (bench common)
             (net dtls)
             (net tls)
             (net error)
             (net socket)
             (rnrs bytevectors)
             (ice-9 popen)
             (ice-9 match)
             (ice-9 exceptions)
             (srfi srfi-1)
             (srfi srfi-11))

(define args (cdr (command-line)))
(define role (string->symbol (list-ref args 0)))
(define mode (string->symbol (list-ref args 1)))
(define rest (map string->number (list-tail args 2)))

(define message-size 1024)
(define mtu 1200)
(define reply-timeout 1)                ; seconds
(define resends 10)

(define flag/data 0)
(define flag/ack-please 1)
(define flag/ack 2)

(define (message-template)
  (let ((m (make-bytevector message-size 0)))
    (let loop ((i 9))
      (when (< i message-size)
        (bytevector-u8-set! m i (modulo (+ (* i 7) 3) 256))
        (loop (+ i 1))))
    m))

;; The sequence number is little-endian.  Guile 3.0 compiles the native
;; accessors inline, while one with an explicit endianness is a call that
;; goes through a bignum (about 450 instructions each way): on a
;; little-endian machine the native ones do.
(define little-endian? (eq? (native-endianness) (endianness little)))

(define (set-header! m seq flag)
  (if little-endian?
      (bytevector-u64-native-set! m 0 seq)
      (bytevector-u64-set! m 0 seq (endianness little)))
  (bytevector-u8-set! m 8 flag))

(define (seq-of m)
  (if little-endian?
      (bytevector-u64-native-ref m 0)
      (bytevector-u64-ref m 0 (endianness little))))

;;; The server half.

(define (serve)
  (let* ((creds (let ((c (make-certificate-credentials)))
                  (set-certificate-credentials-x509-key-files!
                   c (cert-file "server") (cert-file "key"))
                  c))
         (many? (eq? mode 'many))
         (server (make-dtls-server "127.0.0.1" 0 #:credentials creds
                                   #:mtu mtu #:timeout 30
                                   #:receive-batch
                                   (if many?
                                       (list-ref rest 2)
                                       (or (and=> (getenv "BENCH_DTLS_BATCH")
                                                  string->number)
                                           32))))
         (buf (make-bytevector 2048))
         (ack (make-bytevector 9 0))
         (echo? (memq mode '(echo many))))
    (server-ready (sockaddr:port (getsockname (dtls-server-socket server))))
    (let loop ((received 0) (open (if many? (car rest) 1)))
      (let-values (((n session) (dtls-server-receive! server buf)))
        (cond ((zero? n)                ; a client closed
               (when (> open 1)
                 (loop received (- open 1))))
              (echo?
               (dtls-send session buf 0 n)
               (loop received open))
              (else
               (let ((received (+ received 1)))
                 (when (and (> n 8)
                            (= (bytevector-u8-ref buf 8) flag/ack-please))
                   (set-header! ack received flag/ack)
                   (dtls-send session ack))
                 (loop received open))))))
    (close-dtls-server server)))

;;; The client half.

(define (connect port)
  (let* ((creds (let ((c (make-certificate-credentials)))
                  (set-certificate-credentials-x509-trust-file!
                   c (cert-file "ca"))
                  c))
         (session (make-dtls-client "127.0.0.1" port #:credentials creds
                                    #:server-name "localhost" #:mtu mtu
                                    #:timeout 10)))
    (unless (>= (session-dtls-data-mtu session) message-size)
      (error "data MTU below the message size"
             (session-dtls-data-mtu session)))
    (set-session-timeout! session reply-timeout)
    session))

;; Run THUNK; #f if a receive in it timed out (after REPLY-TIMEOUT).  One
;; handler covers many messages: the loops below leave it only on a
;; timeout, and start again where they were, as the C program's loop does
;; on GNUTLS_E_TIMEDOUT.
(define (unless-timeout thunk)
  (with-exception-handler
      (lambda (e)
        (if (net-timeout-error? e) #f (raise-exception e)))
    thunk
    #:unwind? #t))

(define (receive-message session buf)
  (let ((n (dtls-receive! session buf)))
    (when (zero? n)
      (error "the server closed"))
    n))

;; close_notify; the server ends on it.  If it was lost, end the server.
(define (finish session pipe pid)
  (close-dtls session)
  (let ((ready (select (list pipe) '() '() 2)))
    (when (null? (car ready))
      (kill pid SIGTERM)))
  (close-pipe pipe))

;; Call (STEP RESEND?) until it returns #t, RESEND? true after a timeout;
;; PROGRESS is a thunk giving how far the run is, so that the timeouts
;; allowed (RESENDS) are counted per message.  Return how many resends.
(define (with-resends step progress what)
  (let loop ((resend? #f) (tries 0) (at -1) (resent 0))
    (if (unless-timeout (lambda () (step resend?)))
        resent
        (let* ((here (progress))
               (tries (if (= here at) (+ tries 1) 1)))
          (when (> tries resends) (error what here))
          (loop #t tries here (+ resent 1))))))

(define (run-echo port count)
  (let ((session (connect port))
        (out (message-template))
        (in (make-bytevector message-size))
        (i 0)
        (t0 (now)))
    (define (echoes resend?)
      ;; After a timeout, message I again (the same bytes: lost, or its
      ;; echo lost); a late echo of an earlier one is skipped.
      (when resend?
        (dtls-send session out))
      (let loop ()
        (if (< i count)
            (let ((n (receive-message session in)))
              (when (and (= n message-size) (= (seq-of in) i))
                (unless (bytevector=? in out)
                  (error "echo differs" i))
                (set! i (+ i 1))
                (when (< i count)
                  (set-header! out i flag/data)
                  (dtls-send session out)))
              (loop))
            #t)))
    (set-header! out 0 flag/data)
    (when (> count 0)
      (dtls-send session out))
    (let ((resent (with-resends echoes (lambda () i) "no echo")))
      (values session (elapsed t0) resent))))

(define (run-oneway port count window)
  (let ((session (connect port))
        (out (message-template))
        (in (make-bytevector message-size))
        (window (max window 1))
        (sent 0)
        (acked 0)
        (t0 (now)))
    (define (windows resend?)
      ;; After a timeout, the last message of the window again (it or its
      ;; ack was lost; the server counts it again).
      (when resend?
        (dtls-send session out))
      (let loop ()
        (let ((n (receive-message session in)))
          (if (and (>= n 9) (= (bytevector-u8-ref in 8) flag/ack))
              (begin
                (set! acked (seq-of in))
                (or (= sent count)
                    (begin (send-window) (loop))))
              (loop)))))
    (define (send-window)
      (let ((end (min count (+ sent window))))
        (let send ((i sent))
          (when (< i end)
            (set-header! out i (if (= i (- end 1)) flag/ack-please flag/data))
            (dtls-send session out)
            (send (+ i 1))))
        (set! sent end)))
    (send-window)
    (let ((resent (if (zero? count)
                      0
                      (with-resends windows (lambda () sent) "no ack"))))
      (values session (elapsed t0) resent (min acked count)))))

;; CLIENTS sessions, ROUNDS rounds of one message on each and then their
;; echoes.  A timeout sends that session's message again.
(define (run-many port clients rounds)
  (let ((sessions (list-tabulate clients (lambda (i) (connect port))))
        (out (message-template))
        (in (make-bytevector message-size))
        (t0 (now)))
    (let round ((r 0) (resent 0))
      (if (< r rounds)
          (begin
            (set-header! out r flag/data)
            (for-each (lambda (s) (dtls-send s out)) sessions)
            (round (+ r 1)
                   (fold (lambda (s resent)
                           (let wait ((tries 0) (resent resent))
                             (let ((n (unless-timeout
                                       (lambda () (receive-message s in)))))
                               (cond ((and (eqv? n message-size)
                                           (= (seq-of in) r))
                                      (unless (bytevector=? in out)
                                        (error "echo differs" r))
                                      resent)
                                     ((not n)
                                      (when (>= tries resends)
                                        (error "no echo" r))
                                      (dtls-send s out)
                                      (wait (+ tries 1) (+ resent 1)))
                                     (else (wait tries resent))))))
                         resent sessions)))
          (values sessions (elapsed t0) resent)))))

(define (client)
  (let-values (((pipe port pid) (apply spawn-server "server"
                                       (symbol->string mode)
                                       (map number->string rest))))
    (match mode
      ('echo
       (let ((count (car rest)))
         (let-values (((session t resent) (run-echo port count)))
           (finish session pipe pid)
           (unless (zero? resent)
             (format (current-error-port) "resends ~a~%" resent))
           (report (/ count t) "round-trips/s"))))
      ('many
       (match rest
         ((clients rounds batch)
          (let-values (((sessions t resent) (run-many port clients rounds)))
            (for-each close-dtls sessions)
            (let ((ready (select (list pipe) '() '() 2)))
              (when (null? (car ready))
                (kill pid SIGTERM)))
            (close-pipe pipe)
            (unless (zero? resent)
              (format (current-error-port) "resends ~a~%" resent))
            (report (/ (* clients rounds) t) "echoes/s")))))
      ('oneway
       (let ((count (car rest)) (window (cadr rest)))
         (let-values (((session t resent acked)
                       (run-oneway port count window)))
           (finish session pipe pid)
           (unless (and (zero? resent) (= acked count))
             (format (current-error-port)
                     "resends ~a, server received ~a of ~a~%"
                     resent acked count))
           (report (/ acked t) "messages/s")))))))

(match role
  ('server (serve))
  ('client (client)))
