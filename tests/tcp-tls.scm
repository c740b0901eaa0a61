;;; (net tcp)'s TLS twins: tcp-connect/tls and tcp-accept/tls, with the
;;; same parameters plus the handshake timeout.

(use-modules (tests harness)
             (tests tls-common)
             (net tcp)
             (net tls)
             (net error)
             (net socket)
             (srfi srfi-64)
             (srfi srfi-11)
             (ice-9 exceptions)
             (ice-9 rdelim)
             (ice-9 threads))

(define (accept-in-thread listener . args)
  (call-with-new-thread
   (lambda ()
     (guard (e (#t e))
       (let-values (((in out) (apply tcp-accept/tls listener (server-credentials) args)))
         (let ((line (read-line in)))
           (display (string-upcase line) out)
           (newline out)
           (force-output out)
           (close-port in)
           line))))))

;; Make the certificates before any thread asks for them.
(cert-dir)

(run-tests "tcp-tls"
  (let* ((l (tcp-listen 0 10 "127.0.0.1"))
         (t (accept-in-thread l #:alpn '("x/1"))))
    (let-values (((in out) (tcp-connect/tls "localhost" (tcp-listener-port l)
                                            #:credentials (client-credentials)
                                            #:alpn '("x/1"))))
      (test-assert "one TLS port as input and output" (eq? in out))
      (display "twin\n" out)
      (force-output out)
      (test-equal "a verified exchange" "TWIN" (read-line in))
      (test-equal "ALPN" "x/1" (session-alpn-protocol (record-port-session in)))
      (test-assert "a session prints its side, protocol, cipher and peer"
        (let ((text (format #f "~a" (record-port-session in))))
          (and (string-prefix? "#<session client TLS1." text)
               (string-contains text "GCM")
               (string-contains text "peer localhost"))))
      (test-equal "the server read it" "twin" (join-thread t))
      (close-port in))
    (tcp-close l))

  (let* ((l (tcp-listen 0 10 "127.0.0.1"))
         (t (accept-in-thread l)))
    (test-assert "verification by default: the test CA is not trusted by the system"
      (guard (e ((tls-verification-error? e)
                 (memq 'untrusted-issuer (tls-verification-reasons e))))
        (tcp-connect/tls (format #f "localhost:~a" (tcp-listener-port l)))
        #f))
    (join-thread t)
    (tcp-close l))

  (let* ((l (tcp-listen 0 10 "127.0.0.1"))
         (t (accept-in-thread l)))
    (test-assert "the server name is checked"
      (guard (e ((tls-verification-error? e)
                 (memq 'host-name-mismatch (tls-verification-reasons e))))
        (tcp-connect/tls "127.0.0.1" (tcp-listener-port l)
                         #:credentials (client-credentials)
                         #:server-name "www.example.org")
        #f))
    (join-thread t)
    (tcp-close l))

  (let* ((l (tcp-listen 0 10 "127.0.0.1"))
         (t (call-with-new-thread
             (lambda ()
               (let-values (((in out) (tcp-accept/tls l (server-credentials))))
                 (let ((requested (session-server-name (record-port-session in))))
                   (read-line in)
                   (close-port in)
                   requested))))))
    (let-values (((in out) (tcp-connect/tls "127.0.0.1" (tcp-listener-port l)
                                            #:credentials (client-credentials)
                                            #:server-name "127.0.0.1")))
      (test-assert "a numeric server name is verified against the certificate"
        (port? in))
      (display "x\n" out) (force-output out)
      (test-equal "but not sent as SNI (RFC 6066)" #f (join-thread t))
      (close-port in))
    (tcp-close l))

  (let ((l (tcp-listen 0 10 "127.0.0.1")))
    ;; A server that accepts TCP and never answers the handshake.
    (parameterize ((tcp-handshake-timeout 300))
      (let ((t (call-with-new-thread (lambda () (call-with-values (lambda () (tcp-accept l)) list)))))
        (test-equal "the handshake timeout holds" 'handshake
          (guard (e ((net-timeout-error? e) (net-timeout-operation e)))
            (tcp-connect/tls "localhost" (tcp-listener-port l)
                             #:credentials (client-credentials))))
        (for-each close-port (join-thread t))))
    (parameterize ((tcp-handshake-timeout 300))
      (let ((t (call-with-new-thread
                (lambda ()
                  (let-values (((in out) (tcp-accept/tls l (server-credentials))))
                    ;; The handshake is the first read's (issue 14).
                    (guard (e ((net-timeout-error? e) (net-timeout-operation e)))
                      (read-line in)))))))
        ;; A client that connects and sends nothing.
        (let-values (((in out) (tcp-connect "127.0.0.1" (tcp-listener-port l))))
          (test-equal "a silent client times out on the server" 'handshake
            (join-thread t))
          (close-port in) (close-port out))))
    (tcp-close l))

  (let* ((l (tcp-listen 0 10 "127.0.0.1"))
         (t (accept-in-thread l #:client-certificate 'require)))
    (test-assert "a required client certificate"
      (guard (e ((tls-error? e) #t) ((connection-reset-error? e) #t))
        (let-values (((in out) (tcp-connect/tls "localhost" (tcp-listener-port l)
                                                #:credentials (client-credentials))))
          (display "x\n" out) (force-output out)
          (let ((r (read-line in))) (close-port in) (eof-object? r)))))
    (join-thread t)
    (tcp-close l))

  (test-equal "bad client-certificate mode" 'out-of-range
    (let ((l (tcp-listen 0 10 "127.0.0.1")))
      (let ((c (call-with-new-thread
                (lambda () (false-if-exception
                            (call-with-values (lambda () (tcp-connect "127.0.0.1" (tcp-listener-port l))) list))))))
        (let ((key (error-key (tcp-accept/tls l (server-credentials) #:client-certificate 'maybe))))
          (let ((ports (join-thread c))) (when ports (for-each close-port ports)))
          (tcp-close l)
          key))))
  (remove-cert-dir))
