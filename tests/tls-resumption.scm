;;; A resumed session never skips verification.  Two hosts, a.test and
;;; b.test, each with its own root; session data saved from one and
;;; offered to the other, both ways, and with the trust changed between
;;; saving and resuming: the client refuses the resumed session with the
;;; &tls-verification-error and reasons of a full handshake, and the peer
;;; sees the alert, while a legitimate resumption still resumes.  Against
;;; gnutls-serv (one ticket key per server) and our own servers (one
;;; ticket key per process, shared by servers of different hosts), TLS 1.3
;;; and 1.2.  Servers too: a resumed session meets the server's demand for
;;; a client certificate.  Peers are started and killed by PID; every
;;; wait is bounded.

(use-modules (tests harness)
             (tests tls-common)
             (srfi srfi-1)
             (srfi srfi-11)
             (srfi srfi-64)
             (net tls)
             (net error)
             (net socket)
             (ice-9 rdelim)
             (ice-9 threads)
             (ice-9 exceptions)
             (ice-9 regex)
             (rnrs bytevectors))

(define versions
  `(("TLS 1.3" ,(string-append (%default-priority-string) ":-VERS-TLS1.2")
     "NORMAL:-VERS-ALL:+VERS-TLS1.3")
    ("TLS 1.2" ,(string-append (%default-priority-string) ":-VERS-TLS1.3")
     "NORMAL:-VERS-ALL:+VERS-TLS1.2")))

(define* (our-client port name trust #:key data priorities cert)
  "Connect to loopback PORT asking for NAME, trusting TRUST (a file of
tests/tls-certs.sh), resuming DATA if given; say a line and read one
back.  Return an alist of what we saw, or the exception."
  (capture
   (lambda ()
     (let ((s (make-session connection-end/client))
           (conn (connect-loopback port)))
       (dynamic-wind
         (lambda () #t)
         (lambda ()
           (set-session-timeout! s 5)
           (set-session-credentials! s (client-credentials #:trust trust
                                                           #:cert cert))
           (set-session-server-name! s server-name-type/dns name)
           (when priorities (set-session-priorities! s priorities))
           (when data (set-session-data! s data))
           (set-session-transport-port! s conn)
           (handshake s)
           (let* ((p (session-record-port s))
                  (reply (begin (display "hello\n" p) (force-output p)
                                (read-line p)))
                  (result `((reply . ,reply)
                            (resumed . ,(session-resumed? s))
                            (data . ,(session-data s)))))
             (close-port p)
             result))
         (lambda () (close-port conn)))))))

(define (ref alist key) (and (pair? alist) (assq-ref alist key)))

(define (reasons e)
  (and (tls-verification-error? e) (tls-verification-reasons e)))

(define (same-refusal? resumed full)
  "RESUMED and FULL are verification errors with the same reasons."
  (and (tls-verification-error? resumed) (tls-verification-error? full)
       (pair? (reasons resumed))
       (equal? (reasons resumed) (reasons full))
       (equal? (tls-verification-host resumed) (tls-verification-host full))))

;;; Our servers: COUNT connections in a thread, with the certificate of
;;; CERT; HANDLER after the handshake.  A port and a thunk that joins,
;;; returning what each connection gave or raised.

