;;; gc-stress.scm -- make and drop 100,000 TLS sessions and sockets while
;;; the collector runs, and check that nothing crashes and no descriptor
;;; is left open once finalizers have run.
;;;
;;; What is exercised is the web of references between the C objects:
;;; credentials shared by many sessions (and dropped before them, so the
;;; reference count in tls-credentials.c decides when GnuTLS's
;;; credentials are freed), sessions whose transport is a socket port
;;; with a record port made (a cycle: session -> record port -> session),
;;; socket ports closed by hand and socket ports left to their finalizer,
;;; and now and then a real handshake and a record exchanged over a
;;; socketpair, after which everything is dropped unclosed.  DTLS too:
;;; servers (socket, cookie key, session table) dropped unclosed, client
;;; sessions on UDP sockets, and now and then a DTLS exchange whose server
;;; keeps its client's session in its table when both are dropped.
;;;
;;; GUILE_NET_GC_STRESS_SCALE (a real, default 1) scales the number of
;;; objects, for slow machines or instrumented builds; nothing sets it by
;;; default: the whole test takes about 10 s, also under ASan and UBSan.

(use-modules (tests harness)
             (tests tls-common)
             (net socket)
             (net tls)
             (net dtls)
             (rnrs bytevectors)
             (srfi srfi-1)
             (srfi srfi-64)
             (ice-9 rdelim)
             (ice-9 threads)
             (ice-9 format))

(define scale
  (let ((s (and=> (getenv "GUILE_NET_GC_STRESS_SCALE") string->number)))
    (if (and s (real? s) (> s 0)) s 1)))

(define total (max 1000 (inexact->exact (round (* 100000 scale)))))
(define gc-every 4000)
(define handshake-every (max 1000 (quotient total 12)))
;; Objects stay alive in a ring for a while before they are dropped, so
;; that collections happen while references between them are live.
(define ring-size 64)

