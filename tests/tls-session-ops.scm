;;; The session operations after the handshake: rehandshake (TLS 1.2
;;; renegotiation asked for by our server and answered by our client in a
;;; read; under TLS 1.3 a key update), reauthenticate (TLS 1.3
;;; post-handshake authentication: our server asks, our client answers,
;;; the certificate is verified), against gnutls-cli too; their refusals
;;; and timeouts; the record port's close procedure; the chain we sent;
;;; and peer-certificate-status answering from the handshake's
;;; verification, until something changes the answer.  Blocking waits in
;;; threads, timed ones, and suspendable ones on one thread.  Real handshakes on
;;; loopback, certificates made by tests/tls-certs.sh; every wait bounded.

(use-modules (tests harness)
             (tests tls-common)
             (tests scheduler)
             (ice-9 suspendable-ports)
             (srfi srfi-1)
             (srfi srfi-11)
             (srfi srfi-64)
             (net tls)
             (net error)
             (net socket)
             (ice-9 rdelim)
             (ice-9 threads)
             (ice-9 popen)
             (ice-9 exceptions)
             (rnrs bytevectors)
             ((ice-9 binary-ports) #:select (get-bytevector-all)))

(define tls1.3 (string-append (%default-priority-string) ":-VERS-TLS1.2"))
(define tls1.2 (string-append (%default-priority-string) ":-VERS-TLS1.3"))

;; GnuTLS's GNUTLS_POST_HANDSHAKE_AUTH, the value of guile-gnutls's
;; connection-flag/post-handshake-auth (defined by (net tls) once the
;; enums are in).
(define post-handshake-auth
  (let ((m (resolve-interface '(net tls))))
    (if (module-defined? m 'connection-flag/post-handshake-auth)
        (module-ref m 'connection-flag/post-handshake-auth)
        (ash 1 14))))

(define (der file)
  (export-x509-certificate (load-x509-certificate (cert-file file))
                           x509-certificate-format/der))

(define (message-of e)
  (cond ((tls-error? e) (tls-error-message e))
        ((exception-with-message? e) (exception-message e))
        (else "")))

(define* (pair #:key (priorities tls1.3) (server-flags '()) (client-flags '())
               (client-cert #f) (server-cert "server") (timeout 5)
               server-body client-body)
  "A server thread and a client here, each made with its FLAGS; return what
the bodies returned (or raised), client first."
  (let* ((listener (loopback-listener))
         (port (listener-port listener))
         (server
          (call-with-new-thread
           (lambda ()
             (capture
              (lambda ()
                (let* ((conn (car (accept listener)))
                       (s (apply make-session connection-end/server
                                 server-flags)))
                  (set-session-timeout! s timeout)
                  (set-session-credentials!
                   s (server-credentials server-cert #:trust "ca"))
                  (set-session-priorities! s priorities)
                  (set-session-transport-port! s conn)
                  (dynamic-wind
                    (lambda () #t)
                    (lambda () (handshake s) (server-body s))
                    (lambda () (close-port conn)))))))))
         (client
          (capture
           (lambda ()
             (let ((conn (connect-loopback port))
                   (s (apply make-session connection-end/client client-flags)))
               (set-session-timeout! s timeout)
               (set-session-credentials! s (client-credentials
                                            #:cert client-cert))
               (set-session-server-name! s server-name-type/dns "localhost")
               (set-session-priorities! s priorities)
               (set-session-transport-port! s conn)
               (dynamic-wind
                 (lambda () #t)
                 (lambda () (handshake s) (client-body s))
                 (lambda () (close-port conn))))))))
    (let ((server-result (join-thread server (+ (current-time) (* 3 timeout))
                                      'server-thread-timed-out)))
      (close-port listener)
      (values client server-result))))

;; The client reads lines until the end and returns them; it answers what
;; the server asks for in the middle of those reads.
(define (read-all-lines s)
  (let ((p (session-record-port s)))
    (let loop ((acc '()))
      (let ((line (read-line p)))
        (if (eof-object? line)
            (reverse acc)
            (loop (cons line acc)))))))

(define* (server-asking op #:key (request 'request) (after (lambda (s) #t)))
  "A server body: a line, then OP (after asking for client certificates
with REQUEST), then a line saying what it saw, then close_notify."
  (lambda (s)
    (let ((p (session-record-port s)))
      (display "before\n" p)
      (force-output p)
      (when request (set-session-client-certificate-request! s request))
      (let ((r (capture (lambda () (op s) 'done))))
        (unless (exception? r)
          (display "after\n" p)
          (force-output p)
          (bye s close-request/wr))
        (list r (session-peer-certificate-chain s) (after s))))))

(run-tests "tls-session-ops"

  (cert-dir)

  ;;; rehandshake

  (let-values (((client server)
                (pair #:priorities tls1.2 #:client-cert "client"
                      #:server-body (server-asking rehandshake)
                      #:client-body read-all-lines)))
    (test-equal "TLS 1.2 rehandshake: the client read on across it"
      '("before" "after") client)
    (test-equal "the server's rehandshake returned" 'done
      (and (pair? server) (car server)))
    (test-equal "the renegotiation happened: the server now has the client's certificate"
      (list (der "client"))
      (and (pair? server) (list-head (cadr server) 1))))

  (let-values (((client server)
                (pair #:priorities tls1.2 #:client-cert "server"
                      #:server-body (server-asking rehandshake)
                      #:client-body read-all-lines)))
    (test-assert "a renegotiated client is verified: a certificate without the client purpose is refused"
      (and (pair? server) (tls-verification-error? (car server))
           (memq 'purpose-mismatch (tls-verification-reasons (car server)))))
    (test-assert "and the client's read fails with the server's alert"
      (tls-error? client)))

  (let-values (((client server)
                (pair #:priorities tls1.3
                      #:server-body (server-asking rehandshake #:request #f)
                      #:client-body read-all-lines)))
    (test-equal "TLS 1.3 rehandshake: a key update, data goes on"
      '("before" "after") client)
    (test-equal "  and it returned" 'done (and (pair? server) (car server))))

  (let-values (((client server)
                (pair #:server-body (lambda (s) (read-all-lines s))
                      #:client-body (lambda (s)
                                      (let ((r (capture (lambda () (rehandshake s)))))
                                        (close-port (session-record-port s))
                                        r)))))
    (test-assert "rehandshake on a client: a TLS error saying why"
      (and (tls-error? client)
           (string-contains (message-of client) "only a server"))))

  ;;; reauthenticate

  (let-values (((client server)
                (pair #:server-flags (list post-handshake-auth)
                      #:client-flags (list post-handshake-auth)
                      #:client-cert "client"
                      #:server-body (server-asking reauthenticate
                                                   #:after peer-certificate-status)
                      #:client-body read-all-lines)))
    (test-equal "TLS 1.3 post-handshake authentication: the client read on"
      '("before" "after") client)
    (test-equal "the server's reauthenticate returned" 'done
      (and (pair? server) (car server)))
    (test-equal "the server now has the client's certificate"
      (list (der "client")) (and (pair? server) (list-head (cadr server) 1)))
    (test-equal "verified: its status is fine" '()
      (and (pair? server) (caddr server))))

  (let-values (((client server)
                (pair #:server-flags (list post-handshake-auth)
                      #:client-flags (list post-handshake-auth)
                      #:client-cert "server"
                      #:server-body (server-asking reauthenticate)
                      #:client-body read-all-lines)))
    (test-assert "a certificate given after the handshake is verified too"
      (and (pair? server) (tls-verification-error? (car server))
           (memq 'purpose-mismatch (tls-verification-reasons (car server))))))

  (let-values (((client server)
                (pair #:server-flags (list post-handshake-auth)
                      #:client-flags (list post-handshake-auth)
                      #:server-body (server-asking reauthenticate
                                                   #:request 'require)
                      #:client-body read-all-lines)))
    (test-assert "a client with no certificate, one required: a clear TLS error"
      (and (pair? server) (tls-error? (car server))
           (tls-error-fatal? (car server))
           (string-contains (string-downcase (message-of (car server)))
                            "certificate")))
    (test-assert "  and the client sees the refusal" (tls-error? client)))

  (for-each
   (lambda (label server-flags client-flags priorities request words)
     (let-values (((client server)
                   (pair #:server-flags server-flags #:client-flags client-flags
                         #:priorities priorities #:client-cert "client"
                         #:server-body (server-asking reauthenticate
                                                      #:request request)
                         #:client-body read-all-lines)))
       (test-assert (string-append "reauthenticate refused: " label)
         (and (pair? server) (tls-error? (car server))
              (string-contains (message-of (car server)) words)))))
   '("the client did not offer it" "the server was made without the flag"
     "TLS 1.2" "no certificate request")
   (list (list post-handshake-auth) '() (list post-handshake-auth)
         (list post-handshake-auth))
   (list '() (list post-handshake-auth) (list post-handshake-auth)
         (list post-handshake-auth))
   (list tls1.3 tls1.3 tls1.2 tls1.3)
   '(request request request #f)
   '("did not offer" "made without" "needs TLS 1.3" "ask for a certificate"))

  (let-values (((client server)
                (pair #:server-body read-all-lines
                      #:client-flags (list post-handshake-auth)
                      #:client-body
                      (lambda (s)
                        (let ((r (capture (lambda () (reauthenticate s)))))
                          (close-port (session-record-port s))
                          r)))))
    (test-assert "reauthenticate on a client: nothing to answer, said clearly"
      (and (tls-error? client)
           (string-contains (message-of client) "by itself"))))

  (let-values (((client server)
                (pair #:server-flags (list post-handshake-auth)
                      #:client-flags (list post-handshake-auth)
                      #:client-cert "client" #:timeout 1
                      #:server-body
                      (lambda (s)
                        (set-session-client-certificate-request! s 'request)
                        (let* ((t0 (get-internal-real-time))
                               (r (capture (lambda () (reauthenticate s)))))
                          (cons r (/ (- (get-internal-real-time) t0)
                                     1.0 internal-time-units-per-second))))
                      ;; never reads: the request is never answered
                      #:client-body (lambda (s) (sleep 3) 'slept))))
    (test-assert "reauthenticate against a client that never answers: &net-timeout"
      (and (pair? server) (net-timeout-error? (car server))))
    (test-assert "  within its limit (1 s)"
      (and (pair? server) (< 0.8 (cdr server) 2.5))))

  ;;; against gnutls-cli

  (when (program-available? "gnutls-cli")
    (for-each
     (lambda (label op priorities flags cli-args expect)
       (let* ((listener (loopback-listener))
              (port (listener-port listener))
              (server
               (call-with-new-thread
                (lambda ()
                  (capture
                   (lambda ()
                     (let* ((conn (car (accept listener)))
                            (s (apply make-session connection-end/server flags)))
                       (set-session-timeout! s 8)
                       (set-session-credentials!
                        s (server-credentials "server" #:trust "ca"))
                       (set-session-priorities! s priorities)
                       (set-session-transport-port! s conn)
                       (handshake s)
                       (set-session-client-certificate-request! s 'require)
                       (op s)
                       (let ((chain (session-peer-certificate-chain s)))
                         (record-send s (string->utf8 "after\n"))
                         (bye s close-request/wr)
                         (close-port conn)
                         chain)))))))
              ;; gnutls-cli's standard input stays open, and silent:
              ;; GnuTLS takes application data in the middle of a
              ;; renegotiation only while it waits for the ClientHello
              ;; (gnutls-cli's own source calls the rest a race of its
              ;; design), and this is a test of the operations, not of
              ;; that.  The writer holding the FIFO open ends by its PID.
              (fifo (string-append (cert-dir) "/stdin-"
                                   (number->string (random 1000000000))))
              (out (let* ((cmd (string-append
                                "mkfifo " (shell-quote fifo) "; "
                                "sleep 20 > " (shell-quote fifo) " & w=$!; "
                                "timeout 10 gnutls-cli"
                                " --x509cafile " (shell-quote (cert-file "ca"))
                                " --x509certfile " (shell-quote (cert-file "client"))
                                " --x509keyfile " (shell-quote (cert-file "key"))
                                " -p " (number->string port) " " cli-args
                                " localhost < " (shell-quote fifo) " 2>&1; "
                                "kill $w; rm -f " (shell-quote fifo)))
                          (p (open-input-pipe cmd))
                          (o (read-string p)))
                     (close-pipe p)
                     o))
              (r (join-thread server (+ (current-time) 15) 'timed-out)))
         (close-port listener)
         (unless (and (string-contains out expect) (list? r))
           (format (current-error-port) "# gnutls-cli said: ~a~%# server: ~s~%" out r))
         (test-equal (string-append label ": the server saw gnutls-cli's certificate")
           (list (der "client")) (and (list? r) (list-head r 1)))
         (test-assert (string-append label ": gnutls-cli says so")
           (string-contains out expect))))
     '("rehandshake with gnutls-cli (TLS 1.2)"
       "reauthenticate with gnutls-cli --post-handshake-auth")
     (list rehandshake reauthenticate)
     (list tls1.2 tls1.3)
     (list '() (list post-handshake-auth))
     '("--priority NORMAL:-VERS-ALL:+VERS-TLS1.2"
       "--priority NORMAL:-VERS-ALL:+VERS-TLS1.3 --post-handshake-auth")
     '("Rehandshake was performed" "Re-auth was performed")))

  ;;; the record port's close procedure

  (let* ((calls '())
         (closed-transport? #f))
    (let-values (((client server)
                  (pair #:server-body read-all-lines
                        #:client-body
                        (lambda (s)
                          (let ((p (session-record-port s))
                                (conn (session-transport-port s)))
                            (set-session-record-port-close!
                             p (lambda (port)
                                 (set! calls (cons port calls))
                                 (set! closed-transport? (port-closed? conn))))
                            (display "line\n" p)
                            (close-port p)
                            (close-port p)
                            (let ((r (list (eq? (car calls) p)
                                           (port-closed? conn))))
                              ;; What a close procedure would do: the
                              ;; peer takes our close_notify before we go.
                              (shutdown conn 1)
                              (get-bytevector-all conn)
                              r))))))
      (test-equal "set-session-record-port-close!: called exactly once"
        1 (length calls))
      (test-equal "  with the port, after close_notify, leaving the transport to it"
        '(#t #f) client)
      (test-assert "  the transport was still open when it ran" (not closed-transport?))
      (test-equal "  the peer read the line and close_notify" '("line") server)))

  (let ((n 0))
    (let-values (((client server)
                  (pair #:server-body read-all-lines
                        #:client-body
                        (lambda (s)
                          (let ((p (session-record-port s)))
                            (session-record-port s (lambda (port) (set! n (+ n 1))))
                            (close-port p)
                            n)))))
      (test-equal "session-record-port's close argument sets it on the port made before"
        1 client)))

  (test-assert "set-session-record-port-close!: not a record port"
    (eq? 'wrong-type-arg
         (catch #t (lambda () (set-session-record-port-close! (current-output-port) display))
           (lambda (key . _) key))))
  (let ((s (make-session connection-end/client)))
    (test-assert "set-session-record-port-close!: not a procedure"
      (eq? 'wrong-type-arg
           (catch #t (lambda () (set-session-record-port-close!
                                 (session-record-port s) 42))
             (lambda (key . _) key))))
    (test-equal "session-our-certificate-chain before a handshake" '()
      (session-our-certificate-chain s)))

  ;;; the chain we sent

  (let-values (((client server)
                (pair #:server-cert "chain"
                      #:server-body (lambda (s)
                                      (let ((c (session-our-certificate-chain s)))
                                        (bye s close-request/wr)
                                        c))
                      #:client-body (lambda (s)
                                      (list (session-peer-certificate-chain s)
                                            (session-our-certificate-chain s)
                                            (read-all-lines s))))))
    (test-equal "session-our-certificate-chain: the chain we loaded, leaf first"
      (list (der "leaf-of-inter") (der "inter")) server)
    (test-equal "  what the client received" server
      (and (pair? client) (car client)))
    (test-equal "  a client that sent none: empty" '()
      (and (pair? client) (cadr client))))

  ;;; peer-certificate-status from the handshake

  ;; The client's session and credentials, after a verified handshake
  ;; with our server presenting SERVER-CERT, to CHECKS; the server reads
  ;; until the client is done.
  (define (after-verified-handshake server-cert checks)
    (let ((creds (client-credentials)))
      (tls-pair #:server-cert server-cert
                #:client-creds creds
                #:server-body read-all-lines
                #:client-body (lambda (s) (checks s creds)))))

  (after-verified-handshake
   "revoked"
   (lambda (s creds)
     (test-equal "after a verified handshake: ()" '() (peer-certificate-status s))
     (test-equal "  again, and for the name it checked" '(()  ())
       (list (peer-certificate-status s) (peer-certificate-status s "localhost")))
     (test-assert "another name is checked anew"
       (memq 'host-name-mismatch (peer-certificate-status s "www.example.org")))
     (set-certificate-credentials-x509-crl-file! creds (cert-file "crl"))
     (test-assert "a CRL added to the credentials changes the answer: revoked"
       (memq 'revoked (peer-certificate-status s)))
     (test-assert "  and for the checked name too"
       (memq 'revoked (peer-certificate-status s "localhost")))))

  (after-verified-handshake
   "server"
   (lambda (s creds)
     (test-equal "verified handshake, cached: ()" '() (peer-certificate-status s))
     (set-session-credentials! s (client-credentials #:trust "other-ca"))
     (test-assert "other credentials, trusting another root: untrusted now"
       (memq 'untrusted-issuer (peer-certificate-status s)))
     (set-session-credentials! s creds)
     (test-equal "the first credentials again: ()" '() (peer-certificate-status s))))

  ;;; One thread, non-blocking sockets, suspendable ports: the server's
  ;;; operation and the client's answer must both wait in the waiters, or
  ;;; neither side could go on.

  (install-suspendable-ports!)
  (for-each
   (lambda (label op priorities flags)
     (let* ((l (socket AF_INET (logior SOCK_STREAM SOCK_NONBLOCK) 0))
            (lines #f) (chain #f) (waits 0))
       (setsockopt l SOL_SOCKET SO_REUSEADDR 1)
       (bind l AF_INET INADDR_LOOPBACK 0)
       (listen l 4)
       (spawn (lambda ()
                (let ((conn (car (accept l)))
                      (s (apply make-session connection-end/server flags)))
                  (fcntl conn F_SETFL (logior O_NONBLOCK (fcntl conn F_GETFL)))
                  (set-session-timeout! s 5)
                  (set-session-credentials! s (server-credentials "server"
                                                                  #:trust "ca"))
                  (set-session-priorities! s priorities)
                  (set-session-transport-port! s conn)
                  (handshake s)
                  (let ((p (session-record-port s)))
                    (display "before\n" p)
                    (force-output p)
                    (set-session-client-certificate-request! s 'request)
                    (op s)
                    (set! chain (session-peer-certificate-chain s))
                    (display "after\n" p)
                    (close-port p)))
                (close-port l)))
       (spawn (lambda ()
                (let ((c (socket AF_INET (logior SOCK_STREAM SOCK_NONBLOCK) 0))
                      (s (apply make-session connection-end/client flags)))
                  (connect c (getsockname l))
                  (set-session-timeout! s 5)
                  (set-session-credentials! s (client-credentials #:cert "client"))
                  (set-session-server-name! s server-name-type/dns "localhost")
                  (set-session-priorities! s priorities)
                  (set-session-transport-port! s c)
                  (handshake s)
                  (set! lines (read-all-lines s))
                  (close-port (session-record-port s)))))
       (test-assert (string-append label ", one thread: the scheduler finishes")
         (run-scheduler #:limit 20 #:on-wait (lambda (port) (set! waits (+ waits 1)))))
       (test-equal (string-append label ", one thread: the client read on")
         '("before" "after") lines)
       (test-equal (string-append label ", one thread: the server has the certificate")
         (list (der "client")) (and (pair? chain) (list-head chain 1)))
       (test-assert (string-append label ", one thread: they waited in the waiters")
         (> waits 0))))
   '("rehandshake (TLS 1.2)" "reauthenticate (TLS 1.3)")
   (list rehandshake reauthenticate)
   (list tls1.2 tls1.3)
   (list '() (list post-handshake-auth)))

  (remove-cert-dir))
