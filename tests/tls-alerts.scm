;;; A refusal reaches the peer as an alert, never as a reset: our client
;;; refusing the server's certificate (against gnutls-serv, openssl
;;; s_server and our own server), our server refusing a client without
;;; the certificate it requires (against gnutls-cli, openssl s_client and
;;; our own client), 20 tries each, TLS 1.3 and 1.2.  The refusing side
;;; waits for the peer to take the alert in the operation's own waiting:
;;; under a scheduler the peer runs meanwhile.  Also: what alert-get says
;;; before and after alerts, and a truncation that stays reported.  Peers
;;; are started and killed by PID; every wait is bounded.

(use-modules (tests harness)
             (tests tls-common)
             (tests scheduler)
             (srfi srfi-1)
             (srfi srfi-11)
             (srfi srfi-64)
             (net tls)
             (net error)
             (net socket)
             (ice-9 rdelim)
             (ice-9 regex)
             (ice-9 threads)
             (ice-9 popen)
             (ice-9 exceptions)
             (ice-9 suspendable-ports)
             (rnrs bytevectors))

(define tries 20)

(define tls1.3 (string-append (%default-priority-string) ":-VERS-TLS1.2"))
(define tls1.2 (string-append (%default-priority-string) ":-VERS-TLS1.3"))

(define (count-matches rx text)
  (length (list-matches rx text)))

;;; Our client: connect, handshake, say a line, read one back.

(define* (our-client port #:key (trust "ca") (priorities tls1.3) cert)
  "Return what the exchange gave, or the exception it raised."
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
           (set-session-server-name! s server-name-type/dns "localhost")
           (set-session-priorities! s priorities)
           (set-session-transport-port! s conn)
           (handshake s)
           (let ((p (session-record-port s)))
             (display "hello\n" p)
             (force-output p)
             (read-line p)))
         (lambda () (close-port conn)))))))

;;; Our server: COUNT connections one after another, each handled by
;;; HANDLER after the handshake; the list of what each gave or raised.

