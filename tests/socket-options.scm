;;; Sagittarius's (net socket) API: the options builders and the one-call
;;; constructors, plain and TLS, with real certificates made by certtool and
;;; real handshakes on loopback.  Timeouts in microseconds, as Sagittarius.

(use-modules (tests harness)
             (tests tls-common)
             (net socket)
             (net tls)
             (net error)
             (srfi srfi-64)
             (rnrs bytevectors)
             (ice-9 binary-ports)
             (ice-9 exceptions)
             (ice-9 rdelim)
             (ice-9 threads))

(define (file-bytes name)
  (call-with-input-file (cert-file name) get-bytevector-all #:binary #t))
(define (certificate name)
  (import-x509-certificate (file-bytes name) x509-certificate-format/pem))
(define key (import-x509-private-key (file-bytes "key")))
(define ca (certificate "ca"))

(define (server-options . extra)
  (apply (lambda* (#:key (alpn '()) (required? #f) (trusted '()) (cert "server"))
           (server-tls-socket-options-builder
            (private-key key)
            (certificates (list (certificate cert)))
            (alpn* alpn)
            (client-certificate-required? required?)
            (trusted-certificates trusted)
            (connection-timeout 5000000)))
         extra))

(define (serve-once server handler)
  "Accept one connection on SERVER in a thread and run HANDLER on it;
return the thread, whose value is HANDLER's or the condition raised."
  (call-with-new-thread
   (lambda ()
     (guard (e (#t e))
       (let ((conn (socket-accept server)))
         (let ((result (handler conn)))
           (close-port conn)
           result))))))

(define (echo-line conn)
  (let ((line (read-line conn)))
    (display (string-upcase line) conn)
    (newline conn)
    (force-output conn)
    line))

(define (server-port server)
  (sockaddr:port (getsockname (if (tls-server-socket? server)
                                  (tls-server-socket-socket server)
                                  server))))

(define (failure-reasons thunk)
  (guard (e ((tls-verification-error? e) (tls-verification-reasons e))
            ((tls-error? e) (list 'tls-error (tls-error-name e))))
    (thunk)
    'accepted))

(run-tests "socket-options"
  (test-group "builders"
    (let ((s (socket-options-builder (read-timeout 500000) (non-blocking? #f)))
          (t (tls-socket-options-builder (alpn* '("h2" "http/1.1")) (sni* '("example.org"))))
          (v (server-tls-socket-options-builder (client-certificate-required? #t))))
      (test-assert "socket-options?" (and (socket-options? s) (socket-options? t) (socket-options? v)))
      (test-assert "tls-socket-options?" (and (not (tls-socket-options? s))
                                              (tls-socket-options? t) (tls-socket-options? v)))
      (test-assert "server-tls-socket-options?" (and (not (server-tls-socket-options? t))
                                                     (server-tls-socket-options? v)))
      (test-assert "not options" (not (socket-options? 42))))
    (test-equal "unknown field" 'out-of-range
      (error-key (socket-options-builder (no-such-field 1))))
    (test-equal "a TLS field in plain options" 'out-of-range
      (error-key (socket-options-builder (alpn* '("h2")))))
    (test-equal "a server field in client options" 'out-of-range
      (error-key (tls-socket-options-builder (client-certificate-required? #t))))
    (test-equal "bad timeout" 'wrong-type-arg
      (error-key (socket-options-builder (read-timeout -1))))
    (test-equal "bad alpn" 'wrong-type-arg
      (error-key (tls-socket-options-builder (alpn* "h2"))))
    (test-equal "bad certificates" 'wrong-type-arg
      (error-key (tls-socket-options-builder (certificates '("not a certificate")))))
    (test-equal "every field of the server builder" #t
      (server-tls-socket-options?
       (server-tls-socket-options-builder
        (ai-family AF_INET) (ai-socktype SOCK_STREAM) (ai-flags 0) (ai-protocol 0)
        (non-blocking? #f) (connection-timeout 1000000) (read-timeout 1000000)
        (handshake #t) (private-key key) (certificates (list (certificate "server")))
        (certificate-verifier (lambda (chain host) #t)) (sni* '("localhost"))
        (alpn* '("x")) (client-certificate-required? #f) (trusted-certificates (list ca))))))

  (test-group "plain sockets"
    (let* ((server (make-server-socket "127.0.0.1" 0))
           (t (serve-once server echo-line))
           (c (make-client-socket "127.0.0.1" (server-port server)
                                  (socket-options-builder (connection-timeout 2000000)
                                                          (read-timeout 2000000)))))
      (display "plain\n" c)
      (test-equal "make-client-socket and make-server-socket" "PLAIN" (read-line c))
      (test-equal "socket-accept" "plain" (join-thread t))
      (close-port c)
      (close-port server))
    (let* ((server (make-server-socket #f "0"))
           (t (serve-once server (lambda (conn) (read-char conn))))
           (c (socket-options->client-socket
               (socket-options-builder (read-timeout 100000))
               "::1" (server-port server))))
      (test-equal "a wildcard server takes IPv6 too" AF_INET6 (sockaddr:fam (getpeername c)))
      (test-equal "read-timeout in microseconds" 'read
        (guard (e ((net-timeout-error? e) (net-timeout-operation e)))
          (read-char c)))
      (socket-set-read-timeout! c #f)
      (test-equal "socket-set-read-timeout!" #f (socket-timeout c 'read))
      (display "z" c) (force-output c)
      (test-equal "the connection is still usable" #\z (join-thread t))
      (close-port c)
      (close-port server)))

  (test-group "non-blocking? servers"
    (let ((server (make-server-socket "127.0.0.1" 0 (socket-options-builder (non-blocking? #t)))))
      (test-assert "the listening socket is non-blocking"
        (logtest O_NONBLOCK (fcntl server F_GETFL)))
      (test-equal "socket-accept with nothing waiting (no suspendable ports): #f" #f
        (socket-accept server))
      (let ((c (make-client-socket "127.0.0.1" (server-port server))))
        (select (list server) '() '() 2)
        (let ((conn (socket-accept server)))
          (test-assert "a connection accepted from it is non-blocking too"
            (logtest O_NONBLOCK (fcntl conn F_GETFL)))
          (close-port conn))
        (close-port c))
      (close-port server)))

  (test-group "TLS"
    (let* ((server (make-server-tls-socket "127.0.0.1" 0 (server-options #:alpn '("demo/1" "h2"))))
           (t (serve-once server echo-line))
           (c (make-client-tls-socket
               "localhost" (server-port server)
               (tls-socket-options-builder (trusted-certificates (list ca))
                                           (alpn* '("h2"))
                                           (read-timeout 5000000)))))
      (display "secret\n" c)
      (force-output c)
      (test-equal "a verified TLS exchange" "SECRET" (read-line c))
      (test-equal "the server got it" "secret" (join-thread t))
      (test-equal "servers take ALPN" "h2" (session-alpn-protocol (record-port-session c)))
      (test-assert "TLS 1.2 or 1.3" (memq (session-protocol (record-port-session c))
                                          '(TLS1.2 TLS1.3)))
      (close-port c)
      (close-port (tls-server-socket-socket server)))

    (let* ((server (make-server-tls-socket "127.0.0.1" 0 (server-options)))
           (t (serve-once server read-line)))
      (test-equal "a client verifies by default: the test CA is not in the system store"
        '(untrusted-issuer)
        (failure-reasons
         (lambda () (close-port (make-client-tls-socket "localhost" (server-port server))))))
      (join-thread t)
      (close-port (tls-server-socket-socket server)))

    (let* ((server (make-server-tls-socket "127.0.0.1" 0 (server-options)))
           (t (serve-once server read-line)))
      (test-assert "the host name is checked (sni* names another host)"
        (memq 'host-name-mismatch
              (failure-reasons
               (lambda ()
                 (close-port (make-client-tls-socket
                              "127.0.0.1" (server-port server)
                              (tls-socket-options-builder (trusted-certificates (list ca))
                                                          (sni* '("www.example.org")))))))))
      (join-thread t)
      (close-port (tls-server-socket-socket server)))

    (let* ((server (make-server-tls-socket "127.0.0.1" 0 (server-options)))
           (t (serve-once server read-line))
           (seen #f))
      (test-equal "a certificate-verifier refuses with its own reason"
        "not the pinned key"
        (guard (e ((tls-verification-error? e) (car (tls-verification-words e))))
          (make-client-tls-socket
           "localhost" (server-port server)
           (tls-socket-options-builder
            (trusted-certificates (list ca))
            (certificate-verifier (lambda (chain host)
                                    (set! seen (list (length chain) host))
                                    "not the pinned key"))))
          'accepted))
      (test-equal "it saw the chain and the host" '(1 "localhost") seen)
      (join-thread t)
      (close-port (tls-server-socket-socket server)))

    (let* ((server (make-server-tls-socket "127.0.0.1" 0 (server-options)))
           (t (serve-once server echo-line))
           (c (make-client-tls-socket
               "localhost" (server-port server)
               (tls-socket-options-builder
                (trusted-certificates (list ca))
                (certificate-verifier (lambda (chain host)
                                        (x509-certificate-matches-hostname? (car chain) host)))))))
      (display "ok\n" c) (force-output c)
      (test-equal "a verifier that accepts" "OK" (read-line c))
      (join-thread t)
      (close-port c)
      (close-port (tls-server-socket-socket server)))

    (let ((server (make-server-tls-socket "127.0.0.1" 0
                                          (server-options #:required? #t #:trusted (list ca)))))
      (let ((t (serve-once server echo-line)))
        (test-assert "a required client certificate is enforced"
          (guard (e ((tls-error? e) #t)
                    ((connection-reset-error? e) #t))
            (let ((c (make-client-tls-socket
                      "localhost" (server-port server)
                      (tls-socket-options-builder (trusted-certificates (list ca))))))
              ;; Under TLS 1.3 the refusal may arrive with the first read.
              (display "x\n" c) (force-output c)
              (let ((r (read-line c)))
                (close-port c)
                (eof-object? r)))))
        (test-assert "the server refused it" (exception? (join-thread t))))
      (let* ((t (serve-once server echo-line))
             (c (make-client-tls-socket
                 "localhost" (server-port server)
                 (tls-socket-options-builder (trusted-certificates (list ca))
                                             (private-key key)
                                             (certificates (list (certificate "client")))))))
        (display "with cert\n" c) (force-output c)
        (test-equal "a client presents one" "WITH CERT" (read-line c))
        (join-thread t)
        (close-port c))
      (close-port (tls-server-socket-socket server)))

    (let* ((server (make-server-tls-socket "127.0.0.1" 0 (server-options)))
           (t (serve-once server echo-line))
           (c (make-client-tls-socket
               "localhost" (server-port server)
               (tls-socket-options-builder (trusted-certificates (list ca))
                                           (handshake #f)))))
      (handshake (record-port-session c))
      (display "late\n" c) (force-output c)
      (test-equal "handshake #f leaves it to the caller" "LATE" (read-line c))
      (join-thread t)
      (close-port c)
      (close-port (tls-server-socket-socket server)))

    (let ((l (socket AF_INET SOCK_STREAM 0)))
      ;; A peer that accepts TCP but never speaks TLS.
      (bind l AF_INET INADDR_LOOPBACK 0)
      (listen l 1)
      (test-equal "connection-timeout bounds the handshake" 'handshake
        (guard (e ((net-timeout-error? e) (net-timeout-operation e)))
          (make-client-tls-socket "localhost" (sockaddr:port (getsockname l))
                                  (tls-socket-options-builder
                                   (trusted-certificates (list ca))
                                   (connection-timeout 300000)))))
      (close-port l)))

  (remove-cert-dir))
