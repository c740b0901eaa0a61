;;; The one-call constructors keep their promises (issue 14): accept loops
;;; that a silent client never holds up (socket-accept and tcp-accept/tls,
;;; under threads and under tests/scheduler.scm, with our clients, Python's
;;; ssl and gnutls-cli); numeric addresses verified against the
;;; certificate's IP addresses (make-client-tls-socket, tcp-connect/tls,
;;; https-get, against openssl s_server too); connection failures that name
;;; each address tried; getsockname, getpeername, fileno and select on TLS
;;; ports and TLS server sockets; TCP_NODELAY on every TLS socket they make.
;;; Certificates by certtool at test time, loopback only, port 0, every
;;; wait bounded.

(use-modules (tests harness)
             (tests tls-common)
             (tests https-common)
             (tests scheduler)
             (net socket)
             (net tls)
             (net tcp)
             (net https)
             (net error)
             (web response)
             (srfi srfi-1)
             (srfi srfi-11)
             (srfi srfi-64)
             (rnrs bytevectors)
             (ice-9 binary-ports)
             (ice-9 exceptions)
             (ice-9 match)
             (ice-9 rdelim)
             (ice-9 regex)
             (ice-9 suspendable-ports)
             (ice-9 threads))

(cert-dir)                              ; before any thread asks

(define (now) (/ (get-internal-real-time) 1. internal-time-units-per-second))

(define ca (load-x509-certificate (cert-file "ca")))
(define key (load-x509-private-key (cert-file "key")))