(define* (our-server count #:key (require? #f) (priorities #f)
                     (handler (lambda (s)
                                (let ((p (session-record-port s)))
                                  (let ((line (read-line p)))
                                    (unless (eof-object? line)
                                      (display "echo\n" p)
                                      (force-output p))
                                    line)))))
  (let* ((listener (loopback-listener))
         (creds (server-credentials "server" #:trust "ca"))
         (thread
          (call-with-new-thread
           (lambda ()
             (let loop ((i 0) (results '()))
               (if (= i count)
                   (reverse results)
                   (loop (+ i 1)
                         (cons
                          (capture
                           (lambda ()
                             (let ((conn (car (accept listener)))
                                   (s (make-session connection-end/server)))
                               (dynamic-wind
                                 (lambda () #t)
                                 (lambda ()
                                   (set-session-timeout! s 5)
                                   (set-session-credentials! s creds)
                                   (when priorities
                                     (set-session-priorities! s priorities))
                                   (when require?
                                     (set-session-client-certificate-request!
                                      s 'require))
                                   (set-session-transport-port! s conn)
                                   (handshake s)
                                   (handler s))
                                 (lambda () (close-port conn))))))
                          results))))))))
    (values (listener-port listener)
            (lambda ()
              (let ((r (join-thread thread (+ (current-time) 60) 'timeout)))
                (close-port listener)
                r)))))

(define (run-held program . args)
  "Run PROGRAM with ARGS, its standard input held open (a newline every
0.1 s) until it exits, bounded; return its output."
  (let* ((cmd (string-append "while sleep 0.1; do echo; done | timeout 10 "
                             (string-join (map shell-quote (cons program args))
                                          " ")
                             " 2>&1"))
         (p (open-input-pipe cmd))
         (out (read-string p)))
    (close-pipe p)
    out))

(define (alert-of e)
  (and (tls-error? e) (tls-error-alert e)))

(define (all? pred l) (and (= (length l) tries) (every pred l)))

(run-tests "tls-alerts"

  (cert-dir)

  ;; Our client trusts another root: it refuses the server's certificate
  ;; with unknown_ca, and the server must see that alert.
  (for-each
   (lambda (version priorities)
     (test-group (string-append "our client refuses gnutls-serv, " version)
       (let* ((port (free-port))
              (peer (spawn-peer "gnutls-serv" "-p" (number->string port)
                                "--echo" "--priority" priorities
                                "--x509certfile" (cert-file "server")
                                "--x509keyfile" (cert-file "key")
                                "--disable-client-cert")))
         (dynamic-wind
           (lambda () #t)
           (lambda ()
             (test-assert "gnutls-serv is up" (peer-wait-port port))
             (let ((results (map (lambda (i)
                                   (our-client port #:trust "b-ca"
                                               #:priorities priorities))
                                 (iota tries))))
               (test-assert "we refused each time, saying why"
                 (all? (lambda (e)
                         (and (tls-verification-error? e)
                              (memq 'untrusted-issuer
                                    (tls-verification-reasons e))))
                       results)))
             (test-assert "gnutls-serv saw the alert every time"
               (peer-wait-output peer
                                 (string-append
                                  "(fatal alert has been received[^\n]*\n.*){"
                                  (number->string tries) "}")))
             (let ((log (peer-output peer)))
               (test-equal "gnutls-serv: 20 alerts" tries
                 (count-matches "fatal alert has been received" log))
               (test-equal "gnutls-serv: no reset" 0
                 (count-matches "pull function|push function|reset" log))
               ;; peer-wait-port's probe connected and left without a word.
               (test-equal "gnutls-serv: no premature end but the probe's" 1
                 (count-matches "terminated" log))))
           (lambda () (kill-peer peer))))))
   '("TLS 1.3" "TLS 1.2")
   (list "NORMAL:-VERS-ALL:+VERS-TLS1.3" "NORMAL:-VERS-ALL:+VERS-TLS1.2"))

  (for-each
   (lambda (version flag)
     (test-group (string-append "our client refuses openssl s_server, "
                                version)
       (let ((peer (spawn-peer "openssl" "s_server" "-accept" "127.0.0.1:0"
                               flag "-naccept" (number->string tries)
                               "-cert" (cert-file "server")
                               "-key" (cert-file "key") "-rev")))
         (dynamic-wind
           (lambda () #t)
           (lambda ()
             (let* ((m (peer-wait-output peer "ACCEPT 127.0.0.1:([0-9]+)"))
                    (port (and m (string->number (match:substring m 1)))))
               (test-assert "s_server is up" port)
               (let ((results (map (lambda (i)
                                     (our-client port #:trust "b-ca"
                                                 #:priorities
                                                 (if (equal? flag "-tls1_3")
                                                     tls1.3 tls1.2)))
                                   (iota tries))))
                 (test-assert "we refused each time"
                   (all? tls-verification-error? results)))
               ;; s_server exits after its connections; its output is
               ;; complete then.
               (test-assert "s_server served them all" (peer-wait-exit peer 15))
               (let ((log (peer-output peer)))
                 ;; 48 is unknown_ca.
                 (test-equal "s_server saw the alert every time" tries
                   (count-matches "alert number 48" log))
                 (test-equal "s_server: no reset" 0
                   (count-matches "reset|unexpected eof" log)))))
           (lambda () (kill-peer peer))))))
   '("TLS 1.3" "TLS 1.2")
   '("-tls1_3" "-tls1_2"))

  (for-each
   (lambda (version priorities)
     (test-group (string-append "our client refuses our server, " version)
       (let-values (((port join) (our-server tries #:priorities priorities)))
         (let ((results (map (lambda (i)
                               (our-client port #:trust "b-ca"
                                           #:priorities priorities))
                             (iota tries))))
           (test-assert "the client refused each time"
             (all? tls-verification-error? results)))
         (let ((results (join)))
           (test-assert "our server saw unknown-ca every time"
             (and (list? results)
                  (all? (lambda (e) (eq? (alert-of e) 'unknown-ca))
                        results)))))))
   '("TLS 1.3" "TLS 1.2")
   (list tls1.3 tls1.2))

  ;; Our server requires a client certificate; the clients have none.
  ;; Under TLS 1.3 the client has finished its handshake when the refusal
  ;; comes, and sees the alert on its first read.
  (for-each
   (lambda (version priorities alert gnutls-alert openssl-alert)
     (test-group (string-append "our server refuses gnutls-cli, " version)
       (let-values (((port join) (our-server tries #:require? #t
                                             #:priorities priorities)))
         (let ((outputs (map (lambda (i)
                               (run-held "gnutls-cli"
                                         "--x509cafile" (cert-file "ca")
                                         "--priority" priorities
                                         "-p" (number->string port)
                                         "localhost"))
                             (iota tries))))
           (test-assert "gnutls-cli saw the alert every time"
             (all? (lambda (out)
                     (string-contains out (string-append "Received alert ["
                                                         gnutls-alert "]")))
                   outputs)))
         (let ((results (join)))
           (test-assert "our server refused each"
             (and (list? results) (all? tls-error? results))))))
     (test-group (string-append "our server refuses openssl s_client, "
                                version)
       (let-values (((port join) (our-server tries #:require? #t
                                             #:priorities priorities)))
         (let ((outputs (map (lambda (i)
                               (run-held "openssl" "s_client"
                                         "-connect"
                                         (string-append "127.0.0.1:"
                                                        (number->string port))
                                         "-servername" "localhost"
                                         "-CAfile" (cert-file "ca")
                                         (if (eq? alert 'certificate-required)
                                             "-tls1_3" "-tls1_2")
                                         "-quiet"))
                             (iota tries))))
           (test-assert "s_client saw the alert every time"
             (all? (lambda (out)
                     (string-contains out (string-append "alert "
                                                         openssl-alert)))
                   outputs)))
         (join)))
     (test-group (string-append "our server refuses our client, " version)
       (let-values (((port join) (our-server tries #:require? #t
                                             #:priorities priorities)))
         (let ((results (map (lambda (i)
                               (our-client port #:priorities priorities))
                             (iota tries))))
           (test-assert (string-append "our client saw " (symbol->string alert)
                                       " every time")
             (all? (lambda (e) (eq? (alert-of e) alert)) results)))
         (join))))
   '("TLS 1.3" "TLS 1.2")
   (list tls1.3 tls1.2)
   '(certificate-required handshake-failure)
   '("116" "40")
   '("certificate required" "handshake failure"))

  (test-group "the wait for the peer to take the alert is bounded"
    ;; A server that stays silent after our refusal: the handshake still
    ;; raises the verification error, not a timeout, in a fifth of a
    ;; second or so.
    (let* ((listener (loopback-listener))
           (port (listener-port listener))
           (server (call-with-new-thread
                    (lambda ()
                      (capture
                       (lambda ()
                         (let ((conn (car (accept listener)))
                               (s (make-session connection-end/server)))
                           (set-session-timeout! s 5)
                           (set-session-credentials! s (server-credentials))
                           (set-session-transport-port! s conn)
                           (capture (lambda () (handshake s)))
                           (usleep 1500000)
                           (close-port conn)))))))
           (start (get-internal-real-time))
           (r (our-client port #:trust "b-ca"))
           (took (/ (- (get-internal-real-time) start) 1.
                    internal-time-units-per-second)))
      (join-thread server (+ (current-time) 10))
      (close-port listener)
      (test-assert "verification error" (tls-verification-error? r))
      (test-assert "within a second, not the peer's 1.5 s" (< took 1.0))))

  (test-group "under a scheduler, the peer runs while we wait"
    ;; Both sides in tasks of one thread, on non-blocking sockets: the
    ;; server can read our alert only if the refusing client waits for it
    ;; in the scheduler rather than in C.  So the server's error comes
    ;; first, and the client's refusal ends when the server closes.
    (install-suspendable-ports!)
    (let* ((listener (non-blocking-listener))
           (port (listener-port listener))
           (events '())
           (server-error #f) (client-error #f))
      (define (note! what) (set! events (cons what events)))
      (spawn (lambda ()
               (let ((conn (car (accept listener)))
                     (s (make-session connection-end/server)))
                 (non-blocking! conn)
                 (set-session-timeout! s 5)
                 (set-session-credentials! s (server-credentials))
                 (set-session-transport-port! s conn)
                 (set! server-error (capture (lambda () (handshake s))))
                 (note! 'server-saw-alert)
                 (close-port conn))))
      (spawn (lambda ()
               (let ((conn (socket AF_INET (logior SOCK_STREAM SOCK_NONBLOCK)
                                   0))
                     (s (make-session connection-end/client)))
                 (connect conn AF_INET INADDR_LOOPBACK port)
                 (set-session-timeout! s 5)
                 (set-session-credentials! s (client-credentials
                                              #:trust "b-ca"))
                 (set-session-server-name! s server-name-type/dns "localhost")
                 (set-session-transport-port! s conn)
                 (set! client-error (capture (lambda () (handshake s))))
                 (note! 'client-refused)
                 (close-port conn))))
      (test-assert "the scheduler finished" (run-scheduler #:limit 20))
      (uninstall-suspendable-ports!)
      (close-port listener)
      (test-assert "the client refused" (tls-verification-error? client-error))
      (test-equal "the server saw unknown-ca" 'unknown-ca
        (alert-of server-error))
      (test-equal "the server took the alert while the client waited"
        '(server-saw-alert client-refused) (reverse events))))

  (test-group "a session made with connection-flag/nonblock"
    ;; guile-gnutls style: handshake raises error/again while the alert is
    ;; delivered; waiting as record-get-direction says and calling again
    ;; ends with the verification error.
    (let-values (((port join) (our-server 1)))
      (let* ((conn (socket AF_INET (logior SOCK_STREAM SOCK_NONBLOCK) 0))
             (s (make-session connection-end/client connection-flag/nonblock))
             (agains 0))
        (catch 'system-error
          (lambda () (connect conn AF_INET INADDR_LOOPBACK port))
          (lambda args #t))
        (select '() (list conn) '() 5)
        (set-session-credentials! s (client-credentials #:trust "b-ca"))
        (set-session-server-name! s server-name-type/dns "localhost")
        (set-session-transport-port! s conn)
        (let ((r (capture
                  (lambda ()
                    (let loop ((n 0))
                      (if (> n 1000)
                          'too-many-agains
                          (let ((e (capture (lambda () (handshake s) 'done))))
                            (if (and (tls-error? e)
                                     (eqv? (tls-error-code e) error/again))
                                (begin
                                  (set! agains (+ agains 1))
                                  (if (zero? (record-get-direction s))
                                      (select (list conn) '() '() 1)
                                      (select '() (list conn) '() 1))
                                  (loop (+ n 1)))
                                e)))))))
              (results (join)))
          (close-port conn)
          (test-assert "the verification error in the end"
            (tls-verification-error? r))
          (test-equal "the server saw unknown-ca" 'unknown-ca
            (and (list? results) (alert-of (car results))))))))

  (test-group "alert-get against gnutls-cli"
    (let-values (((port join)
                  (our-server 1 #:handler
                              (lambda (s)
                                (let* ((p (session-record-port s))
                                       (before (alert-get s))
                                       (line (read-line p))
                                       (at-eof (read-line p)))
                                  (list before line at-eof (alert-get s)))))))
      ;; gnutls-cli says one line, then sends close_notify at the end of
      ;; its input.
      (let* ((p (open-input-pipe
                 (string-append "{ printf 'one line\\n'; sleep 0.5; } | "
                                "timeout 10 gnutls-cli --x509cafile "
                                (shell-quote (cert-file "ca")) " -p "
                                (number->string port)
                                " localhost 2>&1")))
             (out (read-string p)))
        (close-pipe p)
        (let ((r (join)))
          (test-equal "#f before any alert" #f
            (and (list? r) (pair? (car r)) (car (car r))))
          (test-equal "the line" "one line"
            (and (list? r) (pair? (car r)) (cadr (car r))))
          (test-assert "close_notify read as end of file"
            (and (list? r) (pair? (car r)) (eof-object? (caddr (car r)))))
          (test-equal "then close-notify" 'close-notify
            (and (list? r) (pair? (car r)) (cadddr (car r))))))))

  (test-group "alert-get in-process"
    (let-values (((c s) (tls-pair
                         #:client-body
                         (lambda (s)
                           (let ((p (session-record-port s)))
                             (display "ping\n" p)
                             (force-output p)
                             (read-line p)
                             (alert-get s)))
                         #:server-body
                         (lambda (s)
                           (let ((p (session-record-port s))
                                 (alert (alert-get s)))
                             (read-line p)
                             (display "pong\n" p)
                             (force-output p)
                             alert)))))
      (test-equal "client: #f after a clean handshake" #f c)
      (test-equal "server: #f after a clean handshake" #f s))
    (let ((session #f))
      (let-values (((c s) (tls-pair #:client-creds (client-credentials
                                                    #:trust "b-ca")
                                    #:server-setup
                                    (lambda (s) (set! session s)))))
        (test-assert "client refused" (tls-verification-error? c))
        (test-equal "server: alert-get names the alert" 'unknown-ca
          (alert-get session)))))

  (test-group "a truncation stays reported"
    ;; gnutls-cli killed mid-session: the connection ends without
    ;; close_notify.  TLS 1.2, so that no ticket follows the handshake
    ;; unread (the kill would then reset the connection instead).
    (let-values (((port join)
                  (our-server
                   1 #:handler
                   (lambda (s)
                     (let* ((p (session-record-port s))
                            (line (read-line p))
                            (reads (map (lambda (i)
                                          (capture (lambda () (read-line p))))
                                        (iota 3)))
                            (buf (make-bytevector 10)))
                       (list line reads
                             (capture (lambda () (record-receive! s buf)))))))))
      (let* ((fifo (string-append (cert-dir) "/gnutls-cli-input"))
             (peer (begin
                     (mknod fifo 'fifo #o600 0)
                     (spawn-peer "sh" "-c"
                                 (string-append
                                  "exec gnutls-cli --x509cafile "
                                  (shell-quote (cert-file "ca"))
                                  " --priority NORMAL:-VERS-ALL:+VERS-TLS1.2"
                                  " -p " (number->string port) " localhost <"
                                  (shell-quote fifo)))))
             ;; Its input: open once gnutls-cli's shell has opened the
             ;; FIFO for reading (until then ENXIO), bounded.
             (input (let loop ((n 0))
                      (or (false-if-exception
                           (open fifo (logior O_WRONLY O_NONBLOCK)))
                          (and (< n 250) (begin (usleep 20000)
                                                (loop (+ n 1))))))))
        (test-assert "gnutls-cli runs" input)
        (when input
          (display "first\n" input)
          (force-output input))
        (test-assert "gnutls-cli connected"
          (peer-wait-output peer "Handshake was completed" 10))
        (usleep 300000)
        (kill (car peer) SIGKILL)          ; gnutls-cli itself: sh exec'd it
        (let ((r (join)))
          (kill-peer peer)
          (when input (close-port input))
          (test-equal "the line before the cut" "first"
            (and (list? r) (pair? (car r)) (car (car r))))
          (test-assert "every later read of the port: the truncation"
            (and (list? r) (pair? (car r))
                 (every tls-premature-termination? (cadr (car r)))))
          (test-assert "and record-receive! too"
            (and (list? r) (pair? (car r))
                 (tls-premature-termination? (caddr (car r)))))))))

  (remove-cert-dir))
