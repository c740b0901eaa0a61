;;; DTLS over UDP with (net dtls): messages checked byte for byte over IPv4
;;; and IPv6, the MTU and messages refused rather than cut, cookies (a
;;; client that never answers leaves nothing on the server), handshakes
;;; through a relay that drops the first copy of every handshake flight,
;;; timeouts on both sides, ALPN and client certificates, batched receives
;;; (several clients' datagrams taken by one system call, partial batches,
;;; a message too large, a close_notify and garbage inside a batch, bad
;;; batch sizes), and 200 clients against one server socket on one thread
;;; under suspendable ports.

(use-modules (tests harness)
             (tests tls-common)
             (tests scheduler)
             (net socket)
             (net tls)
             (net dtls)
             (net error)
             (srfi srfi-1)
             (srfi srfi-64)
             (rnrs bytevectors)
             (ice-9 exceptions)
             (ice-9 threads)
             (ice-9 suspendable-ports))

(cert-dir)
(define server-cred (server-credentials))
(define client-cred (client-credentials))

(define (server-port server)
  (sockaddr:port (getsockname (dtls-server-socket server))))

(define (stat server name)
  (assq-ref (dtls-server-statistics server) name))

(define (message k size)
  "A message whose bytes say which it is."
  (let ((bv (make-bytevector size)))
    (do ((i 0 (+ i 1))) ((= i size) bv)
      (bytevector-u8-set! bv i (modulo (+ k (* 7 i)) 256)))))

