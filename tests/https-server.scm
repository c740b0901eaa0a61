;;; The 'https server of (web server https) and the client of (net https):
;;; real clients (curl, Python, openssl s_client) fetch from the server;
;;; keep-alive, client certificates, IPv6; stalled, plain-HTTP, garbage
;;; and vanishing clients cost their own connection only.  Loopback and
;;; port 0 only; every wait is bounded.

(use-modules (tests harness)
             (tests tls-common)
             (tests https-common)
             (srfi srfi-64)
             (net socket)
             (net tls)
             (net error)
             (net https)
             (web response)
             (web client)
             (web uri)
             (web request)
             (web server)
             (web server https)
             (ice-9 threads)
             (ice-9 binary-ports)
             (ice-9 textual-ports)
             (ice-9 regex)
             (rnrs bytevectors))

(define (matches? rx text) (and (string? text) (string-match rx text) #t))

(define ca (cert-file "ca"))

(define port
  (start-https-server #:options '(#:read-timeout 4 #:handshake-timeout 4)))
(define (url path) (format #f "https://localhost:~a~a" port path))

(define (curl . args)
  (apply run-program "curl" "-sS" "--max-time" "20" "--cacert" ca args))

(define (fetch-ok? path)
  "curl fetches PATH and gets its greeting."
  (matches? (string-append "hello " path) (curl (url path))))

(define (raw-connection)
  (let ((s (socket AF_INET SOCK_STREAM 0)))
    (connect s AF_INET INADDR_LOOPBACK port)
    s))

(define (dropped-within? sock seconds)
  "True when the server closes SOCK within SECONDS: a read sees the end
of the stream (or a reset) rather than our own timeout."
  (set-socket-timeout! sock 'read seconds)
  (let ((buf (make-bytevector 4096)))
    (let loop ()
      (let ((r (catch #t
                 (lambda () (recv! sock buf))
                 (lambda (key . args)
                   (if (and (eq? key '%exception)
                            (net-timeout-error? (car args)))
                       'timeout
                       0)))))
        (cond ((eq? r 'timeout) #f)
              ((and (number? r) (zero? r)) #t)
              (else (loop)))))))

(define (elapsed thunk)
  (let ((start (get-internal-real-time)))
    (let ((v (thunk)))
      (cons v (/ (- (get-internal-real-time) start) 1. internal-time-units-per-second)))))

(run-tests "https-server"

  (test-assert "the server listens on a kernel-chosen port" (integer? port))

  (test-group "real clients"
    (test-assert "curl --cacert fetches a page"
      (fetch-ok? "/curl"))

    (test-assert "curl negotiates http/1.1 with ALPN"
      (matches? "ALPN: server accepted http/1.1"
                (curl "-v" (url "/alpn"))))

    ;; Issue 14: the default ALPN list held http/1.1 only, and GnuTLS
    ;; refused a client offering http/1.0 alone (no_application_protocol).
    (let ((out (curl "-v" "--http1.0" (url "/http10"))))
      (test-assert "curl --http1.0: ALPN http/1.0 accepted"
        (matches? "ALPN: server accepted http/1.0" out))
      (test-assert "curl --http1.0: served as HTTP/1.0"
        (and (matches? "GET /http10 HTTP/1.0" out)
             (matches? "hello /http10" out))))

    (test-assert "a client offering only h2 is still refused (no_application_protocol)"
      (let ((out (run-program "openssl" "s_client" "-connect"
                              (format #f "127.0.0.1:~a" port)
                              "-servername" "localhost" "-CAfile" ca
                              "-alpn" "h2" "-brief")))
        (matches? "no application protocol|alert number 120" out)))

    (test-assert "curl reuses one connection for two URLs (keep-alive)"
      (let ((out (curl "-v" (url "/ka1") (url "/ka2"))))
        (and (matches? "hello /ka1" out)
             (matches? "hello /ka2" out)
             (matches? "Re-using existing connection" out))))

    (test-assert "and the server saw both requests on one TLS session"
      (let ((a (hash-ref seen-sessions "/ka1"))
            (b (hash-ref seen-sessions "/ka2")))
        (and a (eq? a b))))

    (test-assert "Python urllib with an ssl context verifying against the CA"
      (matches? "hello /python"
                (run-program
                 "python3" "-c"
                 (string-append
                  "import ssl, sys, urllib.request\n"
                  "ctx = ssl.create_default_context(cafile=sys.argv[1])\n"
                  "print(urllib.request.urlopen(sys.argv[2], context=ctx,"
                  " timeout=20).read().decode())\n")
                 ca (url "/python"))))

    (test-assert "Python http.client sends two requests on one connection"
      (let ((out (run-program
                  "python3" "-c"
                  (string-append
                   "import ssl, sys, http.client\n"
                   "ctx = ssl.create_default_context(cafile=sys.argv[1])\n"
                   "c = http.client.HTTPSConnection('localhost', int(sys.argv[2]),"
                   " context=ctx, timeout=20)\n"
                   "c.request('GET', '/py1'); r = c.getresponse(); print(r.read().decode())\n"
                   "s = c.sock\n"
                   "c.request('GET', '/py2'); r = c.getresponse(); print(r.read().decode())\n"
                   "print('same socket' if c.sock is s else 'new socket')\n")
                  ca (number->string port))))
        (and (matches? "hello /py1" out)
             (matches? "hello /py2" out)
             (matches? "same socket" out)
             (eq? (hash-ref seen-sessions "/py1")
                  (hash-ref seen-sessions "/py2")))))

    (test-assert "openssl s_client verifies the server and fetches a page"
      (let ((out (run-with-input
                  "GET /openssl HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                  "openssl" "s_client" "-quiet" "-verify_return_error"
                  "-CAfile" ca "-servername" "localhost"
                  "-connect" (format #f "127.0.0.1:~a" port))))
        (and (matches? "HTTP/1.1 200 OK" out)
             (matches? "hello /openssl" out))))

    (test-assert "a malformed request over TLS gets 400"
      (matches? "HTTP/1.0 400"
                (run-with-input
                 "this is not HTTP\r\n\r\n"
                 "openssl" "s_client" "-quiet" "-CAfile" ca
                 "-connect" (format #f "127.0.0.1:~a" port)))))

  (test-group "(net https) against the server"
    (test-equal "https-get returns the response and the body"
      '(200 "hello /get\n")
      (call-with-values
          (lambda () (https-get (url "/get") #:ca-file ca))
        (lambda (r b) (list (response-code r) b))))

    (test-equal "https-post sends the body"
      "hello /post\nbody: some data\n"
      (call-with-values
          (lambda () (https-post (url "/post") #:ca-file ca
                                 #:body "some data"
                                 #:headers '((content-type . (text/plain)))))
        (lambda (r b) b)))

    (test-assert "open-https-port as the #:port of http-request"
      (let ((p (open-https-port (url "/port") #:ca-file ca)))
        (call-with-values
            (lambda () (http-request (url "/port") #:port p))
          (lambda (r b) (string=? b "hello /port\n")))))

    (test-assert "an IP-address URI is verified against the certificate's address"
      (call-with-values
          (lambda () (https-get (format #f "https://127.0.0.1:~a/ip" port)
                                #:ca-file ca))
        (lambda (r b) (string=? b "hello /ip\n"))))

    (test-assert "verification is on by default: the test CA is not trusted"
      (tls-verification-error?
       (capture (lambda () (https-get (url "/untrusted"))))))

    (test-assert "a wrong host name is refused"
      (tls-verification-error?
       (capture (lambda () (https-get (url "/wrong") #:ca-file ca
                                      #:server-name "www.example.org")))))

    (test-assert "#:verify? #f turns verification off explicitly"
      (call-with-values
          (lambda () (https-get (url "/insecure") #:verify? #f))
        (lambda (r b) (= 200 (response-code r)))))

    (test-assert "an http URI is refused"
      (eq? 'wrong-type-arg
           (error-key (open-https-port (format #f "http://localhost:~a/" port))))))

  (test-group "many clients at once"
    (test-equal "20 concurrent https-get calls all succeed"
      20
      (let* ((threads
              (map (lambda (i)
                     (call-with-new-thread
                      (lambda ()
                        (false-if-exception
                         (call-with-values
                             (lambda () (https-get (url (format #f "/many~a" i))
                                                   #:ca-file ca))
                           (lambda (r b) (= 200 (response-code r))))))))
                   (iota 20)))
             (results (map (lambda (t) (join-thread t (+ (current-time) 30) #f))
                           threads)))
        (length (filter identity results)))))

  (test-group "stalled clients"
    (let ((silent (raw-connection)))
      (test-assert "with a client connected that sends nothing, others are served"
        (let ((r (elapsed (lambda () (fetch-ok? "/beside-silent")))))
          (and (car r) (< (cdr r) 1.5))))
      (test-assert "and the silent client is dropped after the handshake timeout"
        (let ((r (elapsed (lambda () (dropped-within? silent 10)))))
          (and (car r) (> (cdr r) 3))))
      (close-port silent))

    (let ((half (open-https-port (url "/") #:ca-file ca #:timeout 10)))
      (put-string half "GET /half HTTP/1.1\r\nHost: localhost\r\n")
      (force-output half)
      (test-assert "with a client stopped in the middle of a request, others are served"
        (let ((r (elapsed (lambda () (fetch-ok? "/beside-half")))))
          (and (car r) (< (cdr r) 1.5))))
      (test-assert "and the half request is dropped after the read timeout"
        (let* ((start (get-internal-real-time))
               (r (capture (lambda () (get-bytevector-some half))))
               (t (/ (- (get-internal-real-time) start) 1.
                     internal-time-units-per-second)))
          ;; end of stream, or a connection cut without close_notify
          (and (or (eof-object? r) (tls-error? r)) (> t 3) (< t 10))))
      (close-port half))

    (test-assert "a client trickling its request byte by byte is dropped too"
      (let ((p (open-https-port (url "/") #:ca-file ca #:timeout 10))
            (start (get-internal-real-time)))
        (let loop ((chars (string->list
                           (string-append "GET /trickle HTTP/1.1\r\n"
                                          (make-string 200 #\x)))))
          (when (and (pair? chars)
                     (< (- (get-internal-real-time) start)
                        (* 12 internal-time-units-per-second))
                     (false-if-exception
                      (begin (put-char p (car chars)) (force-output p) #t)))
            (usleep 200000)
            (loop (cdr chars))))
        (let ((t (/ (- (get-internal-real-time) start) 1.
                    internal-time-units-per-second)))
          (false-if-exception (close-port p))
          ;; dropped at about 4 s; without a limit on the whole head it
          ;; would have taken 200 * 0.2 s
          (< t 9)))))

  (test-group "bad clients cost one connection"
    (test-assert "plain HTTP on the TLS port: that connection is closed"
      (let ((s (raw-connection)))
        (put-string s "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        (force-output s)
        (let ((r (dropped-within? s 8)))
          (close-port s)
          r)))
    (test-assert "curl with http:// is told, in plain HTTP, to use https"
      (matches? "use an https:// URL"
                (run-program "curl" "-sS" "--max-time" "20"
                             (format #f "http://localhost:~a/plain" port))))
    (test-assert "and the server goes on" (fetch-ok? "/after-plain"))

    (test-assert "garbage on the TLS port: that connection is closed"
      (let ((s (raw-connection))
            (junk (make-bytevector 5000 0)))
        (let loop ((i 0))
          (when (< i 5000)
            (bytevector-u8-set! junk i (random 256))
            (loop (+ i 1))))
        (false-if-exception (begin (put-bytevector s junk) (force-output s)))
        (let ((r (dropped-within? s 8)))
          (close-port s)
          r)))
    (test-assert "and the server goes on" (fetch-ok? "/after-garbage"))

    (test-assert "clients closing abruptly, before and after the handshake"
      (begin
        (close-port (raw-connection))
        (let ((s (raw-connection)))
          (put-bytevector s #vu8(22 3 1 2 0 1 0 1 252 3 3))  ; a cut ClientHello
          (force-output s)
          (close-port s))
        (let ((p (open-https-port (url "/") #:ca-file ca)))
          (put-string p "GET /cut HTTP/1.1\r\nHo")
          (force-output p)
          ;; the socket goes without close_notify
          (close-port (session-transport-port (record-port-session p))))
        #t))
    (test-assert "and the server goes on" (fetch-ok? "/after-abrupt")))

  (test-group "#:max-connections"
    (let* ((mport (start-https-server
                   #:options '(#:max-connections 2 #:handshake-timeout 20)))
           (connect-raw (lambda ()
                          (let ((s (socket AF_INET SOCK_STREAM 0)))
                            (connect s AF_INET INADDR_LOOPBACK mport)
                            s)))
           (a (connect-raw))
           (b (connect-raw)))
      (usleep 200000)
      (let ((c (connect-raw)))
        (test-assert "a connection above the limit is closed at once"
          (let ((r (elapsed (lambda () (dropped-within? c 5)))))
            (and (car r) (< (cdr r) 2))))
        (close-port c))
      (close-port a)
      (close-port b)
      (test-assert "once the others are gone, clients are served again"
        (wait-until (lambda ()
                      (matches? "hello /room"
                                (curl (format #f "https://localhost:~a/room"
                                              mport))))
                    5))))

  (test-group "client certificates"
    (let* ((cport (start-https-server
                   #:options `(#:trusted-certificates ,ca
                               #:client-certificate required
                               #:read-timeout 5 #:handshake-timeout 5)))
           (curl-url (format #f "https://localhost:~a/cert" cport)))
      (test-assert "required: a client without one is refused"
        (not (matches? "hello /cert" (curl curl-url))))
      (test-assert "required: a client with one is served, and the handler sees it"
        (let ((out (curl "--cert" (cert-file "client") "--key" (cert-file "key")
                         curl-url)))
          (and (matches? "hello /cert" out)
               (matches? "client: .*Test Client" out))))
      (test-assert "(net https) with client credentials"
        (let ((creds (make-certificate-credentials)))
          (set-certificate-credentials-x509-trust-file! creds ca)
          (set-certificate-credentials-x509-key-files! creds (cert-file "client")
                                                       (cert-file "key"))
          (call-with-values
              (lambda () (https-get curl-url #:credentials creds))
            (lambda (r b) (matches? "Test Client" b))))))

    (let ((oport (start-https-server
                  #:options `(#:trusted-certificates ,ca
                              #:client-certificate optional))))
      (test-assert "optional: a client without one is served too"
        (matches? "hello /opt"
                  (curl (format #f "https://localhost:~a/opt" oport))))))

  (test-group "IPv6"
    (let ((v6port (start-https-server
                   #:options `(#:family ,AF_INET6 #:host "::1"))))
      (test-assert "the server listens on ::1" (integer? v6port))
      (test-assert "curl fetches over IPv6"
        (matches? "hello /v6"
                  (curl "--resolve" (format #f "localhost:~a:[::1]" v6port)
                        (format #f "https://localhost:~a/v6" v6port))))
      (test-equal "https-get fetches over IPv6"
        "hello /v6-get\n"
        (call-with-values
            (lambda () (https-get (format #f "https://[::1]:~a/v6-get" v6port)
                                  #:ca-file ca #:server-name "localhost"))
          (lambda (r b) b)))))

  (test-assert "curl posting 4 KiB (Expect: 100-continue) is answered at once"
    (let* ((file (string-append (cert-dir) "/post.txt")))
      (call-with-output-file file
        (lambda (p) (display (make-string 4096 #\a) p)))
      (let ((r (elapsed (lambda ()
                          (curl "--data-binary" (string-append "@" file)
                                "-H" "Content-Type: text/plain"
                                (url "/upload"))))))
        (and (matches? "hello /upload" (car r))
             (matches? "body: aaaa" (car r))
             ;; without the 100 Continue, curl waits a second first
             (< (cdr r) 0.9)))))

  (test-group "open-server, serve-one-client, close-server"
    (let* ((impl (lookup-server-impl 'https))
           (server (open-server impl `(#:port 0
                                       #:certificate ,(cert-file "server")
                                       #:private-key ,(cert-file "key"))))
           (p (https-server-port server))
           (peer (spawn-peer "curl" "-sS" "--max-time" "20" "--cacert" ca
                             (format #f "https://localhost:~a/manual" p))))
      (test-assert "https-server-port gives the chosen port" (> p 0))
      (serve-one-client hello-handler impl server '())
      (test-assert "one request served by hand"
        (and (peer-wait-exit peer 20)
             (matches? "hello /manual" (peer-output peer))))
      (close-server impl server)
      (test-assert "after close-server nothing listens there"
        (let ((s (socket AF_INET SOCK_STREAM 0)))
          (let ((r (catch #t
                     (lambda () (connect s AF_INET INADDR_LOOPBACK p) 'connected)
                     (lambda _ 'refused))))
            (close-port s)
            (eq? r 'refused))))))

  (test-group "run-https-server: the handler in the connection's thread"
    (let* ((rport #f)
           (counter-handler
            (lambda (request body count)
              (let ((path (uri-path (request-uri request))))
                (when (string=? path "/fail") (error "handler failed"))
                (values '((content-type . (text/plain)))
                        (format #f "~a ~a ~a\n" path count
                                (session-protocol (https-request-session)))
                        (+ count 1))))))
      (call-with-new-thread
       (lambda ()
         (run-https-server counter-handler
                           `(#:port 0
                             #:certificate ,(cert-file "server")
                             #:private-key ,(cert-file "key")
                             #:ready ,(lambda (p) (set! rport p)))
                           0)))
      (wait-until (lambda () rport) 10)
      (let ((rurl (lambda (path) (format #f "https://localhost:~a~a" rport path))))
        (test-assert "serves, and threads the handler's state"
          (let* ((a (curl (rurl "/a")))
                 (b (curl (rurl "/b"))))
            (and (matches? "^/a 0 TLS1.3" a) (matches? "^/b 1 TLS1.3" b))))
        (test-assert "keep-alive"
          (matches? "Re-using existing connection" (curl "-v" (rurl "/k1") (rurl "/k2"))))
        (test-equal "a handler error is a 500, and the server goes on"
          '(500 200)
          (list (call-with-values
                    (lambda () (https-get (rurl "/fail") #:ca-file ca))
                  (lambda (r b) (response-code r)))
                (call-with-values
                    (lambda () (https-get (rurl "/ok") #:ca-file ca))
                  (lambda (r b) (response-code r)))))
        (test-equal "20 concurrent clients, each request counted once"
          20
          (let* ((before (call-with-values
                             (lambda () (https-get (rurl "/n") #:ca-file ca))
                           (lambda (r b) (string->number (cadr (string-split b #\space))))))
                 (threads (map (lambda (i)
                                 (call-with-new-thread
                                  (lambda ()
                                    (false-if-exception
                                     (https-get (rurl "/c") #:ca-file ca)))))
                               (iota 20))))
            (for-each (lambda (t) (join-thread t (+ (current-time) 30))) threads)
            (call-with-values
                (lambda () (https-get (rurl "/n") #:ca-file ca))
              (lambda (r b)
                (- (string->number (cadr (string-split b #\space))) before 1))))))))

  (test-assert "after all that, the first server still serves"
    (fetch-ok? "/still-here"))

  (remove-cert-dir))