(define (note fmt . args)
  (display "# ")
  (apply format #t fmt args)
  (newline)
  (force-output))

(define server-creds (server-credentials))
(define client-creds (client-credentials))

(define (handshake-over-socketpair)
  "Handshake a client and a server session over a fresh socketpair, send
a line each way through the record ports, and return what the client
read; leave every object unclosed for the collector."
  (let* ((pair (socketpair AF_UNIX SOCK_STREAM 0))
         (server
          (call-with-new-thread
           (lambda ()
             (capture
              (lambda ()
                (let ((s (make-session connection-end/server)))
                  (set-session-timeout! s 5)
                  (set-session-credentials! s server-creds)
                  (set-session-transport-port! s (cdr pair))
                  (handshake s)
                  (let* ((p (session-record-port s))
                         (line (read-line p)))
                    (display (string-append "re: " line "\n") p)
                    (force-output p)
                    line)))))))
         (client
          (capture
           (lambda ()
             (let ((s (make-session connection-end/client)))
               (set-session-timeout! s 5)
               (set-session-credentials! s client-creds)
               (set-session-server-name! s server-name-type/dns "localhost")
               (set-session-transport-port! s (car pair))
               (handshake s)
               (let ((p (session-record-port s)))
                 (display "hello\n" p)
                 (force-output p)
                 (read-line p)))))))
    (join-thread server (+ (current-time) 15) 'timed-out)
    client))

(define (dtls-exchange)
  "A DTLS server and a client on loopback UDP: one message echoed; return
it as a string, and drop the server (with its client's session in its
table) and the client unclosed."
  (let* ((server (make-dtls-server "127.0.0.1" 0 #:credentials server-creds
                                   #:timeout 5))
         (port (sockaddr:port (getsockname (dtls-server-socket server))))
         (echo (call-with-new-thread
                (lambda ()
                  (capture
                   (lambda ()
                     (call-with-values (lambda () (dtls-server-receive server))
                       (lambda (m session) (dtls-send session m)))))))))
    (let ((reply (capture
                  (lambda ()
                    (let ((c (make-dtls-client "127.0.0.1" port
                                               #:credentials client-creds
                                               #:server-name "localhost"
                                               #:timeout 5)))
                      (dtls-send c (string->utf8 "re: hello"))
                      (utf8->string (dtls-receive c)))))))
      (join-thread echo (+ (current-time) 15) 'timed-out)
      reply)))

;; One kind of churn per iteration; each makes at least one session or
;; socket and drops something.
(define kinds 10)
(define (churn i shared)
  (case (modulo i kinds)
    ;; A client session with the shared credentials.
    ((0) (let ((s (make-session connection-end/client)))
           (set-session-credentials! s shared)
           s))
    ;; A server session with its own credentials, dropped at once: only
    ;; the session keeps them alive.
    ((1) (let ((s (make-session connection-end/server))
               (c (make-certificate-credentials)))
           (set-session-credentials! s c)
           s))
    ;; A session on a socketpair end, with its record port made; the
    ;; other end closed by hand, this one left to the finalizer.
    ((2) (let ((pair (socketpair AF_UNIX SOCK_STREAM 0))
               (s (make-session connection-end/client)))
           (set-session-credentials! s shared)
           (set-session-transport-port! s (car pair))
           (session-record-port s)
           (close-port (cdr pair))
           s))
    ;; A socket closed by hand.
    ((3) (let ((s (socket AF_INET SOCK_STREAM 0)))
           (close-port s)
           s))
    ;; A socket left open for the finalizer.
    ((4) (socket AF_INET6 SOCK_DGRAM 0))
    ;; A session whose credentials are replaced: the first credentials are
    ;; dropped while the session still holds a reference to them.
    ((5) (let ((s (make-session connection-end/server)))
           (set-session-credentials! s (make-certificate-credentials))
           (set-session-credentials! s shared)
           s))
    ;; A session and both socketpair ends left unclosed, record port made
    ;; with a close procedure that closes the transport.
    ((6) (let ((pair (socketpair AF_UNIX SOCK_STREAM 0))
               (s (make-session connection-end/server)))
           (set-session-transport-port! s (cdr pair))
           (session-record-port s (lambda (p) (close-port (cdr pair))))
           (list s pair)))
    ;; A record port whose session is reachable only through it, on a
    ;; transport closed before the port is dropped.
    ((7) (let ((pair (socketpair AF_UNIX SOCK_STREAM 0))
               (s (make-session connection-end/client)))
           (set-session-transport-port! s (car pair))
           (let ((p (session-record-port s)))
             (close-port (car pair))
             (close-port (cdr pair))
             p)))
    ;; A DTLS server, dropped unclosed: its socket, cookie key and buffer
    ;; are the finalizers' to free.
    ((8) (make-dtls-server "127.0.0.1" 0 #:credentials shared))
    ;; A DTLS client session on a connected UDP socket, never handshaken.
    ((9) (let ((u (socket AF_INET SOCK_DGRAM 0))
               (s (make-session connection-end/client
                                connection-flag/datagram)))
           (connect u AF_INET INADDR_LOOPBACK 9)
           (set-session-transport-port! s u)
           (set-session-dtls-mtu! s 1000)
           s))))

;; Make TOTAL objects, keeping the last RING-SIZE alive; return (MADE
;; . HANDSHAKE-RESULTS).
(define (churn-all)
  (let ((ring (make-vector ring-size #f)))
    (let loop ((i 0) (shared (make-certificate-credentials)) (handshakes '()))
      (if (= i total)
          (cons i handshakes)
          (begin
            (vector-set! ring (modulo i ring-size) (churn i shared))
            (when (zero? (modulo (+ i 1) gc-every))
              (gc))
            (loop (+ i 1)
                  ;; New shared credentials every 1,000: the old ones are
                  ;; dropped while up to a ring of sessions still use them.
                  (if (zero? (modulo (+ i 1) 1000))
                      (make-certificate-credentials)
                      shared)
                  (if (zero? (modulo (+ i 1) handshake-every))
                      (cons (if (even? (quotient i handshake-every))
                                (handshake-over-socketpair)
                                (dtls-exchange))
                            handshakes)
                      handshakes)))))))

(run-tests "gc-stress"
  (note "~a objects, (gc) every ~a, a handshake every ~a (scale ~a)"
        total gc-every handshake-every scale)

  ;; A first handshake and collection, so that whatever GnuTLS and Guile
  ;; open once per process (random devices, the finalizer thread's pipe)
  ;; is open before the descriptors are counted.
  (test-equal "warm-up handshake over a socketpair" "re: hello"
    (handshake-over-socketpair))
  (gc) (gc)

  (let* ((fds-before (open-fd-count))
         (start (get-internal-real-time))
         ;; The churn runs in a thread of its own: once it has exited, no
         ;; stale word on its stack can keep a dropped socket alive for the
         ;; conservative collector.
         (result (join-thread (call-with-new-thread
                               (lambda () (capture churn-all)))
                              (+ (current-time) 240)
                              'timed-out))
         ;; On failure, MADE is the exception (or timed-out) for the log.
         (made (if (pair? result) (car result) result))
         (handshakes (if (pair? result) (cdr result) '())))
    (note "made ~a objects in ~,1f s" made
          (/ (- (get-internal-real-time) start)
             internal-time-units-per-second 1.0))

    (test-equal "every object was made" total made)
    (test-assert "every handshake in between exchanged its records"
      (and (pair? handshakes)
           (every (lambda (r) (equal? r "re: hello")) handshakes)))

    ;; Finalizers run in Guile's finalizer thread after a collection: give
    ;; them a bounded while (5 s) to close what was left open.
    (let wait ((tries 0))
      (gc)
      (when (and (> (open-fd-count) fds-before) (< tries 50))
        (usleep 100000)
        (wait (+ tries 1))))
    ;; The collector is conservative: a stale word on a stack or in a
    ;; library's data can keep one dropped socket alive (seen about one run
    ;; in three under ASan, whose frames differ).  So allow a handful.  A
    ;; socket kind whose finalizer failed to close it would leave
    ;; thousands open (each kind is a tenth of TOTAL).
    (let ((fds-after (open-fd-count)))
      (note "descriptors: ~a before, ~a after" fds-before fds-after)
      (test-assert "no descriptor is left open after collections (at most 3 strays)"
        (<= fds-after (+ fds-before 3))))

    (test-equal "a handshake still works afterwards" "re: hello"
      (handshake-over-socketpair)))

  (remove-cert-dir))