(define* (echo-server server #:key (until-closed 1))
  "Echo every message SERVER receives on a thread, until UNTIL-CLOSED
clients have closed or a receive times out; the thread returns the
messages echoed."
  (call-with-new-thread
   (lambda ()
     (let ((buf (make-bytevector 16384)))
       (let loop ((closed 0) (echoed 0))
         (if (= closed until-closed)
             echoed
             (call-with-values
                 (lambda ()
                   (catch #t
                     (lambda () (dtls-server-receive! server buf))
                     (lambda _ (values #f #f))))
               (lambda (n session)
                 (cond
                  ((not n) echoed)
                  ((zero? n) (loop (+ closed 1) echoed))
                  ;; an echo over the server's MTU is refused, not cut
                  ((dtls-message-too-large?
                    (capture (lambda () (dtls-send session buf 0 n))))
                   (loop closed echoed))
                  (else (loop closed (+ echoed 1))))))))))))

(define (join thread)
  (join-thread thread (+ (current-time) 30)))

(define (exchange client sizes)
  "Send a message of each size in SIZES and check each echo; return the
number that came back intact."
  (count (lambda (k size)
           (dtls-send client (message k size))
           (equal? (dtls-receive client) (message k size)))
         (iota (length sizes)) sizes))

(define (can-still-talk?)
  "The process can still make a DTLS session and echo a message."
  (let* ((server (make-dtls-server "127.0.0.1" 0 #:credentials server-cred
                                   #:timeout 10))
         (t (echo-server server))
         (c (make-dtls-client "127.0.0.1" (server-port server)
                              #:credentials client-cred
                              #:server-name "localhost" #:timeout 10))
         (ok (= 1 (exchange c '(100)))))
    (close-dtls c)
    (join t)
    (close-dtls-server server)
    ok))

;;; A relay between a client and a server that drops the first copy of
;;; every handshake flight, in both directions: the handshake must still
;;; finish, through retransmissions.

(define (flight-key direction bv)
  "What identifies a handshake flight's datagram across retransmissions
(whose record sequence numbers differ): its direction, epoch and, for an
unencrypted handshake message, its type and message sequence number."
  (and (>= (bytevector-length bv) 13)
       (memv (bytevector-u8-ref bv 0) '(20 22))        ; CCS or handshake
       (let ((epoch (bytevector-u16-ref bv 3 (endianness big))))
         (if (and (= epoch 0) (>= (bytevector-length bv) 19)
                  (= (bytevector-u8-ref bv 0) 22))
             (list direction epoch (bytevector-u8-ref bv 13)
                   (bytevector-u16-ref bv 17 (endianness big)))
             (list direction epoch (bytevector-u8-ref bv 0))))))

(define (start-relay server-address pass)
  "Return (PORT THREAD STOP!): a relay on 127.0.0.1 PORT to SERVER-ADDRESS
that forwards what (PASS DIRECTION DATAGRAM) returns for each datagram, a
list of datagrams (DIRECTION: up, to the server, or down); THREAD returns
once STOP! is called (or after about 60 s)."
  (let ((front (socket AF_INET SOCK_DGRAM 0))
        (back (socket AF_INET SOCK_DGRAM 0))
        (stop #f))
    (bind front AF_INET INADDR_LOOPBACK 0)
    (connect back server-address)
    (list (sockaddr:port (getsockname front))
          (call-with-new-thread
           (lambda ()
             (let ((buf (make-bytevector 65536)))
               (let loop ((client #f) (rounds 0))
                 (if (or stop (> rounds 3000))
                     (begin (close-port front) (close-port back))
                     (let ((ready (car (select (list front back) '() '() 0 20000))))
                       (cond
                        ((memq front ready)
                         (let ((r (recvfrom! front buf)))
                           (for-each (lambda (bv) (send back bv))
                                     (pass 'up (bytevector-slice buf (car r))))
                           (loop (cdr r) (+ rounds 1))))
                        ((and (memq back ready) client)
                         (let ((n (recv! back buf)))
                           (for-each (lambda (bv) (sendto front bv client))
                                     (pass 'down (bytevector-slice buf n)))
                           (loop client (+ rounds 1))))
                        (else (loop client (+ rounds 1))))))))))
          (lambda () (set! stop #t)))))

(define (start-lossy-relay server-address)
  "A relay (as start-relay's) that drops the first copy of every handshake
flight; its THREAD returns how many datagrams it dropped."
  (let* ((seen (make-hash-table))
         (dropped 0)
         (relay (start-relay
                 server-address
                 (lambda (direction bv)
                   (let ((key (flight-key direction bv)))
                     (if (and key (not (hash-ref seen key)))
                         (begin (hash-set! seen key #t)
                                (set! dropped (+ dropped 1))
                                '())
                         (list bv)))))))
    (list (car relay)
          (call-with-new-thread
           (lambda () (join-thread (cadr relay)) dropped))
          (caddr relay))))

(define* (bytevector-slice bv n #:optional (start 0))
  "N bytes of BV from START, as a new bytevector."
  (let ((out (make-bytevector n)))
    (bytevector-copy! bv start out 0 n)
    out))

;;; A relay that joins the server's first two application-data datagrams
;;; into one: a datagram holding two records, which GnuTLS returns one read
;;; at a time.

(define (start-joining-relay server-address)
  "A relay (as start-relay's) that sends the first two application-data
datagrams from the server as one; its THREAD returns how many datagrams
it joined so."
  (let* ((held #f)
         (joined 0)
         (relay (start-relay
                 server-address
                 (lambda (direction bv)
                   (cond
                    ((or (eq? direction 'up) (> joined 0)
                         (not (= 23 (bytevector-u8-ref bv 0))))
                     (list bv))
                    ((not held) (set! held bv) '())
                    (else
                     (let* ((k (bytevector-length held))
                            (both (make-bytevector (+ k (bytevector-length bv)))))
                       (bytevector-copy! held 0 both 0 k)
                       (bytevector-copy! bv 0 both k (bytevector-length bv))
                       (set! joined 1)
                       (list both))))))))
    (list (car relay)
          (call-with-new-thread
           (lambda () (join-thread (cadr relay)) joined))
          (caddr relay))))

;;; A client that sends a ClientHello, and perhaps answers the cookie, then
;;; stops: a non-blocking session whose handshake the test advances one step
;;; at a time, in turn with the server's receives (so the server's answer to
;;; a step is never read within that step).

(define (stalled-client port)
  (let ((sock (socket AF_INET (logior SOCK_DGRAM SOCK_NONBLOCK) 0))
        (s (make-session connection-end/client connection-flag/datagram)))
    (connect sock AF_INET INADDR_LOOPBACK port)
    (set-session-transport-port! s sock)
    (set-session-credentials! s client-cred)
    (set-session-server-name! s server-name-type/dns "localhost")
    s))

(define (client-step! s)
  "One call of the handshake; it sends what it can and reports again."
  (catch #t (lambda () (handshake s)) (lambda _ #f)))

(define (receive-briefly server)
  "Let SERVER handle what has arrived: a receive that times out."
  (capture (lambda () (dtls-server-receive server))))

;;; Batched receives: clients whose handshakes are done, then datagrams
;;; that all wait in the server's socket before it looks.

(define (handshaken-clients server n)
  "N clients of SERVER, their handshakes done: made on threads while this
one runs SERVER's receives, which (SERVER having a short timeout) return
once there is nothing but handshakes to do."
  (let ((threads
         (map (lambda (i)
                (call-with-new-thread
                 (lambda ()
                   (make-dtls-client "127.0.0.1" (server-port server)
                                     #:credentials client-cred
                                     #:server-name "localhost" #:timeout 10))))
              (iota n))))
    (let loop ((tries 0))
      (when (and (< (stat server 'handshakes-done) n) (< tries 100))
        (receive-briefly server)
        (loop (+ tries 1))))
    (map join threads)))

(define (client-port c)
  (sockaddr:port (getsockname (session-transport-port c))))

(define (receive-all server k room)
  "K messages from SERVER, each into a new bytevector of ROOM bytes: a
list of (client port . message), or of the exception a receive raised."
  (map (lambda (i)
         (let ((buf (make-bytevector room)))
           (with-exception-handler (lambda (e) e)
             (lambda ()
               (call-with-values (lambda () (dtls-server-receive! server buf))
                 (lambda (n session)
                   (cons (sockaddr:port (dtls-session-peer session))
                         (bytevector-slice buf n)))))
             #:unwind? #t)))
       (iota k)))

(define (delta server name thunk)
  "Call THUNK; return its value and how much SERVER's statistic NAME grew."
  (let* ((before (stat server name))
         (v (thunk)))
    (values v (- (stat server name) before))))

(define fds-at-start (open-fd-count))

(run-tests "dtls"
  (test-group "messages"
    (for-each
     (lambda (family host)
       (let* ((server (make-dtls-server host 0 #:credentials server-cred
                                        #:timeout 10))
              (t (echo-server server))
              (c (make-dtls-client host (server-port server)
                                   #:credentials client-cred
                                   #:server-name "localhost" #:timeout 10))
              (sizes '(1 100 1000 1024 700)))
         (test-equal (string-append host " protocol") 'DTLS1.2
           (session-protocol c))
         (test-equal (string-append host " every echo intact")
           (length sizes) (exchange c sizes))
         (test-equal (string-append host " peer of the client")
           (sockaddr:port (getsockname (dtls-server-socket server)))
           (sockaddr:port (dtls-session-peer c)))
         (close-dtls c)
         (test-equal (string-append host " server echoed them") (length sizes)
           (join t))
         (test-equal (string-append host " closed client forgotten") '()
           (dtls-server-sessions server))
         (test-equal (string-append host " statistics")
           '(1 1 1 1 0)
           (map (lambda (k) (stat server k))
                '(cookies-sent sessions-opened handshakes-done
                  sessions-closed sessions-failed)))
         (close-dtls-server server)))
     (list AF_INET AF_INET6) (list "127.0.0.1" "::1")))

  (test-group "MTU and sizes"
    (let* ((server (make-dtls-server "127.0.0.1" 0 #:credentials server-cred
                                     #:timeout 10 #:mtu 600))
           (t (echo-server server))
           (c (make-dtls-client "127.0.0.1" (server-port server)
                                #:credentials client-cred
                                #:server-name "localhost" #:timeout 10
                                #:mtu 1400)))
      (test-equal "client MTU" 1400 (session-dtls-mtu c))
      (let ((limit (session-dtls-data-mtu c)))
        (test-assert "data MTU below the MTU" (< 1300 limit 1400))
        (let ((e (capture (lambda () (dtls-send c (message 1 (+ limit 1)))))))
          (test-assert "one byte over the data MTU is refused"
            (dtls-message-too-large? e))
          (test-equal "... saying the size and the limit"
            (list (+ limit 1) limit)
            (list (dtls-message-size e) (dtls-message-limit e)))
          (test-eq "... and the session" c (dtls-message-session e)))
        (test-equal "the session goes on after a refusal" 1
          (exchange c '(500))))
      ;; The server's sessions have an MTU of 600: its echo of a message
      ;; of 1,000 bytes is refused, not cut; the client then hears
      ;; nothing of it.
      (dtls-send c (message 2 1000))
      (test-assert "a server reply over its MTU is refused"
        (net-timeout-error?
         (capture (lambda ()
                   (set-session-timeout! c 1)
                   (dtls-receive c)))))
      (set-session-timeout! c 10)
      (test-equal "the server still answers what fits" 1 (exchange c '(300)))
      ;; A buffer too small: refused and kept for the next call.
      (dtls-send c (message 4 400))
      (test-assert "a message larger than the buffer is refused"
        (dtls-message-too-large?
         (capture (lambda () (dtls-receive! c (make-bytevector 100))))))
      (let ((buf (make-bytevector 1000 0)))
        (test-equal "... and kept for the next call" 400
          (dtls-receive! c buf 10 500))
        (test-equal "... whole" (message 4 400)
          (bytevector-slice buf 400 10)))
      (test-equal "out-of-range MTU" 'out-of-range
        (error-key (set-session-dtls-mtu! c 100)))
      (test-equal "MTU of the wrong type" 'wrong-type-arg
        (error-key (set-session-dtls-mtu! c "big")))
      (test-equal "send range outside the bytevector" 'out-of-range
        (error-key (dtls-send c (make-bytevector 10) 5 6)))
      (close-dtls c)
      (join t)
      (close-dtls-server server)))

  (test-group "a server's buffer too small"
    (let* ((server (make-dtls-server "127.0.0.1" 0 #:credentials server-cred
                                     #:timeout 10))
           (t (call-with-new-thread
               (lambda ()
                 (let ((e (capture (lambda ()
                                    (dtls-server-receive! server
                                                          (make-bytevector 100)))))
                       (buf (make-bytevector 1000)))
                   (call-with-values (lambda () (dtls-server-receive! server buf))
                     (lambda (n session)
                       (list (dtls-message-too-large? e)
                             (and (dtls-message-too-large? e)
                                  (list (dtls-message-size e) (dtls-message-limit e)
                                        (eq? session (dtls-message-session e))))
                             n
                             (equal? (message 9 500)
                                     (bytevector-slice buf n)))))))))
           (c (make-dtls-client "127.0.0.1" (server-port server)
                                #:credentials client-cred
                                #:server-name "localhost" #:timeout 10)))
      (dtls-send c (message 9 500))
      (test-equal "refused with size, room and session, then delivered whole"
        '(#t (500 100 #t) 500 #t)
        (join t))
      (close-dtls c)
      (close-dtls-server server)))

  (test-group "a server closing a client's session"
    (let* ((server (make-dtls-server "127.0.0.1" 0 #:credentials server-cred
                                     #:timeout 10))
           (t (call-with-new-thread
               (lambda ()
                 (call-with-values (lambda () (dtls-server-receive server))
                   (lambda (m session) session)))))
           (c (make-dtls-client "127.0.0.1" (server-port server)
                                #:credentials client-cred
                                #:server-name "localhost" #:timeout 10)))
      (dtls-send c (message 1 10))
      (let ((session (join t)))
        (close-dtls session)
        (test-equal "the server forgot it" '() (dtls-server-sessions server))
        (test-equal "... counted as closed" 1 (stat server 'sessions-closed))
        (test-assert "its socket stays open" (not (port-closed? (dtls-server-socket server))))
        (test-assert "the client read the close_notify" (eof-object? (dtls-receive c))))
      (close-dtls c)
      (close-dtls-server server)))

  (test-group "cookies"
    (let* ((server (make-dtls-server "127.0.0.1" 0 #:credentials server-cred
                                     #:timeout 0.3))
           (client (stalled-client (server-port server))))
      (client-step! client)                     ; ClientHello
      (test-assert "nothing to receive"
        (net-timeout-error? (receive-briefly server)))
      (test-equal "the ClientHello got a cookie" 1 (stat server 'cookies-sent))
      (test-equal "no session for a client that never answered" 0
        (stat server 'sessions-opened))
      (test-equal "the server keeps nothing for it" '()
        (dtls-server-sessions server))
      ;; Datagrams from many sources, none with a cookie: still nothing.
      (let ((junk (map (lambda (i)
                         (let ((s (socket AF_INET SOCK_DGRAM 0)))
                           (sendto s (message i 80) AF_INET INADDR_LOOPBACK
                                   (server-port server))
                           s))
                       (iota 20))))
        (receive-briefly server)
        (test-equal "garbage from 20 sources: no sessions" 0
          (stat server 'sessions-opened))
        (for-each close-port junk))
      (close-port (session-transport-port client))
      (close-dtls-server server)))

  (test-group "handshake timeout"
    (let* ((server (make-dtls-server "127.0.0.1" 0 #:credentials server-cred
                                     #:timeout 0.3 #:handshake-timeout 2.5))
           (client (stalled-client (server-port server))))
      (client-step! client)                     ; ClientHello
      (receive-briefly server)                  ; cookie
      (client-step! client)                     ; ClientHello with the cookie
      (test-assert "the receive times out"
        (net-timeout-error? (receive-briefly server)))   ; the server's flight
      (test-equal "a session was made for the answered cookie" 1
        (stat server 'sessions-opened))
      ;; The client never answers: receive until the server gives up on the
      ;; handshake, for at most 15 seconds.
      (let loop ((k 0))
        (when (and (< k 50) (zero? (stat server 'handshakes-timed-out)))
          (receive-briefly server)
          (loop (+ k 1))))
      (test-assert "its flight was resent meanwhile"
        (> (stat server 'retransmissions) 0))
      (test-equal "the stalled handshake was dropped" 1
        (stat server 'handshakes-timed-out))
      (test-equal "nothing is kept" '() (dtls-server-sessions server))
      (close-port (session-transport-port client))
      (close-dtls-server server)))

  (test-group "idle clients are forgotten"
    (let* ((server (make-dtls-server "127.0.0.1" 0 #:credentials server-cred
                                     #:timeout 10 #:idle-timeout 0.5))
           (port (server-port server))
           (t (call-with-new-thread
               (lambda ()
                 (let ((c (make-dtls-client "127.0.0.1" port
                                            #:credentials client-cred
                                            #:server-name "localhost"
                                            #:timeout 10)))
                   (dtls-send c (message 1 10))
                   (usleep 1200000)           ; idle past the timeout
                   (dtls-send c (message 2 10))
                   (close-port (session-transport-port c))
                   ;; a new client tells the server to look again
                   (let ((c2 (make-dtls-client "127.0.0.1" port
                                               #:credentials client-cred
                                               #:server-name "localhost"
                                               #:timeout 10)))
                     (dtls-send c2 (message 3 10))
                     (close-dtls c2)))))))
      (let loop ((messages 0) (closed 0))
        (if (or (= closed 1) (> messages 5))
            #t
            (call-with-values (lambda () (dtls-server-receive! server (make-bytevector 100)))
              (lambda (n s)
                (if (zero? n) (loop messages (+ closed 1)) (loop (+ messages 1) closed))))))
      (join t)
      (test-equal "the silent client was forgotten as idle" 1
        (stat server 'sessions-idle))
      (close-dtls-server server)))

  (test-group "loss"
    (let* ((server (make-dtls-server "127.0.0.1" 0 #:credentials server-cred
                                     #:timeout 40))
           (relay (start-lossy-relay (getsockname (dtls-server-socket server))))
           (t (echo-server server))
           (c (make-dtls-client "127.0.0.1" (car relay)
                                #:credentials client-cred
                                #:server-name "localhost" #:timeout 40)))
      (test-equal "handshake completed through the lossy relay" 'DTLS1.2
        (session-protocol c))
      (test-equal "messages through the relay" 3 (exchange c '(10 500 1000)))
      (close-dtls c)
      (join t)
      ((caddr relay))
      (test-assert "the relay dropped the first copy of each flight"
        (>= (join (cadr relay)) 5))
      (test-assert "the server resent flights"
        (> (stat server 'datagrams) 8))
      (close-dtls-server server)))

  (test-group "two records in one datagram"
    ;; The second message is in the datagram the first came in: a read
    ;; after a read that waited must not wait for the socket first.
    (let* ((server (make-dtls-server "127.0.0.1" 0 #:credentials server-cred
                                     #:timeout 10))
           (relay (start-joining-relay (getsockname (dtls-server-socket server))))
           (t (call-with-new-thread
               (lambda ()
                 (capture
                  (lambda ()
                    (call-with-values
                        (lambda ()
                          (dtls-server-receive! server (make-bytevector 100)))
                      (lambda (n s)
                        (dtls-send s (message 1 300))
                        (dtls-send s (message 2 400))
                        ;; until the client closes
                        (dtls-server-receive! server (make-bytevector 100)))))))))
           (c (make-dtls-client "127.0.0.1" (car relay)
                                #:credentials client-cred
                                #:server-name "localhost" #:timeout 3)))
      (dtls-send c (message 0 10))
      (let* ((first (dtls-receive c))           ; waits for the joined pair
             (t0 (get-internal-real-time))
             (second (capture (lambda () (dtls-receive c))))
             (secs (/ (- (get-internal-real-time) t0)
                      internal-time-units-per-second 1.)))
        (test-equal "the first record of the joined datagram" (message 1 300)
          first)
        (test-equal "the second, from the same datagram" (message 2 400)
          second)
        (test-assert "... at once, not after a wait on the socket" (< secs 1)))
      (close-dtls c)
      (join t)
      ((caddr relay))
      (test-equal "the relay joined two records into one datagram" 1
        (join (cadr relay)))
      (close-dtls-server server)))

  (test-group "the server socket's mode"
    ;; Non-blocking underneath (the server waits itself), in the mode its
    ;; user gave it for fcntl and for what a receive does.
    (let* ((server (make-dtls-server "127.0.0.1" 0 #:credentials server-cred
                                     #:timeout 0.3))
           (sock (dtls-server-socket server))
           (flags (fcntl sock F_GETFL)))
      (test-assert "fcntl shows the socket blocking, as it was made"
        (not (logtest flags O_NONBLOCK)))
      (let ((e (capture (lambda ()
                          (dtls-server-receive! server (make-bytevector 10))))))
        (test-assert "a blocking server's receive waits, and times out"
          (net-timeout-error? e)))
      (fcntl sock F_SETFL (logior flags O_NONBLOCK))
      (test-assert "fcntl shows the mode set"
        (logtest (fcntl sock F_GETFL) O_NONBLOCK))
      (let* ((t0 (get-internal-real-time))
             (e (capture (lambda ()
                           (dtls-server-receive! server (make-bytevector 10))))))
        (test-assert "made non-blocking, a receive with nothing there raises error/again"
          (and (tls-error? e) (eqv? (tls-error-code e) error/again)))
        (test-assert "... at once"
          (< (- (get-internal-real-time) t0)
             (* 0.2 internal-time-units-per-second))))
      (fcntl sock F_SETFL flags)
      (test-assert "and blocking again: it waits again"
        (net-timeout-error?
         (capture (lambda ()
                    (dtls-server-receive! server (make-bytevector 10))))))
      (close-dtls-server server))
    ;; A client's socket likewise, once socket->dtls-client has it.
    (let* ((server (make-dtls-server "127.0.0.1" 0 #:credentials server-cred
                                     #:timeout 10))
           (t (echo-server server))
           (c (make-dtls-client "127.0.0.1" (server-port server)
                                #:credentials client-cred
                                #:server-name "localhost" #:timeout 0.3))
           (sock (session-transport-port c))
           (flags (fcntl sock F_GETFL)))
      (test-assert "a client's socket shows blocking, as it was made"
        (not (logtest flags O_NONBLOCK)))
      (test-assert "a blocking client's receive waits, and times out"
        (net-timeout-error? (capture (lambda () (dtls-receive c)))))
      (fcntl sock F_SETFL (logior flags O_NONBLOCK))
      (let* ((t0 (get-internal-real-time))
             (e (capture (lambda () (dtls-receive c)))))
        (test-assert "made non-blocking, the client's receive raises error/again at once"
          (and (tls-error? e) (eqv? (tls-error-code e) error/again)
               (< (- (get-internal-real-time) t0)
                  (* 0.2 internal-time-units-per-second)))))
      (fcntl sock F_SETFL flags)
      (test-equal "blocking again, it still talks" 1 (exchange c '(50)))
      (close-dtls c)
      (join t)
      (close-dtls-server server)))

  (test-group "timeouts"
    (let ((silent (socket AF_INET SOCK_DGRAM 0)))
      (bind silent AF_INET INADDR_LOOPBACK 0)
      (let* ((start (get-internal-real-time))
             (e (capture (lambda ()
                          (make-dtls-client "127.0.0.1"
                                            (sockaddr:port (getsockname silent))
                                            #:credentials client-cred
                                            #:server-name "localhost"
                                            #:timeout 1.5)))))
        (test-assert "a client handshake with a silent server times out"
          (net-timeout-error? e))
        (test-eq "... in the handshake" 'handshake (net-timeout-operation e))
        (test-assert "... after its time, not before"
          (>= (- (get-internal-real-time) start)
              (* 1.4 internal-time-units-per-second))))
      (test-assert "the silent server heard the retransmissions"
        (let loop ((n 0))
          (if (null? (car (select (list silent) '() '() 0)))
              (> n 1)
              (begin (recv! silent (make-bytevector 2000)) (loop (+ n 1))))))
      (close-port silent))
    (let* ((server (make-dtls-server "127.0.0.1" 0 #:credentials server-cred
                                     #:timeout 10))
           (t (echo-server server))
           (c (make-dtls-client "127.0.0.1" (server-port server)
                                #:credentials client-cred
                                #:server-name "localhost" #:timeout 0.3)))
      (test-assert "a client receive with nothing sent times out"
        (net-timeout-error? (capture (lambda () (dtls-receive c)))))
      (set-session-timeout! c 10)
      (test-equal "... and the session goes on" 1 (exchange c '(64)))
      (close-dtls c)
      (join t)
      (close-dtls-server server)))

  (test-group "verification, ALPN, client certificates"
    (let* ((server (make-dtls-server "127.0.0.1" 0 #:credentials server-cred
                                     #:timeout 3))
           (t (echo-server server)))
      (test-assert "a client trusting another CA refuses the server"
        (tls-verification-error?
         (capture (lambda ()
                   (make-dtls-client "127.0.0.1" (server-port server)
                                     #:credentials (client-credentials #:trust "other-ca")
                                     #:server-name "localhost" #:timeout 10)))))
      (test-assert "a wrong host name is refused"
        (tls-verification-error?
         (capture (lambda ()
                   (make-dtls-client "127.0.0.1" (server-port server)
                                     #:credentials client-cred
                                     #:server-name "wrong.example" #:timeout 10)))))
      (join t)
      (test-equal "the server saw both handshakes fail" 2
        (stat server 'handshakes-failed))
      (close-dtls-server server))
    (let* ((server (make-dtls-server "127.0.0.1" 0
                                     #:credentials (server-credentials "server" #:trust "ca")
                                     #:timeout 10
                                     #:alpn-protocols '("coap" "x")
                                     #:client-certificate certificate-request/require))
           (t (call-with-new-thread
               (lambda ()
                 (call-with-values (lambda () (dtls-server-receive server))
                   (lambda (bv s)
                     (list (utf8->string bv) (session-alpn-protocol s)
                           (length (session-peer-certificate-chain s))))))))
           (c (make-dtls-client "127.0.0.1" (server-port server)
                                #:credentials (client-credentials #:cert "client")
                                #:server-name "localhost" #:timeout 10
                                #:alpn-protocols '("coap"))))
      (test-equal "client ALPN" "coap" (session-alpn-protocol c))
      (dtls-send c (string->utf8 "hi"))
      (test-equal "server saw the message, ALPN and client certificate"
        '("hi" "coap" 1) (join t))
      (close-dtls c)
      (close-dtls-server server)))

  (test-group "batched receives"
    (let* ((server (make-dtls-server "127.0.0.1" 0 #:credentials server-cred
                                     #:timeout 0.2))
           (clients (handshaken-clients server 8)))
      (test-assert "eight handshakes" (every session? clients))
      (define ports (map client-port clients))
      (for-each (lambda (c k) (dtls-send c (message k (+ 100 k))))
                clients (iota 8))
      (call-with-values
          (lambda ()
            (delta server 'batches (lambda () (receive-all server 8 2000))))
        (lambda (got batches)
          (test-equal "one system call took all eight" 1 batches)
          (test-equal "each message whole, from its client, in order"
            (map (lambda (c k) (cons (client-port c) (message k (+ 100 k))))
                 clients (iota 8))
            got)))
      ;; Replies go to the right clients.
      (for-each (lambda (c) (dtls-send c (message 50 10))) clients)
      (call-with-values
          (lambda ()
            (delta server 'datagrams (lambda () (receive-all server 8 100))))
        (lambda (got datagrams)
          (test-equal "eight datagrams counted" 8 datagrams)))
      (test-equal "the server's sessions answer their own clients"
          (map (lambda (c k) (message k 20)) clients (iota 8))
          (map (lambda (c k)
                 (let ((session (find (lambda (s)
                                        (= (sockaddr:port (dtls-session-peer s))
                                           (client-port c)))
                                      (dtls-server-sessions server))))
                   (dtls-send session (message k 20))
                   (dtls-receive c)))
               clients (iota 8)))
      ;; A message too large for the buffer, and a close_notify, in the
      ;; middle of a batch; garbage from sources without a session.
      (let ((junk (map (lambda (i) (socket AF_INET SOCK_DGRAM 0)) (iota 2))))
        (dtls-send (list-ref clients 0) (message 1 100))
        (sendto (car junk) (make-bytevector 50 7) AF_INET INADDR_LOOPBACK
                (server-port server))
        (dtls-send (list-ref clients 1) (message 2 1000))
        (close-dtls (list-ref clients 2))
        (sendto (cadr junk) (make-bytevector 13 22) AF_INET INADDR_LOOPBACK
                (server-port server))
        (dtls-send (list-ref clients 3) (message 3 100))
        (call-with-values
            (lambda ()
              (delta server 'batches
                     (lambda ()
                       (let* ((first (receive-all server 2 500))
                              (rest (receive-all server 3 2000)))
                         (append first rest)))))
          (lambda (got batches)
            (test-equal "a batch of six datagrams in one call" 1 batches)
            (test-equal "the first message" (cons (list-ref ports 0)
                                                  (message 1 100))
              (car got))
            (test-assert "the second refused for the room"
              (and (dtls-message-too-large? (cadr got))
                   (= 1000 (dtls-message-size (cadr got)))))
            (test-equal "... then delivered whole"
              (cons (list-ref ports 1) (message 2 1000))
              (caddr got))
            (test-equal "the close_notify: a length of 0"
              (list (list-ref ports 2))
              (let ((r (cadddr got)))
                (and (pair? r) (zero? (bytevector-length (cdr r)))
                     (list (car r)))))
            (test-equal "the message after it"
              (cons (list-ref ports 3) (message 3 100))
              (list-ref got 4))
            (test-equal "the closed client forgotten, the others kept" 7
              (length (dtls-server-sessions server)))
            (test-equal "the garbage got cookies at most, no session" 8
              (stat server 'sessions-opened))))
        (for-each close-port junk))
      (for-each (lambda (c i) (unless (= i 2) (close-dtls c)))
                clients (iota 8))
      (close-dtls-server server)))

  (test-group "partial batches"
    (define (batched batch n size)
      "N clients each send one SIZE-byte message to a server taking BATCH
datagrams a call: return the number of calls, whether every message came
in order from its client, and the server, clients still open."
      (let* ((server (make-dtls-server "127.0.0.1" 0 #:credentials server-cred
                                       #:timeout 0.2 #:receive-batch batch))
             (clients (handshaken-clients server n)))
        (for-each (lambda (c k) (dtls-send c (message k size))) clients (iota n))
        (call-with-values
            (lambda ()
              (delta server 'batches
                     (lambda () (receive-all server n (+ size 1700)))))
          (lambda (got batches)
            (values batches
                    (equal? got (map (lambda (c k)
                                       (cons (client-port c) (message k size)))
                                     clients (iota n)))
                    server clients)))))
    (define (done server clients)
      (for-each close-dtls clients)
      (close-dtls-server server))
    (call-with-values (lambda () (batched 3 8 300))
      (lambda (batches in-order? server clients)
        (test-equal "eight datagrams, three a call: three calls" 3 batches)
        (test-assert "all of them, in order" in-order?)
        (test-assert "then a receive with nothing queued times out"
          (net-timeout-error? (receive-briefly server)))
        (done server clients)))
    (call-with-values (lambda () (batched 1 3 10))
      (lambda (batches in-order? server clients)
        (test-equal "a batch of 1: one datagram a call" 3 batches)
        (test-assert "... each delivered" in-order?)
        (done server clients))))

  (test-group "bad input"
    (let ((own! (@@ (net socket) %socket-own-nonblock!))
          (closed (socket AF_INET SOCK_DGRAM 0)))
      (close-port closed)
      (test-equal "%socket-own-nonblock! of a non-port" 'wrong-type-arg
        (error-key (own! 'socket)))
      (test-equal "%socket-own-nonblock! of a closed socket" 'wrong-type-arg
        (error-key (own! closed))))
    (let ((tls (make-session connection-end/client)))
      (test-equal "dtls-send on a TLS session" 'wrong-type-arg
        (error-key (dtls-send tls (make-bytevector 1)))))
    (test-equal "dtls-send non-session" 'wrong-type-arg
      (error-key (dtls-send 'x (make-bytevector 1))))
    (let ((server (make-dtls-server "127.0.0.1" 0 #:credentials server-cred
                                    #:timeout 3)))
      (let* ((t (echo-server server))
             (c (make-dtls-client "127.0.0.1" (server-port server)
                                  #:credentials client-cred
                                  #:server-name "localhost" #:timeout 10)))
        (test-equal "an empty message is refused" 'out-of-range
          (error-key (dtls-send c (make-bytevector 0))))
        (test-equal "an empty range is refused" 'out-of-range
          (error-key (dtls-send c (make-bytevector 10) 3 0)))
        (test-equal "dtls-receive! on a server's session" 'misc-error
          (error-key (begin
                       (dtls-send c (make-bytevector 1))
                       (dtls-receive c)
                       (dtls-receive! (car (dtls-server-sessions server))
                                      (make-bytevector 10)))))
        (close-dtls c)
        (join t)
        (close-dtls-server server)))
    (test-equal "dtls-send non-bytevector" 'wrong-type-arg
      (error-key (dtls-send (make-session connection-end/client
                                          connection-flag/datagram) "x")))
    (test-equal "dtls-send before the handshake" 'misc-error
      (error-key (let ((s (make-session connection-end/client
                                        connection-flag/datagram))
                       (u (socket AF_INET SOCK_DGRAM 0)))
                   (set-session-transport-port! s u)
                   (dtls-send s (make-bytevector 1)))))
    (test-equal "server without credentials" 'wrong-type-arg
      (error-key (make-dtls-server "127.0.0.1" 0)))
    (test-equal "server on a stream socket" 'wrong-type-arg
      (error-key (socket->dtls-server (socket AF_INET SOCK_STREAM 0)
                                      #:credentials server-cred)))
    (test-equal "server MTU out of range" 'out-of-range
      (error-key (make-dtls-server "127.0.0.1" 0 #:credentials server-cred
                                   #:mtu 70000)))
    (test-equal "receive batch of 0" 'out-of-range
      (error-key (make-dtls-server "127.0.0.1" 0 #:credentials server-cred
                                   #:receive-batch 0)))
    (test-equal "receive batch over 1024" 'out-of-range
      (error-key (make-dtls-server "127.0.0.1" 0 #:credentials server-cred
                                   #:receive-batch 1025)))
    (test-equal "receive batch not an integer" 'wrong-type-arg
      (error-key (make-dtls-server "127.0.0.1" 0 #:credentials server-cred
                                   #:receive-batch 2.5)))
    (let ((u (socket AF_INET SOCK_DGRAM 0)))
      (test-equal "receive batch of the wrong type" 'wrong-type-arg
        (error-key (socket->dtls-server u #:credentials server-cred
                                        #:receive-batch "32")))
      (close-port u))
    (test-equal "negative timeout" 'out-of-range
      (error-key (make-dtls-server "127.0.0.1" 0 #:credentials server-cred
                                   #:timeout -1)))
    (test-equal "dtls-server-receive! non-server" 'wrong-type-arg
      (error-key (dtls-server-receive! 42 (make-bytevector 10))))
    (let ((server (make-dtls-server "127.0.0.1" 0 #:credentials server-cred)))
      (test-equal "receive range outside the bytevector" 'out-of-range
        (error-key (dtls-server-receive! server (make-bytevector 10) 11)))
      (close-dtls-server server)
      (test-equal "receive on a closed server" 'wrong-type-arg
        (error-key (dtls-server-receive! server (make-bytevector 10))))
      (test-assert "closing twice is harmless"
        (begin (close-dtls-server server) #t)))
    (test-assert "the process can still make DTLS sessions" (can-still-talk?)))

  (test-group "200 clients on one thread"
    ;; UDP may drop datagrams when the server's socket buffer fills (200
    ;; handshakes at once, and a slow instrumented build): DTLS resends
    ;; handshake flights, but application messages and close_notify are
    ;; the application's to resend.  So each client resends its message
    ;; until the echo comes (skipping late echoes of its earlier ones), and
    ;; the server stops once every client is done.
    (install-suspendable-ports!)
    (let* ((clients 200)
           (messages 3)
           (server (make-dtls-server "127.0.0.1" 0 #:credentials server-cred
                                     #:timeout 2 #:handshake-timeout 60))
           (port (server-port server))
           (good 0) (bad 0) (served 0) (resent 0) (done 0))
      (setsockopt (dtls-server-socket server) SOL_SOCKET SO_RCVBUF (* 1024 1024))
      (non-blocking! (dtls-server-socket server))
      (define (echo c m earlier)
        (let try ((attempt 0))
          (dtls-send c m)
          (let wait ()
            (let ((r (with-exception-handler
                         (lambda (e)
                           (if (net-timeout-error? e) 'timeout (raise-exception e)))
                       (lambda () (dtls-receive c))
                       #:unwind? #t)))
              (cond
               ((equal? r m) #t)
               ((member r earlier) (wait))             ; a late duplicate
               ((and (eq? r 'timeout) (< attempt 10))
                (set! resent (+ resent 1))
                (try (+ attempt 1)))
               (else #f))))))
      (spawn (lambda ()
               (let ((buf (make-bytevector 2000)))
                 (let loop ((closed 0))
                   (unless (or (= closed clients)
                               (and (= done clients)
                                    (null? (dtls-server-sessions server))))
                     (call-with-values
                         (lambda ()
                           (with-exception-handler
                               (lambda (e)
                                 (if (net-timeout-error? e)
                                     (values #f #f)
                                     (raise-exception e)))
                             (lambda () (dtls-server-receive! server buf))
                             #:unwind? #t))
                       (lambda (n session)
                         (cond
                          ((not n)                      ; a quiet moment
                           (unless (= done clients) (loop closed)))
                          ((zero? n) (loop (+ closed 1)))
                          (else
                           (dtls-send session buf 0 n)
                           (set! served (+ served 1))
                           (loop closed))))))))))
      (for-each
       (lambda (i)
         (spawn (lambda ()
                  (let ((sock (socket AF_INET (logior SOCK_DGRAM SOCK_NONBLOCK) 0)))
                    (connect sock AF_INET INADDR_LOOPBACK port)
                    (let ((c (socket->dtls-client sock #:credentials client-cred
                                                  #:server-name "localhost"
                                                  #:timeout 60)))
                      (set-session-timeout! c 3)
                      (let loop ((k 0) (earlier '()))
                        (when (< k messages)
                          (let ((m (message (+ i (* 1000 k)) (+ 50 i))))
                            (if (echo c m earlier)
                                (set! good (+ good 1))
                                (set! bad (+ bad 1)))
                            (loop (+ k 1) (cons m earlier)))))
                      (close-dtls c)
                      (set! done (+ done 1)))))))
       (iota clients))
      (test-assert "the scheduler finished in time" (run-scheduler #:limit 200))
      (uninstall-suspendable-ports!)
      (format #t "# ~a messages resent after a loss; ~a of ~a closes seen~%"
              resent (stat server 'sessions-closed) clients)
      (test-equal "every message echoed intact" (* clients messages) good)
      (test-equal "no message lost or wrong" 0 bad)
      (test-assert "the server served them all" (>= served (* clients messages)))
      (test-equal "one session per client" clients (stat server 'sessions-opened))
      (test-equal "every session closed, or kept only for a lost close_notify"
        clients (+ (stat server 'sessions-closed)
                   (length (dtls-server-sessions server))))
      (close-dtls-server server)))

  ;; Issue 14: a server prints its address and how many clients it keeps.
  (test-group "printing"
    (for-each
     (lambda (host shown)
       (let* ((server (make-dtls-server host 0 #:credentials server-cred
                                        #:timeout 10))
              (where (format #f shown (server-port server))))
         (test-equal (string-append host ": address, no session yet")
           (format #f "#<dtls-server ~a 0 sessions>" where)
           (object->string server))
         (let* ((t (echo-server server))
                (c (make-dtls-client host (server-port server)
                                     #:credentials client-cred
                                     #:server-name "localhost" #:timeout 10)))
           (exchange c '(10))
           (test-equal (string-append host ": one client kept")
             (format #f "#<dtls-server ~a 1 session>" where)
             (object->string server))
           (test-equal (string-append host ": display prints the same")
             (object->string server)
             (with-output-to-string (lambda () (display server))))
           (close-dtls c)
           (join t))
         (close-dtls-server server)
         (test-equal (string-append host ": closed") "#<dtls-server closed>"
           (object->string server))))
     (list "127.0.0.1" "::1") (list "127.0.0.1:~a" "[::1]:~a")))

  (test-group "descriptors"
    (gc) (gc)
    (test-assert "no descriptor leaked" (<= (open-fd-count) (+ fds-at-start 2)))))
