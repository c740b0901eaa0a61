;;; Interoperability with programs we did not write: our client against
;;; gnutls-serv and openssl s_server; our server against gnutls-cli,
;;; openssl s_client, curl and Python's ssl module.  TLS 1.2 and 1.3, ALPN
;;; and SNI as the peer sees them, resumption.  Peers are started and
;;; killed by PID; every wait is bounded.

(use-modules (tests harness)
             (tests tls-common)
             (srfi srfi-1)
             (srfi srfi-64)
             (srfi srfi-11)
             (net tls)
             (net error)
             (net socket)
             (ice-9 rdelim)
             (ice-9 regex)
             (ice-9 threads)
             (ice-9 popen)
             (ice-9 exceptions))

;;; Our client.

(define* (our-client port #:key (name "localhost") priorities alpn data
                     (trust "ca") resume)
  "Connect to loopback PORT, handshake, send DATA (a line) if given and
read a line back; return an alist of what we saw, or the exception."
  (capture
   (lambda ()
     (let ((s (make-session connection-end/client))
           (conn (connect-loopback port)))
       (set-session-timeout! s 5)
       (set-session-credentials! s (client-credentials #:trust trust))
       (set-session-server-name! s server-name-type/dns name)
       (when priorities (set-session-priorities! s priorities))
       (when alpn (set-session-alpn-protocols! s alpn))
       (when resume (set-session-data! s resume))
       (set-session-transport-port! s conn)
       (handshake s)
       (let* ((p (session-record-port s))
              (reply (and data
                          (begin (display data p) (newline p)
                                 (force-output p)
                                 (read-line p)))))
         (let ((result `((protocol . ,(session-protocol s))
                         (cipher . ,(session-cipher s))
                         (alpn . ,(session-alpn-protocol s))
                         (resumed . ,(session-resumed? s))
                         (data . ,(session-data s))
                         (reply . ,reply))))
           (close-port p)
           result))))))

(define (ref alist key)
  (and (pair? alist) (assq-ref alist key)))

(define (with-peer peer proc)
  (dynamic-wind (lambda () #t)
                (lambda () (proc peer))
                (lambda () (kill-peer peer))))

;;; Our server: serve COUNT connections with HANDLER in a thread.

(define* (our-server count handler #:key (cert "server") setup trust)
  "Return the port number and a thunk that joins the server thread,
returning the list of what HANDLER returned (or raised) per connection."
  (let* ((listener (loopback-listener))
         (creds (server-credentials cert #:trust trust))
         (thread
          (call-with-new-thread
           (lambda ()
             (let loop ((i 0) (results '()))
               (if (= i count)
                   (reverse results)
                   (let ((r (capture
                             (lambda ()
                               (let ((conn (car (accept listener)))
                                     (s (make-session connection-end/server)))
                                 (set-session-timeout! s 5)
                                 (set-session-credentials! s creds)
                                 (set-session-transport-port! s conn)
                                 (when setup (setup s))
                                 (dynamic-wind
                                   (lambda () #t)
                                   (lambda () (handshake s) (handler s))
                                   (lambda () (close-port conn))))))))
                     (loop (+ i 1) (cons r results)))))))))
    (values (listener-port listener)
            (lambda ()
              (let ((r (join-thread thread (+ (current-time) 15) 'timeout)))
                (close-port listener)
                r)))))

(define (server-info s)
  `((protocol . ,(session-protocol s))
    (name . ,(session-server-name s))
    (alpn . ,(session-alpn-protocol s))
    (resumed . ,(session-resumed? s))))

(define (echo-handler s)
  (let* ((p (session-record-port s))
         (line (read-line p)))
    (unless (eof-object? line)
      (display (string-append "echo " line "\n") p)
      (force-output p))
    (let ((info (server-info s)))
      (close-port p)
      (cons `(line . ,line) info))))

(define (run-program program . args)
  "Run PROGRAM with ARGS, stdin from /dev/null; return its output (stdout
and stderr) once it exits, bounded."
  (let ((peer (apply spawn-peer program args)))
    (unless (peer-wait-exit peer 15)
      (kill-peer peer))
    (peer-output peer)))

(define (run-with-input input program . args)
  "Run PROGRAM with ARGS feeding INPUT (a string) on stdin through the
shell; return the exit status and the output."
  ;; Keep stdin open a moment: some clients quit at its end, before the
  ;; reply arrives.
  (let* ((cmd (string-append "{ printf '%s' " (shell-quote input)
                             "; sleep 1; } | timeout 15 "
                             (string-join (map shell-quote (cons program args))
                                          " ")
                             " 2>&1"))
         (p (open-input-pipe cmd))
         (out (read-string p))
         (status (close-pipe p)))
    (values (status:exit-val status) out)))

(define (matches? rx text) (and (string? text) (string-match rx text) #t))

(run-tests "tls-interop"

  (test-group "our client, gnutls-serv"
    (if (not (program-available? "gnutls-serv"))
        (test-skip 1)
        (let ((port (free-port)))
          (with-peer
           (spawn-peer "gnutls-serv" "-p" (number->string port) "--echo"
                       "--x509certfile" (cert-file "server")
                       "--x509keyfile" (cert-file "key")
                       "--sni-hostname=localhost" "--sni-hostname-fatal"
                       "--alpn=h2" "--alpn=http/1.1" "--alpn-fatal"
                       "--disable-client-cert")
           (lambda (peer)
             (test-assert "gnutls-serv is up" (peer-wait-port port))
             (test-assert "gnutls-serv saw our server name"
               (begin (our-client port #:data "sni" #:alpn '("h2"))
                      (peer-wait-output peer "Given server name.*: localhost")))
             (test-assert "gnutls-serv saw our ALPN"
               (peer-wait-output peer "Application protocol: h2"))
             (let ((r13 (our-client port #:data "hello gnutls"
                                    #:alpn '("http/1.1"))))
               (test-equal "TLS 1.3 echo" "hello gnutls" (ref r13 'reply))
               (test-equal "TLS 1.3" 'TLS1.3 (ref r13 'protocol))
               (test-equal "ALPN chosen by gnutls-serv" "http/1.1"
                 (ref r13 'alpn)))
             (let ((r12 (our-client port #:data "twelve"
                                    #:priorities
                                    (string-append (%default-priority-string)
                                                   ":-VERS-TLS1.3"))))
               (test-equal "TLS 1.2 echo" "twelve" (ref r12 'reply))
               (test-equal "TLS 1.2" 'TLS1.2 (ref r12 'protocol)))
             (let* ((first (our-client port #:data "first"))
                    (again (our-client port #:data "second"
                                       #:resume (ref first 'data))))
               (test-equal "resumed with gnutls-serv" '(#f #t)
                 (list (ref first 'resumed) (ref again 'resumed))))
             (let ((bad (our-client port #:alpn '("spdy/3") #:data "x")))
               (test-assert "gnutls-serv refuses our ALPN list: it saw it"
                 (tls-error? bad)))
             (let ((bad (our-client port #:name "127.0.0.1" #:data "x")))
               ;; An IP address is not sent as SNI: gnutls-serv sees none.
               (test-assert "IP as server name: verified against the IP SAN"
                 (or (equal? (ref bad 'reply) "x") (tls-error? bad)))))))))

  (test-group "our client, openssl s_server"
    (with-peer
     (spawn-peer "openssl" "s_server" "-accept" "127.0.0.1:0"
                 "-cert" (cert-file "server") "-key" (cert-file "key")
                 "-alpn" "h2,http/1.1" "-naccept" "2" "-rev")
     (lambda (peer)
       (let* ((m (peer-wait-output peer "ACCEPT 127.0.0.1:([0-9]+)"))
              (port (and m (string->number (match:substring m 1)))))
         (test-assert "s_server is up" port)
         (let ((r (our-client port #:data "abc" #:alpn '("http/1.1"))))
           (test-equal "s_server -rev reversed our line" "cba"
             (ref r 'reply))
           (test-equal "TLS 1.3" 'TLS1.3 (ref r 'protocol))
           (test-equal "ALPN" "http/1.1" (ref r 'alpn)))
         (let ((r (our-client port #:data "xyz"
                              #:priorities
                              (string-append (%default-priority-string)
                                             ":-VERS-TLS1.3"))))
           (test-equal "TLS 1.2 reversed" "zyx" (ref r 'reply))
           (test-equal "TLS 1.2" 'TLS1.2 (ref r 'protocol)))
         ;; s_server's stdout is block-buffered into the file: read it
         ;; once s_server has exited after its two connections.
         (peer-wait-exit peer 5)
         (test-assert "s_server saw our ALPN list"
           (peer-wait-output
            peer "ALPN protocols advertised by the client: http/1.1")))))
    ;; SNI: s_server presents a certificate for www.example.org unless the
    ;; client asks for localhost; only then does our verification pass.
    (with-peer
     (spawn-peer "openssl" "s_server" "-accept" "127.0.0.1:0"
                 "-cert" (cert-file "wronghost") "-key" (cert-file "key")
                 "-cert2" (cert-file "server") "-key2" (cert-file "key")
                 "-servername" "localhost" "-naccept" "1" "-rev")
     (lambda (peer)
       (let* ((m (peer-wait-output peer "ACCEPT 127.0.0.1:([0-9]+)"))
              (port (and m (string->number (match:substring m 1)))))
         (test-equal "s_server switched certificate on our SNI" "cba"
           (ref (our-client port #:data "abc") 'reply))))))

  (test-group "our server, gnutls-cli"
    (let-values (((port join)
                  (our-server 3 echo-handler
                              #:setup (lambda (s)
                                        (set-session-alpn-protocols!
                                         s '("h2" "http/1.1"))))))
      (let-values (((status out)
                    (run-with-input "hello server\n" "gnutls-cli"
                                    "--x509cafile" (cert-file "ca")
                                    "-p" (number->string port)
                                    "--alpn=http/1.1" "localhost")))
        (test-assert "gnutls-cli verified us and got the echo"
          (matches? "echo hello server" out))
        (test-assert "gnutls-cli reports our ALPN choice"
          (matches? "http/1.1" out)))
      (let-values (((status out)
                    (run-with-input "twelve\n" "gnutls-cli"
                                    "--x509cafile" (cert-file "ca")
                                    "-p" (number->string port)
                                    "--priority" "NORMAL:-VERS-ALL:+VERS-TLS1.2"
                                    "localhost")))
        (test-assert "gnutls-cli TLS 1.2" (matches? "echo twelve" out)))
      (let-values (((status out)
                    (run-with-input "x\n" "gnutls-cli"
                                    "--x509cafile" (cert-file "ca")
                                    "-p" (number->string port)
                                    "--verify-hostname" "example.com"
                                    "localhost")))
        (test-assert "gnutls-cli refuses a wrong host name"
          (not (matches? "echo x" out))))
      (let ((results (join)))
        (test-assert "three connections served" (list? results))
        (let ((first (and (list? results) (car results))))
          (test-equal "server saw SNI from gnutls-cli" "localhost"
            (ref first 'name))
          (test-equal "server ALPN" "http/1.1" (ref first 'alpn))
          (test-equal "server TLS 1.3" 'TLS1.3 (ref first 'protocol)))
        (test-equal "second was TLS 1.2" 'TLS1.2
          (and (list? results) (ref (cadr results) 'protocol))))))

  (test-group "resumption with gnutls-cli"
    (let-values (((port join) (our-server 2 echo-handler)))
      (let-values (((status out)
                    (run-with-input "again\n" "gnutls-cli" "--resume"
                                    "--x509cafile" (cert-file "ca")
                                    "-p" (number->string port) "localhost")))
        (test-assert "gnutls-cli sees a resumed session"
          (matches? "This is a resumed session" out)))
      (let ((results (join)))
        (test-assert "our server saw the second one resumed"
          (and (list? results) (= 2 (length results))
               (ref (cadr results) 'resumed))))))

  (test-group "client certificates with gnutls-cli"
    (let-values (((port join)
                  (our-server 2
                              (lambda (s)
                                (cons (length (session-peer-certificate-chain s))
                                      (echo-handler s)))
                              #:trust "ca"
                              #:setup (lambda (s)
                                        (set-session-client-certificate-request!
                                         s 'require)))))
      (let-values (((status out)
                    (run-with-input "with cert\n" "gnutls-cli"
                                    "--x509cafile" (cert-file "ca")
                                    "--x509certfile" (cert-file "client")
                                    "--x509keyfile" (cert-file "key")
                                    "-p" (number->string port) "localhost")))
        (test-assert "gnutls-cli with a client certificate served"
          (matches? "echo with cert" out)))
      (let-values (((status out)
                    (run-with-input "without\n" "gnutls-cli"
                                    "--x509cafile" (cert-file "ca")
                                    "-p" (number->string port) "localhost")))
        (test-assert "gnutls-cli without one refused"
          (not (matches? "echo without" out))))
      (let ((results (join)))
        (test-equal "our server saw the client's certificate" 1
          (and (list? results) (pair? (car results)) (caar results)))
        (test-assert "and refused the one without"
          (and (list? results) (tls-error? (cadr results)))))))

  (test-group "our server, openssl s_client"
    (let-values (((port join)
                  (our-server 2 echo-handler
                              #:setup (lambda (s)
                                        (set-session-alpn-protocols!
                                         s '("h2" "http/1.1"))))))
      (let-values (((status out)
                    (run-with-input "from openssl\n" "openssl" "s_client"
                                    "-connect"
                                    (string-append "127.0.0.1:"
                                                   (number->string port))
                                    "-servername" "localhost"
                                    "-verify_hostname" "localhost"
                                    "-CAfile" (cert-file "ca")
                                    "-verify_return_error"
                                    "-alpn" "h2" "-tls1_3" "-quiet")))
        (test-assert "s_client TLS 1.3 echo" (matches? "echo from openssl" out)))
      (let-values (((status out)
                    (run-with-input "old\n" "openssl" "s_client"
                                    "-connect"
                                    (string-append "127.0.0.1:"
                                                   (number->string port))
                                    "-servername" "localhost"
                                    "-CAfile" (cert-file "ca")
                                    "-verify_return_error"
                                    "-tls1_2" "-quiet")))
        (test-assert "s_client TLS 1.2 echo" (matches? "echo old" out)))
      (let ((results (join)))
        (test-equal "s_client: ALPN h2" "h2"
          (and (list? results) (ref (car results) 'alpn)))
        (test-equal "s_client: SNI" "localhost"
          (and (list? results) (ref (car results) 'name)))
        (test-equal "s_client -tls1_2" 'TLS1.2
          (and (list? results) (ref (cadr results) 'protocol))))))

  (test-group "our server, curl"
    (if (not (program-available? "curl"))
        (test-skip 3)
        (let-values (((port join)
                      (our-server
                       1
                       (lambda (s)
                         (let* ((p (session-record-port s))
                                (request (let loop ((lines '()))
                                           (let ((l (read-line p)))
                                             (if (or (eof-object? l)
                                                     (string-null?
                                                      (string-trim-right l)))
                                                 (reverse lines)
                                                 (loop (cons l lines)))))))
                           (display "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nhello, curl\n" p)
                           (force-output p)
                           (let ((info (server-info s)))
                             (close-port p)
                             (cons `(request . ,request) info))))
                       #:setup (lambda (s)
                                 (set-session-alpn-protocols!
                                  s '("http/1.1"))))))
          (let ((out (run-program "curl" "-sS" "--max-time" "10"
                                     "--cacert" (cert-file "ca")
                                     (string-append "https://localhost:"
                                                    (number->string port)
                                                    "/path"))))
            (test-equal "curl verified us and got the body" "hello, curl\n" out))
          (let ((results (join)))
            (test-assert "we read curl's request"
              (and (list? results)
                   (matches? "^GET /path HTTP/1.1"
                             (car (ref (car results) 'request)))))))))

  (test-group "our server, Python ssl"
    (let-values (((port join)
                  (our-server 1 echo-handler
                              #:setup (lambda (s)
                                        (set-session-alpn-protocols!
                                         s '("x-test"))))))
      (let ((out (run-program
                     "python3" "-c"
                     (string-append "
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
ctx.set_alpn_protocols(['x-test'])
with socket.create_connection(('127.0.0.1', int(sys.argv[2])), timeout=10) as raw:
    with ctx.wrap_socket(raw, server_hostname='localhost') as s:
        s.sendall(b'from python\\n')
        data = b''
        while not data.endswith(b'\\n'):
            chunk = s.recv(100)
            if not chunk: break
            data += chunk
        print(s.version(), s.selected_alpn_protocol(), data.decode().strip())
")
                     (cert-file "ca") (number->string port))))
        (test-assert "python verified us and got the echo"
          (matches? "TLSv1.3 x-test echo from python" out)))
      (let ((results (join)))
        (test-equal "python's line" "from python"
          (and (list? results) (ref (car results) 'line))))))

  (test-group "plain text client against our server"
    (let-values (((port join) (our-server 1 echo-handler)))
      (let ((conn (connect-loopback port)))
        (display "GET / HTTP/1.0\r\n\r\n" conn)
        (let ((results (join)))
          (close-port conn)
          (test-assert "a TLS error, no crash"
            (and (list? results) (tls-error? (car results))))))))

  (remove-cert-dir))
