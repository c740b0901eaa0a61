;;; DTLS interoperability with programs we did not write, both directions,
;;; over 127.0.0.1 and ::1: our make-dtls-client against `gnutls-serv
;;; --udp' and `openssl s_server -dtls1_2'; our make-dtls-server against
;;; `gnutls-cli --udp' and `openssl s_client -dtls1_2'.  Peers are started
;;; and killed by PID; every wait is bounded (our sessions and servers by
;;; their timeouts, the programs by `timeout' or kill-peer).
;;;
;;; What the peers do, as seen with GnuTLS 3.7.9 and OpenSSL 3.0:
;;; - gnutls-serv cannot be told to bind port 0, so it gets a port the
;;;   kernel just released (free-port, as tests/tls-interop.scm does).  It
;;;   binds every address (0.0.0.0 and ::), and says "UDP Echo Server
;;;   listening on IPv4 ... done" when ready.  It answers a ClientHello
;;;   without a cookie with a HelloVerifyRequest, which our client follows.
;;;   Its --echo on UDP sends each message back in pieces of at most 254
;;;   bytes (it reads 254 at a time): messages up to 254 bytes come back as
;;;   one datagram, byte for byte (NULs and CRLF included); a longer one
;;;   comes back as several, whose concatenation is the message.
;;; - gnutls-cli --udp sends what one read of its stdin gives as one
;;;   message, so the lines are written with a pause between them; at the
;;;   end of its stdin it sends close_notify and exits.
;;; - openssl s_server has no echo for DTLS ("Can't use -rev with DTLS"):
;;;   it writes what it receives to its stdout and sends what it reads on
;;;   its stdin, here a FIFO we write to.  s_client with -quiet ignores the
;;;   end of its stdin, so our server closes the session after echoing
;;;   the last line, and s_client exits on that close_notify.

(use-modules (tests harness)
             (tests tls-common)
             (srfi srfi-1)
             (srfi srfi-11)
             (srfi srfi-64)
             (net socket)
             (net tls)
             (net dtls)
             (net error)
             (rnrs bytevectors)
             (ice-9 rdelim)
             (ice-9 regex)
             (ice-9 threads)
             (ice-9 popen)
             (ice-9 exceptions))

(define server-cred (server-credentials))
(define client-cred (client-credentials))

(define (raised thunk)
  (with-exception-handler (lambda (e) e) thunk #:unwind? #t))

(define-syntax-rule (skip-missing)
  (begin (test-skip 1) (test-assert "the program is installed" #f)))

(define (with-peer peer proc)
  (dynamic-wind (lambda () #t)
                (lambda () (proc peer))
                (lambda () (kill-peer peer))))

(define (diagnose what text)
  "Show TEXT as TAP comments; return #f."
  (for-each (lambda (line) (format #t "# ~a: ~a~%" what line))
            (string-split text #\newline))
  #f)

(define (matches? rx text) (and (string? text) (string-match rx text) #t))

(define (bytes . lists) (u8-list->bytevector (concatenate lists)))

(define (concat-bytevectors bvs)
  (let* ((n (apply + (map bytevector-length bvs)))
         (out (make-bytevector n)))
    (let loop ((bvs bvs) (at 0))
      (if (null? bvs)
          out
          (begin
            (bytevector-copy! (car bvs) 0 out at (bytevector-length (car bvs)))
            (loop (cdr bvs) (+ at (bytevector-length (car bvs)))))))))

;; The messages sent to echo servers: text, every byte value (NUL
;; included), CRLF, and the 254-byte maximum gnutls-serv echoes whole.
(define small-messages
  (list (string->utf8 "hello, gnutls-serv\n")
        (bytes (iota 200))
        (string->utf8 "two\r\nlines\r\n")
        (bytes (iota 254 1))))

(define (ipv6-loopback?)
  "Whether ::1 can be bound here."
  (false-if-exception
   (let ((s (socket AF_INET6 SOCK_DGRAM 0)))
     (bind s AF_INET6 1 0)
     (close-port s)
     #t)))

(define hosts (if (ipv6-loopback?) '("127.0.0.1" "::1") '("127.0.0.1")))

;;; Our client.

(define* (our-client host port #:key (name "localhost") (timeout 5))
  (make-dtls-client host port #:credentials client-cred #:server-name name
                    #:timeout timeout))

(define (receive-all session seconds)
  "The messages SESSION receives until SECONDS pass without one."
  (set-session-timeout! session seconds)
  (let loop ((acc '()))
    (let ((m (raised (lambda () (dtls-receive session)))))
      (if (bytevector? m)
          (loop (cons m acc))
          (reverse acc)))))

;;; Our server: an echo loop in a thread.

(define* (our-echo-server host #:key (close-on #f) (clients 1)
                          (seconds 15))
  "Start a DTLS echo server on HOST, port 0, in a thread; return its port
and a thunk that joins the thread, returning an alist of what it saw (or
the exception that ended it).  It stops once CLIENTS clients have closed
or failed their handshake, or after SECONDS.  With CLOSE-ON, a string, it closes a
session itself after echoing a message that ends with it."
  (let* ((server (make-dtls-server host 0 #:credentials server-cred
                                   #:timeout 0.2))
         (port (sockaddr:port (getsockname (dtls-server-socket server))))
         (end (+ (get-internal-real-time)
                 (* seconds internal-time-units-per-second)))
         (thread
          (call-with-new-thread
           (lambda ()
             (raised
              (lambda ()
                (let loop ((messages '()) (protocols '()) (we-closed 0))
                  (define (done?)
                    (let ((s (dtls-server-statistics server)))
                      (or (>= (+ (assq-ref s 'sessions-closed)
                                 (assq-ref s 'handshakes-failed)
                                 we-closed)
                              clients)
                          (> (get-internal-real-time) end))))
                  (if (done?)
                      (let ((stats (dtls-server-statistics server)))
                        (close-dtls-server server)
                        `((messages . ,(reverse messages))
                          (protocols . ,(reverse protocols))
                          (stats . ,stats)))
                      (let-values (((m session)
                                    ;; short slices, so done? is checked
                                    ;; after a handshake fails too
                                    (with-exception-handler
                                        (lambda (e)
                                          (if (net-timeout-error? e)
                                              (values #f #f)
                                              (raise-exception e)))
                                      (lambda () (dtls-server-receive server))
                                      #:unwind? #t)))
                        (if (or (not m) (eof-object? m))
                            (loop messages protocols we-closed)
                            (let ((text (utf8->string m))
                                  (protocol (session-protocol session)))
                              (dtls-send session m)
                              (let ((close? (and close-on
                                                 (string-suffix? close-on
                                                                 text))))
                                (when close? (close-dtls session))
                                (loop (cons text messages)
                                      (cons protocol protocols)
                                      (if close? (+ we-closed 1)
                                          we-closed))))))))))))))
    (values port
            (lambda ()
              (join-thread thread (+ (current-time) (+ seconds 10))
                           'timeout)))))

(define (result-ref r key)
  (and (pair? r) (assq-ref r key)))

(define (stat r name)
  (let ((s (result-ref r 'stats)))
    (and s (assq-ref s name))))

(define (run-client-with-lines lines program . args)
  "Run PROGRAM with ARGS under `timeout 15', writing LINES to its stdin
one at a time with a pause before each (for the handshake, then between
them) and one more second before the end of input; return its output."
  (let* ((feed (string-join
                (map (lambda (l)
                       (string-append "printf '%s\\n' " (shell-quote l)
                                      "; sleep 0.3"))
                     lines)
                "; "))
         (cmd (string-append "{ sleep 0.5; " feed "; sleep 1; } | timeout 15 "
                             (string-join (map shell-quote (cons program args))
                                          " ")
                             " 2>&1"))
         (p (open-input-pipe cmd))
         (out (read-string p)))
    (close-pipe p)
    out))

(define (bracket host)
  (if (string-index host #\:) (string-append "[" host "]") host))

;;; A peer whose stdin is a FIFO we write to (openssl s_server).

(define (spawn-peer/fifo program . args)
  "Start PROGRAM with ARGS, its stdin a new FIFO; return the peer and an
output port on the FIFO (opened once PROGRAM has it open for reading,
within 5 s), or #f for the port."
  (let* ((dir (cert-dir))
         (fifo (string-append dir "/fifo-" (number->string (random 1000000000))))
         (out (string-append fifo ".log")))
    (mknod fifo 'fifo #o600 0)
    (let* ((cmd (string-append "exec "
                               (string-join (map shell-quote
                                                 (cons program args)) " ")
                               " <" (shell-quote fifo)
                               " >" (shell-quote out) " 2>&1"))
           (pipe (open-pipe* OPEN_READ "sh" "-c"
                             (string-append "(" cmd ") & echo $!")))
           (pid (string->number (read-line pipe))))
      (close-pipe pipe)
      ;; Non-blocking open fails (ENXIO) until the reader has it open.
      (let loop ((n 0))
        (let ((port (false-if-exception
                     (open fifo (logior O_WRONLY O_NONBLOCK)))))
          (cond (port (values (cons pid out) port))
                ((< n 250) (usleep 20000) (loop (+ n 1)))
                (else (values (cons pid out) #f))))))))

(run-tests "dtls-interop"

  (test-group "our client, gnutls-serv --udp"
    (if (not (program-available? "gnutls-serv"))
        (skip-missing)
        (let ((port (free-port)))
          (with-peer
           (spawn-peer "gnutls-serv" "--udp" "--echo" "-p" (number->string port)
                       "--x509certfile" (cert-file "server")
                       "--x509keyfile" (cert-file "key")
                       "--disable-client-cert")
           (lambda (peer)
             (test-assert "gnutls-serv is up"
               (peer-wait-output peer "UDP Echo Server listening on IPv4.*done"))
             (for-each
              (lambda (host)
                (let ((r (raised
                          (lambda ()
                            (let* ((s (our-client host port))
                                   (echoes
                                    (map (lambda (m)
                                           (dtls-send s m)
                                           (dtls-receive s))
                                         small-messages))
                                   (long (make-bytevector 1000 0)))
                              (do ((i 0 (+ i 1))) ((= i 1000))
                                (bytevector-u8-set! long i (modulo (* i 13) 251)))
                              (dtls-send s long)
                              (let ((pieces (receive-all s 1)))
                                (let ((result
                                       `((protocol . ,(session-protocol s))
                                         (cipher . ,(session-cipher s))
                                         (echoes . ,echoes)
                                         (pieces . ,pieces)
                                         (long . ,long)
                                         (peer . ,(dtls-session-peer s)))))
                                  (close-dtls s)
                                  result)))))))
                  (test-equal (string-append host ": DTLS 1.2") 'DTLS1.2
                    (result-ref r 'protocol))
                  (test-equal (string-append host ": AES-GCM, our priorities")
                    #t
                    (and (memq (result-ref r 'cipher)
                               '(AES-128-GCM AES-256-GCM))
                         #t))
                  (test-equal (string-append host ": echoes byte for byte")
                    small-messages (result-ref r 'echoes))
                  (test-assert (string-append host ": a 1000-byte message "
                                              "comes back in 254-byte pieces")
                    (let ((pieces (result-ref r 'pieces)))
                      (and (pair? pieces)
                           (equal? (concat-bytevectors pieces)
                                   (result-ref r 'long))
                           (every (lambda (p) (<= (bytevector-length p) 254))
                                  pieces))))
                  (test-equal (string-append host ": the peer is gnutls-serv's port")
                    port
                    (let ((p (result-ref r 'peer)))
                      (and (vector? p) (sockaddr:port p))))))
              hosts)
             (test-assert "a wrong host name is refused"
               (tls-verification-error?
                (raised (lambda () (our-client "127.0.0.1" port
                                               #:name "www.example.org")))))
             (test-assert "gnutls-serv still serves after that"
               (let ((s (our-client "127.0.0.1" port)))
                 (dtls-send s (string->utf8 "again\n"))
                 (let ((echo (dtls-receive s)))
                   (close-dtls s)
                   (equal? echo (string->utf8 "again\n"))))))))))

  (test-group "our server, gnutls-cli --udp"
    (if (not (program-available? "gnutls-cli"))
        (skip-missing)
        (for-each
         (lambda (host)
           (let-values (((port join) (our-echo-server host)))
             (let ((out (run-client-with-lines
                         '("first message" "second message")
                         "gnutls-cli" "--udp"
                         "--x509cafile" (cert-file "ca")
                         "--verify-hostname" "localhost"
                         "-p" (number->string port) host))
                   (r (join)))
               (test-assert (string-append host ": gnutls-cli verified us")
                 (matches? "The certificate is trusted" out))
               (test-assert (string-append host ": gnutls-cli says DTLS 1.2")
                 (matches? "\\(DTLS1\\.2-X\\.509\\)" out))
               (test-assert (string-append host ": gnutls-cli got both echoes")
                 (matches? "Simple Client Mode:.*first message\n.*second message\n"
                           out))
               ;; one message per read of gnutls-cli's stdin: two lines
               ;; that arrive together come as one
               (test-equal (string-append host ": our server got both lines")
                 "first message\nsecond message\n"
                 (let ((m (result-ref r 'messages)))
                   (and (list? m) (string-concatenate m))))
               (test-assert (string-append host ": over DTLS 1.2")
                 (let ((p (result-ref r 'protocols)))
                   (and (pair? p) (every (lambda (x) (eq? x 'DTLS1.2)) p))))
               (test-equal (string-append host ": one cookie, one session, "
                                          "closed by gnutls-cli")
                 '(1 1 1)
                 (list (stat r 'cookies-sent) (stat r 'sessions-opened)
                       (stat r 'sessions-closed))))))
         hosts))
    (when (program-available? "gnutls-cli")
      (let-values (((port join) (our-echo-server "127.0.0.1")))
        (let ((out (run-client-with-lines
                    '("not for you")
                    "gnutls-cli" "--udp" "--x509cafile" (cert-file "ca")
                    "--verify-hostname" "www.example.org"
                    "-p" (number->string port) "127.0.0.1"))
              (r (join)))
          (test-assert "gnutls-cli refuses a wrong host name"
            (not (matches? "not for you" out)))
          (test-equal "our server saw that handshake fail, nothing echoed"
            '(1 ())
            (list (stat r 'handshakes-failed) (result-ref r 'messages)))))))

  (test-group "our client, openssl s_server -dtls1_2"
    (if (not (program-available? "openssl"))
        (skip-missing)
        (for-each
         (lambda (host)
           (let-values (((peer feed)
                         (spawn-peer/fifo "openssl" "s_server" "-dtls1_2"
                                          "-accept"
                                          (string-append (bracket host) ":0")
                                          "-cert" (cert-file "server")
                                          "-key" (cert-file "key")
                                          "-naccept" "1")))
             (with-peer
              peer
              (lambda (peer)
                (test-assert (string-append host ": s_server's stdin opened")
                  feed)
                (let* ((m (peer-wait-output peer "ACCEPT .*:([0-9]+)"))
                       (port (and m (string->number (match:substring m 1)))))
                  (test-assert (string-append host ": s_server is up") port)
                  ;; s_server sends what it reads on its stdin once a
                  ;; client is there.
                  (when feed
                    (display "from openssl\n" feed)
                    (force-output feed))
                  (let ((r (raised
                            (lambda ()
                              (let* ((s (our-client host port))
                                     (got (dtls-receive s)))
                                (dtls-send s (string->utf8 "from guile\n"))
                                (let ((p (session-protocol s)))
                                  (close-dtls s)
                                  (list p got)))))))
                    (test-equal (string-append host ": DTLS 1.2 with OpenSSL")
                      'DTLS1.2 (and (pair? r) (car r)))
                    (test-equal (string-append host ": got s_server's message")
                      (string->utf8 "from openssl\n") (and (pair? r) (cadr r)))
                    ;; s_server's stdout is block-buffered into the file:
                    ;; read it once it has exited after its one client.
                    (peer-wait-exit peer 5)
                    (when feed (close-port feed))
                    (test-assert (string-append host ": s_server got ours")
                      (or (peer-wait-output peer "from guile" 1)
                          (diagnose "s_server" (peer-output peer))))))))))
         hosts)))

  (test-group "our server, openssl s_client -dtls1_2"
    (if (not (program-available? "openssl"))
        (skip-missing)
        (for-each
         (lambda (host)
           (let-values (((port join) (our-echo-server host #:close-on "and this\n")))
             (let ((out (run-client-with-lines
                         '("echo this" "and this")
                         "openssl" "s_client" "-dtls1_2"
                         "-connect" (string-append (bracket host) ":"
                                                   (number->string port))
                         "-CAfile" (cert-file "ca") "-verify_return_error"
                         "-verify_hostname" "localhost"
                         "-servername" "localhost" "-quiet"))
                   (r (join)))
               (test-assert (string-append host ": s_client verified us")
                 (matches? "depth=0 CN = localhost\nverify return:1" out))
               (test-assert (string-append host ": s_client got both echoes")
                 (matches? "echo this\nand this\n" out))
               (test-equal (string-append host ": our server got both")
                 "echo this\nand this\n"
                 (let ((m (result-ref r 'messages)))
                   (and (list? m) (string-concatenate m))))
               (test-assert (string-append host ": over DTLS 1.2")
                 (let ((p (result-ref r 'protocols)))
                   (and (pair? p) (every (lambda (x) (eq? x 'DTLS1.2)) p)))))))
         hosts)))

  (remove-cert-dir))