(define* (server-options #:key (cert "server") (handshake-us 10000000)
                         (non-blocking? #f) (required? #f))
  (server-tls-socket-options-builder
   (private-key key)
   (certificates (list (load-x509-certificate (cert-file cert))))
   (trusted-certificates (list ca))
   (client-certificate-required? required?)
   (alpn* '("echo/1"))
   (non-blocking? non-blocking?)
   (connection-timeout handshake-us)
   (read-timeout 10000000)))

(define* (client-options #:key (non-blocking? #f) (sni '()))
  (tls-socket-options-builder
   (trusted-certificates (list ca))
   (alpn* '("echo/1"))
   (sni* sni)
   (non-blocking? non-blocking?)
   (connection-timeout 10000000)
   (read-timeout 10000000)))

(define (server-port server)
  (sockaddr:port (getsockname server)))

(define (what-happened e)
  (cond ((net-timeout-error? e) (list 'timeout (net-timeout-operation e)))
        ((tls-verification-error? e) (cons 'verification (tls-verification-reasons e)))
        ((tls-error? e) (list 'tls-error (tls-error-name e)))
        (else (list 'error (exception-kind e)
                    (and (exception-with-message? e) (exception-message e))))))

(define (serve conn)
  "Read a line from CONN, answer it in capitals, close; return the line
(eof when the peer said nothing) or what went wrong."
  ;; Not dynamic-wind: a task suspended under the scheduler leaves its
  ;; extent, which would close CONN.
  (let ((result (guard (e (#t (what-happened e)))
                  (let ((line (read-line conn)))
                    (unless (eof-object? line)
                      (display (string-upcase line) conn) (newline conn)
                      (force-output conn))
                    line))))
    (false-if-exception (close-port conn))
    result))

(define (accept-loop accept-one n)
  "In a thread: accept N connections with ACCEPT-ONE, each served by a
thread of its own; the thread's value is the outcomes, in accept order."
  (call-with-new-thread
   (lambda ()
     (let loop ((i 0) (threads '()))
       (if (< i n)
           (let ((conn (accept-one)))
             (loop (+ i 1) (cons (call-with-new-thread (lambda () (serve conn)))
                                 threads)))
           (map (lambda (t) (join-thread t (+ (current-time) 30) 'hung))
                (reverse threads)))))))

(define (silent-client port)
  "A client that connects and says nothing."
  (let ((s (socket AF_INET SOCK_STREAM 0)))
    (connect s AF_INET INADDR_LOOPBACK port)
    s))

(define (timed thunk)
  "(value . seconds) of THUNK."
  (let* ((start (now)) (v (thunk)))
    (cons v (- (now) start))))

(define (tls-echo port text)
  ;; Our client: TEXT echoed, in capitals.
  (let ((c (make-client-tls-socket "localhost" port (client-options))))
    (display text c) (newline c) (force-output c)
    (let ((reply (read-line c)))
      (close-port c)
      reply)))

(define (python-echo port text)
  "Python's ssl, verifying the server against the test CA: TEXT sent,
the answer printed."
  (run-program
   "python3" "-c"
   (string-append
    "import socket, ssl, sys\n"
    "ctx = ssl.create_default_context(cafile=sys.argv[1])\n"
    "with socket.create_connection(('127.0.0.1', int(sys.argv[2])), timeout=20) as raw:\n"
    "    with ctx.wrap_socket(raw, server_hostname='localhost') as s:\n"
    "        s.sendall(sys.argv[3].encode() + b'\\n')\n"
    "        print('reply:', s.makefile().readline().strip())\n")
   (cert-file "ca") (number->string port) text))

(define (matches? rx text) (and (string? text) (string-match rx text) #t))

(define (exception-text e)
  (call-with-output-string
    (lambda (port)
      (print-exception port #f (exception-kind e) (exception-args e)))))

(define (free-loopback-port)
  (let* ((s (make-listener)) (p (sockaddr:port (getsockname s))))
    (close-port s)
    p))

(run-tests "one-call"

  (test-group "socket-accept: a silent client never delays the next (threads)"
    (let* ((server (make-server-tls-socket "127.0.0.1" 0 (server-options)))
           (port (server-port server))
           (loop (accept-loop (lambda () (socket-accept server)) 3))
           (silent (silent-client port)))
      (let ((r (timed (lambda () (tls-echo port "second")))))
        (test-equal "the second client is answered" "SECOND" (car r))
        (test-assert "at once, not after the silent one's 10 s handshake timeout"
          (< (cdr r) 3)))
      (let ((r (timed (lambda () (python-echo port "python")))))
        (test-assert "and so is Python's ssl, verifying us"
          (matches? "reply: PYTHON" (car r)))
        (test-assert "at once too" (< (cdr r) 5)))
      (close-port silent)
      (test-equal "the silent one's handshake failed in its own thread"
        '((tls-error GNUTLS_E_PREMATURE_TERMINATION) "second" "python")
        (join-thread loop (+ (current-time) 30)))
      (close-port (tls-server-socket-socket server))))

  (test-group "tcp-accept/tls: a silent client never delays the next (threads)"
    (let* ((l (tcp-listen 0 10 "127.0.0.1"))
           (port (tcp-listener-port l))
           (loop (parameterize ((tcp-handshake-timeout 10000))
                   (accept-loop (lambda ()
                                  (let-values (((in out) (tcp-accept/tls l (server-credentials)
                                                                         #:alpn '("echo/1"))))
                                    in))
                                3)))
           (silent (silent-client port)))
      (let ((r (timed (lambda ()
                        (let-values (((in out) (tcp-connect/tls "localhost" port
                                                                #:credentials (client-credentials)
                                                                #:alpn '("echo/1"))))
                          (display "chicken\n" out) (force-output out)
                          (let ((reply (read-line in))) (close-port in) reply))))))
        (test-equal "tcp-connect/tls is answered" "CHICKEN" (car r))
        (test-assert "at once" (< (cdr r) 3)))
      ;; gnutls-cli: its stdin is /dev/null, so it handshakes, reports, and
      ;; leaves.
      (let* ((start (now))
             (peer (spawn-peer "gnutls-cli" "--x509cafile" (cert-file "ca")
                               "-p" (number->string port) "--alpn=echo/1" "localhost"))
             (done (peer-wait-output peer "Handshake was completed" 8)))
        (test-assert "gnutls-cli completes its handshake at once" (and done (< (- (now) start) 5)))
        (peer-wait-exit peer 10)
        (kill-peer peer))
      (close-port silent)
      (test-equal "each connection ended in its own thread"
        '((tls-error GNUTLS_E_PREMATURE_TERMINATION) "chicken" #t)
        (match (join-thread loop (+ (current-time) 30))
          ((a b c) (list a b (or (eof-object? c) (pair? c))))
          (other other)))
      (tcp-close l)))

  (test-group "the deferred handshake keeps the documented semantics"
    (let* ((server (make-server-tls-socket "127.0.0.1" 0
                                           (server-options #:handshake-us 500000)))
           (port (server-port server))
           (silent (silent-client port))
           (conn (socket-accept server)))
      (test-assert "socket-accept returns the TLS port at once" (tls-record-port? conn))
      (let ((r (timed (lambda () (guard (e (#t (what-happened e))) (read-line conn))))))
        (test-equal "still bounded by the handshake timeout (connection-timeout)"
          '(timeout handshake) (car r))
        (test-assert "of 0.5 s" (< 0.4 (cdr r) 3)))
      (close-port conn)
      (close-port silent)
      (close-port (tls-server-socket-socket server)))

    (let* ((l (tcp-listen 0 10 "127.0.0.1"))
           (silent (silent-client (tcp-listener-port l))))
      (let-values (((in out) (parameterize ((tcp-handshake-timeout 500))
                               (tcp-accept/tls l (server-credentials)))))
        (test-equal "tcp-accept/tls: bounded by tcp-handshake-timeout as it was at the call"
          '(timeout handshake)
          (guard (e (#t (what-happened e))) (read-char in)))
        (close-port in))
      (close-port silent)
      (tcp-close l))

    (let* ((server (make-server-tls-socket "127.0.0.1" 0 (server-options #:required? #t)))
           (port (server-port server))
           (t (call-with-new-thread
               (lambda ()
                 (let* ((conn (socket-accept server))
                        (first (guard (e (#t e)) (read-line conn)))
                        (second (guard (e (#t e)) (write-char #\x conn) (force-output conn)))
                        (third (guard (e (#t e)) (handshake (record-port-session conn)))))
                   (close-port conn)
                   (list first second third))))))
      (guard (e (#t #f))
        (let ((c (make-client-tls-socket "localhost" port (client-options))))
          (display "no certificate\n" c) (force-output c)
          (read-line c)
          (close-port c)))
      (match (join-thread t (+ (current-time) 20))
        ((first second third)
         (test-assert "the port fails with the TLS error (no client certificate)"
           (tls-error? first))
         (test-assert "and every later read, write or handshake raises it again"
           (and (eq? first second) (eq? first third))))
        (other (test-assert "the server thread ended" #f)))
      (close-port (tls-server-socket-socket server)))

    (let* ((server (make-server-tls-socket "127.0.0.1" 0 (server-options)))
           (port (server-port server))
           (t (call-with-new-thread
               (lambda ()
                 (let ((conn (socket-accept server)))
                   ;; Before the handshake, which must not undo it.
                   (socket-set-read-timeout! conn 300000)
                   (let ((r (timed (lambda ()
                                     (guard (e (#t (what-happened e)))
                                       (read-line conn))))))
                     (close-port conn)
                     r)))))
           (c (make-client-tls-socket "localhost" port (client-options))))
      (match (join-thread t (+ (current-time) 20))
        ((outcome . seconds)
         (test-equal "socket-set-read-timeout! before the first read holds after the handshake"
           '(timeout read) outcome)
         (test-assert "0.3 s, not the options' 10 s" (< seconds 3)))
        (other (test-assert "the server thread ended" #f)))
      (close-port c)
      (close-port (tls-server-socket-socket server)))

    (let* ((server (make-server-tls-socket "127.0.0.1" 0 (server-options)))
           (port (server-port server))
           (t (call-with-new-thread
               (lambda ()
                 (let* ((conn (socket-accept server))
                        (session (record-port-session conn))
                        (before (session-protocol session)))
                   (handshake session)
                   (let ((alpn (session-alpn-protocol session))
                         (line (read-line conn)))
                     (display "ok\n" conn) (force-output conn)
                     (close-port conn)
                     (list before alpn line)))))))
      (test-equal "the client gets its answer" "ok" (tls-echo port "explicit"))
      (test-equal "an explicit handshake does it, once: ALPN known before any read"
        '(#f "echo/1" "explicit")
        (join-thread t (+ (current-time) 20)))
      (close-port (tls-server-socket-socket server))))

  (test-group "bye before any read or write handshakes first"
    (let* ((server (make-server-tls-socket "127.0.0.1" 0 (server-options)))
           (t (call-with-new-thread
               (lambda ()
                 (let ((conn (socket-accept server)))
                   (guard (e (#t (what-happened e)))
                     (bye (record-port-session conn) close-request/wr)
                     (close-port conn)
                     'said-goodbye)))))
           (c (make-client-tls-socket "localhost" (server-port server) (client-options))))
      (test-assert "the client reads close_notify: end of file, not a truncation"
        (eof-object? (guard (e (#t (what-happened e))) (read-line c))))
      (test-equal "the server's bye worked" 'said-goodbye (join-thread t (+ (current-time) 20)))
      (close-port c)
      (close-port (tls-server-socket-socket server))))

  (test-group "numeric addresses are verified against the certificate's IP addresses"
    (define (serve-once server)
      (call-with-new-thread
       (lambda ()
         (let* ((conn (socket-accept server))
                (line (serve-sni conn)))
           line))))
    (define (serve-sni conn)
      ;; The line read, and the server name the client sent (none for a
      ;; numeric address, RFC 6066).
      (guard (e (#t (what-happened e)))
        (let ((line (read-line conn)))
          (display "ok\n" conn) (force-output conn)
          (let ((sni (session-server-name (record-port-session conn))))
            (close-port conn)
            (list line sni)))))
    (for-each
     (lambda (family host)
       (let* ((server (make-server-tls-socket host 0 (server-options #:cert "ip")))
              (t (serve-once server))
              (c (make-client-tls-socket host (server-port server) (client-options))))
         (display "numeric\n" c) (force-output c)
         (test-equal (string-append "make-client-tls-socket " host ": verified") "ok"
           (read-line c))
         (test-equal (string-append host ": not sent as SNI") '("numeric" #f)
           (join-thread t (+ (current-time) 20)))
         (close-port c)
         (close-port (tls-server-socket-socket server))))
     (list AF_INET AF_INET6) (list "127.0.0.1" "::1"))
    (let* ((server (make-server-tls-socket "127.0.0.1" 0 (server-options #:cert "otherip")))
           (t (serve-once server)))
      (test-equal "a certificate for another IP address is refused"
        '(verification host-name-mismatch)
        (guard (e (#t (what-happened e)))
          (close-port (make-client-tls-socket "127.0.0.1" (server-port server)
                                              (client-options)))
          'accepted))
      (join-thread t (+ (current-time) 20))
      (close-port (tls-server-socket-socket server)))
    (let* ((server (make-server-tls-socket "127.0.0.1" 0 (server-options #:cert "ip")))
           (t (serve-once server)))
      (test-equal "a host name is still checked as one (sni* given)"
        '(verification host-name-mismatch)
        (guard (e (#t (what-happened e)))
          (close-port (make-client-tls-socket "127.0.0.1" (server-port server)
                                              (client-options #:sni '("localhost"))))
          'accepted))
      (join-thread t (+ (current-time) 20))
      (close-port (tls-server-socket-socket server)))

    ;; tcp-connect/tls, IPv4 and IPv6, right and wrong.
    (for-each
     (lambda (cert host target expected)
       (let* ((l (tcp-listen 0 10 host))
              (t (call-with-new-thread
                  (lambda ()
                    (let-values (((in out) (tcp-accept/tls l (server-credentials cert))))
                      (serve in))))))
         (test-equal (format #f "tcp-connect/tls ~a, ~a certificate" target cert) expected
           (guard (e (#t (what-happened e)))
             (let-values (((in out) (tcp-connect/tls (format #f target (tcp-listener-port l))
                                                     #:credentials (client-credentials))))
               (display "tcp\n" out) (force-output out)
               (let ((r (read-line in))) (close-port in) r))))
         (join-thread t (+ (current-time) 20))
         (tcp-close l)))
     '("ip" "ip" "otherip")
     '("127.0.0.1" "::1" "127.0.0.1")
     '("127.0.0.1:~a" "[::1]:~a" "127.0.0.1:~a")
     '("TCP" "TCP" (verification host-name-mismatch)))

    ;; https-get, against the 'https server with the IP certificate.
    (for-each
     (lambda (cert family host url expected)
       (let ((port (start-https-server
                    #:options `(#:certificate ,(cert-file cert) #:family ,family
                                #:host ,host #:handshake-timeout 5))))
         (test-equal (format #f "https-get ~a, ~a certificate" url cert) expected
           (guard (e (#t (what-happened e)))
             (call-with-values
                 (lambda () (https-get (format #f url port) #:ca-file (cert-file "ca")))
               (lambda (response body) (response-code response)))))))
     '("ip" "ip" "otherip")
     (list AF_INET AF_INET6 AF_INET)
     '("127.0.0.1" "::1" "127.0.0.1")
     '("https://127.0.0.1:~a/ip" "https://[::1]:~a/ip6" "https://127.0.0.1:~a/wrong")
     '(200 200 (verification host-name-mismatch)))

    ;; A real peer: openssl s_server with the IP certificate, and then
    ;; with one for another address.
    (for-each
     (lambda (cert expected)
       (let* ((port (free-loopback-port))
              (peer (spawn-peer "openssl" "s_server" "-accept"
                                (format #f "127.0.0.1:~a" port)
                                "-cert" (cert-file cert) "-key" (cert-file "key")
                                "-www" "-naccept" "1")))
         (peer-wait-output peer "ACCEPT" 10)
         (test-equal (format #f "openssl s_server, ~a certificate: make-client-tls-socket 127.0.0.1" cert)
           expected
           (guard (e (#t (what-happened e)))
             (let ((c (make-client-tls-socket "127.0.0.1" port (client-options))))
               (display "GET / HTTP/1.0\r\n\r\n" c) (force-output c)
               (let ((line (read-line c)))
                 ;; getpeername and fileno on the TLS port; TCP_NODELAY.
                 (let ((peer-port (sockaddr:port (getpeername c)))
                       (fd (fileno c))
                       (nodelay (getsockopt (session-transport-port
                                             (record-port-session c))
                                            IPPROTO_TCP TCP_NODELAY)))
                   (close-port c)
                   (list (string-prefix? "HTTP/1.0 200" line)
                         (= peer-port port) (integer? fd) (not (zero? nodelay))))))))
         (kill-peer peer)))
     '("ip" "otherip")
     '((#t #t #t #t) (verification host-name-mismatch))))

  (test-group "connection failures name each address tried"
    (let ((free (free-loopback-port)))
      (define (failure thunk)
        (guard (e (#t e)) (thunk) #f))
      (let ((e (failure (lambda () (make-client-tls-socket "127.0.0.1" free (client-options))))))
        (test-assert "refused: still &connection-refused" (connection-refused-error? e))
        (test-equal "and a system-error with ECONNREFUSED" ECONNREFUSED (net-error-errno e))
        (test-equal "make-client-tls-socket: the message names the address"
          (format #f "127.0.0.1:~a: Connection refused" free) (exception-message e))
        (test-assert "and so does what Guile prints"
          (string-contains (exception-text e) (format #f "127.0.0.1:~a" free))))
      (test-equal "catch 'system-error handlers still get errno" ECONNREFUSED
        (catch 'system-error
          (lambda () (tcp-connect/tls "localhost" free) #f)
          (lambda (key subr msg args rest) (car rest))))
      (test-equal "tcp-connect/tls: the name and the address"
        (format #f "localhost (127.0.0.1:~a): Connection refused" free)
        (exception-message (failure (lambda () (tcp-connect/tls "localhost" free)))))
      (test-equal "https-get: the address"
        (format #f "127.0.0.1:~a: Connection refused" free)
        (exception-message (failure (lambda () (https-get (format #f "https://127.0.0.1:~a/" free))))))
      (test-equal "connect-to-addresses: every address tried, and why"
        (format #f "tried [::1]:~a (Connection refused) and 127.0.0.1:~a (Connection refused)"
                free free)
        (exception-message
         (failure (lambda ()
                    (connect-to-addresses
                     (list (make-socket-address AF_INET6 1 free)
                           (make-socket-address AF_INET INADDR_LOOPBACK free))))))))
    (match (full-backlog-listener)
      ((l . held)
       (let* ((port (sockaddr:port (getsockname l)))
              (e (guard (e (#t e))
                   (make-client-tls-socket "127.0.0.1" port
                                           (tls-socket-options-builder
                                            (trusted-certificates (list ca))
                                            (connection-timeout 300000)))
                   #f)))
         (test-equal "timed out: still &net-timeout of connect" 'connect
           (and (net-timeout-error? e) (net-timeout-operation e)))
         (test-equal "and the message names the address"
           (format #f "127.0.0.1:~a: connect timed out" port)
           (and e (exception-message e))))
       (for-each close-port held)
       (close-port l))))

  (test-group "TLS ports and TLS server sockets stand for their socket"
    (let* ((server (make-server-tls-socket "127.0.0.1" 0 (server-options)))
           (inner (tls-server-socket-socket server))
           (port (server-port server)))
      (test-equal "getsockname of a TLS server socket" (getsockname inner) (getsockname server))
      (test-equal "fileno of a TLS server socket" (fileno inner) (fileno server))
      (test-equal "select on a TLS server socket: nothing waiting" '()
        (car (select (list server) '() '() 0)))
      (let* ((t (call-with-new-thread
                 (lambda ()
                   (let* ((conn (socket-accept server))
                          (names (list (getsockname conn) (getpeername conn)
                                       (fileno conn)
                                       (getsockopt (session-transport-port
                                                    (record-port-session conn))
                                                   IPPROTO_TCP TCP_NODELAY))))
                     (serve conn)
                     names))))
             (c (make-client-tls-socket "127.0.0.1" port (client-options))))
        (display "names\n" c) (force-output c)
        (read-line c)
        (match (join-thread t (+ (current-time) 20))
          ((local peer fd nodelay)
           (test-equal "an accepted TLS port: getsockname" (getpeername c) local)
           (test-equal "getpeername" (getsockname c) peer)
           (test-assert "fileno" (integer? fd))
           (test-assert "TCP_NODELAY on the accepted socket" (not (zero? nodelay))))
          (other (test-assert "the server thread ended" #f)))
        (test-equal "a client TLS port: getpeername" port (sockaddr:port (getpeername c)))
        (test-equal "fileno is its socket's"
          (fileno (session-transport-port (record-port-session c))) (fileno c))
        (test-assert "TCP_NODELAY on make-client-tls-socket's socket"
          (not (zero? (getsockopt (session-transport-port (record-port-session c))
                                  IPPROTO_TCP TCP_NODELAY))))
        (close-port c))
      (close-port inner))
    (let* ((l (tcp-listen 0 10 "127.0.0.1"))
           (t (call-with-new-thread
               (lambda ()
                 (let-values (((in out) (tcp-accept/tls l (server-credentials))))
                   (let ((nodelay (getsockopt (session-transport-port (record-port-session in))
                                              IPPROTO_TCP TCP_NODELAY))
                         (numbers (call-with-values (lambda () (tcp-port-numbers in)) list)))
                     (serve in)
                     (list nodelay numbers)))))))
      (let-values (((in out) (tcp-connect/tls "127.0.0.1" (tcp-listener-port l)
                                              #:credentials (client-credentials))))
        (test-equal "tcp-addresses on a TLS port" '("127.0.0.1" "127.0.0.1")
          (call-with-values (lambda () (tcp-addresses in)) list))
        (test-assert "TCP_NODELAY on tcp-connect/tls's socket"
          (not (zero? (getsockopt (session-transport-port (record-port-session in))
                                  IPPROTO_TCP TCP_NODELAY))))
        (display "x\n" out) (force-output out)
        (read-line in)
        (match (join-thread t (+ (current-time) 20))
          ((nodelay (local remote))
           (test-assert "TCP_NODELAY on tcp-accept/tls's socket" (not (zero? nodelay)))
           (test-equal "tcp-port-numbers on a TLS port" (tcp-listener-port l) local))
          (other (test-assert "the server thread ended" #f)))
        (close-port in))
      (tcp-close l))
    (let* ((port (start-https-server))
           (p (open-https-port (format #f "https://localhost:~a/" port)
                               #:ca-file (cert-file "ca"))))
      (test-assert "TCP_NODELAY on open-https-port's socket"
        (not (zero? (getsockopt (session-transport-port (record-port-session p))
                                IPPROTO_TCP TCP_NODELAY))))
      (close-port p)))

  (test-group "under a scheduler on one thread (tests/scheduler.scm)"
    (install-suspendable-ports!)
    (let* ((server (make-server-tls-socket "127.0.0.1" 0
                                           (server-options #:non-blocking? #t)))
           (port (server-port server))
           (silent (silent-client port))   ; queued first
           (outcomes '())
           (answer #f)
           (served-after #f)
           (start (now)))
      (spawn (lambda ()
               (let loop ((i 0))
                 (when (< i 2)
                   (let ((conn (socket-accept server)))
                     (spawn (lambda () (set! outcomes (cons (serve conn) outcomes)))))
                   (loop (+ i 1))))))
      (spawn (lambda ()
               (let ((c (make-client-tls-socket "localhost" port
                                                (client-options #:non-blocking? #t))))
                 (display "scheduled\n" c) (force-output c)
                 (set! answer (read-line c))
                 (set! served-after (- (now) start))
                 (close-port c)
                 ;; Then the silent client goes away.
                 (close-port silent))))
      (test-assert "the scheduler finishes" (run-scheduler #:limit 30))
      (test-equal "socket-accept: the second client is answered" "SCHEDULED" answer)
      (test-assert "at once, not after the silent one's handshake timeout"
        (and served-after (< served-after 3)))
      (test-equal "each connection ended in its own task, the silent one last"
        '((tls-error GNUTLS_E_PREMATURE_TERMINATION) "scheduled")
        outcomes)
      (close-port (tls-server-socket-socket server)))

    (let* ((l (tcp-listen 0 10 "127.0.0.1"))
           (port (tcp-listener-port l))
           (silent (silent-client port))
           (outcomes '())
           (client #f))
      ;; A non-blocking listener gives non-blocking connections.
      (non-blocking! (tcp-listener-socket l))
      (spawn (lambda ()
               (let loop ((i 0))
                 (when (< i 2)
                   (let-values (((in out) (parameterize ((tcp-handshake-timeout 10000))
                                            (tcp-accept/tls l (server-credentials)))))
                     (spawn (lambda () (set! outcomes (cons (serve in) outcomes)))))
                   (loop (+ i 1))))))
      ;; The client in a thread of its own, with blocking sockets.
      (set! client
            (call-with-new-thread
             (lambda ()
               (let* ((start (now))
                      (reply (let-values (((in out) (tcp-connect/tls "localhost" port
                                                                     #:credentials (client-credentials))))
                               (display "threaded\n" out) (force-output out)
                               (let ((r (read-line in))) (close-port in) r))))
                 (close-port silent)
                 (cons reply (- (now) start))))))
      (test-assert "the scheduler finishes" (run-scheduler #:limit 30))
      (match (join-thread client (+ (current-time) 20))
        ((reply . seconds)
         (test-equal "tcp-accept/tls: the second client is answered" "THREADED" reply)
         (test-assert "at once" (< seconds 3)))
        (other (test-assert "the client thread ended" #f)))
      (test-equal "each connection ended in its own task, the silent one last"
        '((tls-error GNUTLS_E_PREMATURE_TERMINATION) "threaded")
        outcomes)
      (tcp-close l))
    (uninstall-suspendable-ports!))

  (remove-cert-dir))