(define* (our-server count cert #:key trust setup
                     (handler (lambda (s)
                                (let* ((p (session-record-port s))
                                       (line (read-line p)))
                                  (unless (eof-object? line)
                                    (display "echo\n" p)
                                    (force-output p))
                                  `((resumed . ,(session-resumed? s))
                                    (chain . ,(length
                                               (session-peer-certificate-chain
                                                s))))))))
  (let* ((listener (loopback-listener))
         (creds (server-credentials cert #:trust trust))
         (thread
          (call-with-new-thread
           (lambda ()
             (map (lambda (i)
                    (capture
                     (lambda ()
                       (let ((conn (car (accept listener)))
                             (s (make-session connection-end/server)))
                         (dynamic-wind
                           (lambda () #t)
                           (lambda ()
                             (set-session-timeout! s 5)
                             (set-session-credentials! s creds)
                             (when setup (setup s))
                             (set-session-transport-port! s conn)
                             (handshake s)
                             (handler s))
                           (lambda () (close-port conn)))))))
                  (iota count))))))
    (values (listener-port listener)
            (lambda ()
              (let ((r (join-thread thread (+ (current-time) 30) 'timeout)))
                (close-port listener)
                r)))))

(define (gnutls-serv cert priority)
  (let* ((port (free-port))
         (peer (spawn-peer "gnutls-serv" "-p" (number->string port) "--echo"
                           "--priority" priority
                           "--x509certfile" (cert-file cert)
                           "--x509keyfile" (cert-file "key")
                           "--disable-client-cert")))
    (peer-wait-port port)
    (cons port peer)))

(define (alerts-seen peer)
  (length (list-matches "fatal alert has been received" (peer-output peer))))

(define (wait-alerts peer n)
  "Wait until PEER has reported N alerts, bounded; return how many it has."
  (let loop ((i 0))
    (let ((seen (alerts-seen peer)))
      (if (or (>= seen n) (> i 250))
          seen
          (begin (usleep 20000) (loop (+ i 1)))))))

(run-tests "tls-resumption"

  (cert-dir)

  (for-each
   (lambda (version)
     (let ((name (car version)) (ours (cadr version)) (theirs (caddr version)))
       (test-group (string-append "two gnutls-serv hosts, " name)
         (let* ((a (gnutls-serv "a-test" theirs))
                (b (gnutls-serv "b-test" theirs)))
           (dynamic-wind
             (lambda () #t)
             (lambda ()
               (define (client server host trust . data)
                 (our-client (car server) host trust #:priorities ours
                             #:data (and (pair? data) (car data))))
               (let* ((first-a (client a "a.test" "ca"))
                      (first-b (client b "b.test" "b-ca"))
                      (data-a (ref first-a 'data))
                      (data-b (ref first-b 'data)))
                 (test-assert "a.test: full handshake, data saved"
                   (and (equal? (ref first-a 'reply) "hello")
                        (not (ref first-a 'resumed))
                        (bytevector? data-a)))
                 (test-assert "b.test: full handshake, data saved"
                   (and (equal? (ref first-b 'reply) "hello")
                        (bytevector? data-b)))
                 (test-equal "a.test resumes with its own data" '(#t "hello")
                   (let ((r (client a "a.test" "ca" data-a)))
                     (list (ref r 'resumed) (ref r 'reply))))
                 (test-equal "b.test resumes with its own data" '(#t "hello")
                   (let ((r (client b "b.test" "b-ca" data-b)))
                     (list (ref r 'resumed) (ref r 'reply))))
                 ;; What a full handshake says of each wrong server.
                 (let* ((full-a-for-b (client a "b.test" "b-ca"))
                        (full-b-for-a (client b "a.test" "ca"))
                        (full-a-untrusted (client a "a.test" "b-ca"))
                        (full-b-untrusted (client b "b.test" "ca"))
                        (alerts-a (wait-alerts (cdr a) 2))
                        (alerts-b (wait-alerts (cdr b) 2)))
                   (test-assert "full: a.test's server for b.test is refused"
                     (let ((r (reasons full-a-for-b)))
                       (and (memq 'host-name-mismatch r)
                            (memq 'untrusted-issuer r))))
                   (test-assert "a.test's data, asking b.test of a.test's server"
                     (same-refusal? (client a "b.test" "b-ca" data-a)
                                    full-a-for-b))
                   (test-assert "b.test's data, asking a.test of b.test's server"
                     (same-refusal? (client b "a.test" "ca" data-b)
                                    full-b-for-a))
                   (test-assert "a.test's data, trust changed to b.test's root"
                     (same-refusal? (client a "a.test" "b-ca" data-a)
                                    full-a-untrusted))
                   (test-assert "b.test's data, trust changed to a.test's root"
                     (same-refusal? (client b "b.test" "ca" data-b)
                                    full-b-untrusted))
                   (test-equal "a.test's server saw an alert for each refusal"
                     (+ alerts-a 2) (wait-alerts (cdr a) (+ alerts-a 2)))
                   (test-equal "b.test's server too"
                     (+ alerts-b 2) (wait-alerts (cdr b) (+ alerts-b 2))))
                 (test-equal "a.test still resumes afterwards" #t
                   (ref (client a "a.test" "ca" data-a) 'resumed))))
             (lambda ()
               (kill-peer (cdr a))
               (kill-peer (cdr b))))))

       ;; One ticket key per process: our server for b.test accepts the
       ;; ticket our server for a.test issued, so the resumed session
       ;; carries a.test's certificate.  The client refuses it (it must
       ;; keep session data per host), and our server sees the alert.
       (test-group (string-append "our servers of two hosts, " name)
         (let*-values (((port-a join-a) (our-server 3 "a-test"))
                       ((port-b join-b) (our-server 3 "b-test")))
           (let* ((first (our-client port-a "a.test" "ca" #:priorities ours))
                  (data (ref first 'data))
                  (legit (our-client port-a "a.test" "ca" #:priorities ours
                                     #:data data))
                  (full (our-client port-b "a.test" "ca" #:priorities ours))
                  (resumed (our-client port-b "a.test" "ca" #:priorities ours
                                       #:data data))
                  (other (our-client port-b "b.test" "b-ca" #:priorities ours
                                     #:data data))
                  (full-other (our-client port-a "b.test" "b-ca"
                                          #:priorities ours))
                  (results-a (join-a))
                  (results-b (join-b)))
             (test-equal "a.test resumed with its data" #t
               (ref legit 'resumed))
             (test-assert "b.test's server for a.test: full handshake refused"
               (memq 'host-name-mismatch (reasons full)))
             ;; It holds a.test's ticket key: as far as TLS can tell, the
             ;; server that issued the ticket, and a.test's certificate is
             ;; what the client trusts for a.test.
             (test-equal "... asked with a.test's data: resumes a.test's session"
               #t (ref resumed 'resumed))
             ;; A TLS 1.3 server takes the ticket whatever name is asked
             ;; now; a TLS 1.2 one declines it for another name (GnuTLS
             ;; compares them), and the full handshake then verifies.
             (if (equal? name "TLS 1.3")
                 (test-assert "a.test's data for b.test: the reasons of a full handshake"
                   (same-refusal? other full-other))
                 (test-equal "a.test's data for b.test: a full handshake, verified"
                   '(#f "echo") (list (ref other 'resumed) (ref other 'reply))))
             (test-equal "our a.test server resumed the legitimate one" #t
               (and (list? results-a) (ref (cadr results-a) 'resumed)))
             (test-assert "our b.test server saw the alerts, not resets"
               (and (list? results-b)
                    (every (lambda (e) (and (tls-error? e) (tls-error-alert e)))
                           (if (equal? name "TLS 1.3")
                               (list (car results-b) (caddr results-b))
                               (list (car results-b)))))))))

       ;; Servers: a ticket issued without a client certificate does not
       ;; resume into a session that requires one, nor one whose
       ;; certificate this server's trust refuses.
       (test-group (string-append "servers that ask for a certificate, " name)
         (let*-values (((port-plain join-plain)
                        (our-server 2 "server" #:trust "ca"
                                    #:setup (lambda (s)
                                              (set-session-client-certificate-request!
                                               s 'request))))
                       ((port-require join-require)
                        (our-server 3 "server" #:trust "ca"
                                    #:setup (lambda (s)
                                              (set-session-client-certificate-request!
                                               s 'require))))
                       ((port-other join-other)
                        (our-server 1 "server" #:trust "b-ca"
                                    #:setup (lambda (s)
                                              (set-session-client-certificate-request!
                                               s 'request)))))
           (let* ((no-cert (ref (our-client port-plain "localhost" "ca"
                                            #:priorities ours)
                                'data))
                  (with-cert (ref (our-client port-plain "localhost" "ca"
                                              #:priorities ours
                                              #:cert "client")
                                  'data))
                  (refused (our-client port-require "localhost" "ca"
                                       #:priorities ours #:data no-cert))
                  (full (our-client port-require "localhost" "ca"
                                    #:priorities ours))
                  (resumed (our-client port-require "localhost" "ca"
                                       #:priorities ours #:data with-cert
                                       #:cert "client"))
                  (untrusted (our-client port-other "localhost" "ca"
                                         #:priorities ours #:data with-cert
                                         #:cert "client"))
                  (plain (join-plain))
                  (require (join-require))
                  (other (join-other)))
             (test-assert "data saved, with and without a certificate"
               (and (bytevector? no-cert) (bytevector? with-cert)))
             (test-assert "no certificate: refused as in a full handshake"
               (and (list? require)
                    (tls-error? (car require)) (tls-error? (cadr require))
                    (equal? (tls-error-code (car require))
                            (tls-error-code (cadr require)))))
             (test-assert "the client saw the server's alert"
               (and (tls-error? refused) (tls-error-alert refused)
                    (eq? (tls-error-alert refused) (tls-error-alert full))))
             (test-equal "with a certificate it trusts: resumed, with the chain"
               '(#t 1)
               (and (list? require)
                    (list (ref (caddr require) 'resumed)
                          (ref (caddr require) 'chain))))
             (test-assert "a certificate this server does not trust: refused"
               (and (list? other)
                    (tls-verification-error? (car other))
                    (memq 'untrusted-issuer (reasons (car other)))))
             (test-equal "... with the alert to the client" 'unknown-ca
               (and (tls-error? untrusted) (tls-error-alert untrusted))))))))
   versions)

  (remove-cert-dir))
