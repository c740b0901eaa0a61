;;; (web server https) -- HTTPS for Guile's (web server).
;;;
;;;   (run-server handler 'https
;;;               '(#:port 8443 #:host "127.0.0.1"
;;;                 #:certificate "cert.pem" #:private-key "key.pem"))
;;;
;;; serves HTTPS with the same HANDLER a user wrote for 'http.
;;;
;;; Concurrency design.  `run-server' is one loop in one thread: it calls
;;; our `read' for a request, calls the handler, then calls our `write'.
;;; Guile's own 'http implementation reads a request in that thread, so one
;;; client that sends half a request stalls every other client; with TLS a
;;; handshake that never finishes would do the same.  Here the loop's
;;; thread does nothing but run the handler:
;;;
;;; - an accept thread takes connections and starts one thread per
;;;   connection (at most #:max-connections at once; above that a new
;;;   connection is closed at once);
;;; - a connection thread does all the I/O of its client: the TLS handshake
;;;   within #:handshake-timeout, reading each request head within
;;;   #:read-timeout in all (not per read, so a client trickling a byte at a
;;;   time is dropped as well as a silent one), writing responses, and
;;;   keep-alive.  It hands each complete request to the loop through a
;;;   queue and waits for the handler's response, which `write' passes back;
;;; - (net socket) and (net tls) never hold up other threads while one
;;;   waits, and every wait in them is bounded by the session timeout, so a
;;;   stalled client only ever occupies its own thread, until its timeout.
;;;
;;; So the handler and its state stay single-threaded, as with 'http, while
;;; slow clients, failed handshakes (plain HTTP, garbage, an abrupt close)
;;; and errors cost their own connection only: every exception in a
;;; connection thread ends that connection and nothing else, and `read'
;;; and `write' never raise.  Threads, rather than a scheduler on
;;; suspendable ports, because a TLS handshake on a blocking session is one
;;; C call that only a thread can wait in without stopping the rest, and
;;; because threads use both cores for the cryptography.
;;;
;;; The price is two thread switches per request, the request's way to the
;;; loop and the response's way back, which caps small requests at about
;;; a third of Guile's plain 'http server.  `run-https-server' avoids it:
;;; each connection's thread calls the handler itself, holding a lock, so
;;; the handler still runs one request at a time with its state threaded
;;; from call to call.

(define-module (web server https)
  #:use-module (web server)
  #:use-module (web request)
  #:use-module (web response)
  #:use-module (web http)
  #:use-module (net socket)
  #:use-module (net tls)
  #:use-module (net error)
  #:use-module (ice-9 threads)
  #:use-module (ice-9 binary-ports)
  #:use-module (rnrs bytevectors)
  #:use-module (ice-9 match)
  #:use-module (srfi srfi-9)
  #:use-module (srfi srfi-11)
  #:export (https-request-session
            https-server-port
            run-https-server))

;;; The server.

(define-record-type <https-server>
  (make-https-server listener credentials client-certificate alpn
                     read-timeout handshake-timeout write-timeout
                     max-connections mutex condition)
  https-server?
  (listener server-listener)
  (credentials server-credentials)
  (client-certificate server-client-certificate) ; ignore, request, require
  (alpn server-alpn)                             ; list of strings
  (read-timeout server-read-timeout)             ; seconds or #f
  (handshake-timeout server-handshake-timeout)
  (write-timeout server-write-timeout)
  (max-connections server-max-connections)
  (mutex server-mutex)          ; guards everything below
  (condition server-condition)  ; signalled when a request is queued
  (requests server-requests set-server-requests!)   ; (conn request body) ...
  (connections server-connections set-server-connections!) ; live conns
  (stopping? server-stopping? set-server-stopping!)
  ;; run-https-server's handler, state and the lock that runs it alone
  (direct server-direct set-server-direct!)     ; #f or (handler . mutex)
  (state server-state set-server-state!)
  (accept-thread server-accept-thread set-server-accept-thread!))

;;; A connection: the loop's `client' object.  The connection thread waits
;;; on CONDITION (with the server's mutex) until `write' sets REPLY.

(define-record-type <connection>
  (make-connection socket session condition)
  connection?
  (socket connection-socket)
  (session connection-session)
  (condition connection-condition)
  (reply connection-reply set-connection-reply!))   ; #f or (response . body)

(define (seconds? x) (or (not x) (and (real? x) (>= x 0))))

(define (now)
  (/ (get-internal-real-time) 1. internal-time-units-per-second))

(define (option-error what value)
  (scm-error 'wrong-type-arg "https server"
             "Invalid value for ~a: ~S" (list what value) (list value)))

(define new-socket socket)   ; https-open's #:socket hides it

(define (listening-socket family host addr port given)
  (or given
      (let* ((addr (cond (addr addr)
                         (host (sockaddr:addr
                                (addrinfo:addr
                                 (car (getaddrinfo host #f AI_NUMERICSERV
                                                   family SOCK_STREAM)))))
                         ((= family AF_INET6) 1)          ; ::1
                         (else INADDR_LOOPBACK)))
             (s (new-socket family SOCK_STREAM 0)))
        (setsockopt s SOL_SOCKET SO_REUSEADDR 1)
        (when (= family AF_INET6)
          (setsockopt s IPPROTO_IPV6 IPV6_V6ONLY 1))
        (bind s family addr port)
        (listen s 1024)
        s)))

(define* (https-open #:key
                     (host #f)
                     (family AF_INET)
                     (addr #f)
                     (port 8443)
                     (socket #f)
                     (certificate #f)
                     (private-key #f)
                     (credentials #f)
                     (trusted-certificates #f)
                     (client-certificate #f)
                     (alpn #t)
                     (read-timeout 30)
                     (handshake-timeout 10)
                     (write-timeout 30)
                     (max-connections 512)
                     (ready #f))
  (unless (or credentials (and (string? certificate) (string? private-key)))
    (scm-error 'misc-error "https server"
               "#:certificate and #:private-key (files) are required" '() #f))
  (for-each (lambda (name value)
              (unless (seconds? value) (option-error name value)))
            '(#:read-timeout #:handshake-timeout #:write-timeout)
            (list read-timeout handshake-timeout write-timeout))
  (unless (and (exact-integer? max-connections) (> max-connections 0))
    (option-error #:max-connections max-connections))
  (let ((request (match client-certificate
                   ((or #f 'none 'ignore) 'ignore)
                   ((or 'optional 'request) 'request)
                   ((or 'required 'require) 'require)
                   (_ (option-error #:client-certificate client-certificate))))
        (alpn (match alpn
                ;; What Guile's HTTP server reads: a client that offers
                ;; only http/1.0 (curl --http1.0) is served too.
                (#t '("http/1.1" "http/1.0"))
                ((or #f ()) '())
                (((? string?) ...) alpn)
                (_ (option-error #:alpn alpn))))
        (credentials
         (or credentials
             (let ((c (make-certificate-credentials)))
               (set-certificate-credentials-x509-key-files! c certificate
                                                            private-key)
               c))))
    (when trusted-certificates
      (set-certificate-credentials-x509-trust-file! credentials
                                                    trusted-certificates))
    (when (and (not (eq? request 'ignore)) (not trusted-certificates))
      (scm-error 'misc-error "https server"
                 "#:client-certificate needs #:trusted-certificates" '() #f))
    (let* ((listener (listening-socket family host addr port socket))
           (server (make-https-server listener credentials request alpn
                                      read-timeout handshake-timeout
                                      write-timeout max-connections
                                      (make-mutex) (make-condition-variable))))
      (set-server-requests! server '())
      (set-server-connections! server '())
      (set-server-stopping! server #f)
      (match (direct-handler)
        ((handler . state)
         (set-server-direct! server (cons handler (make-mutex)))
         (set-server-state! server state))
        (#f (set-server-direct! server #f)))
      (set-server-accept-thread!
       server (call-with-new-thread (lambda () (accept-loop server))))
      (when ready
        (ready (https-server-port server)))
      server)))

(define (https-server-port server)
  "Return the TCP port number SERVER listens on, the one the kernel chose
when it was opened with @code{#:port 0}.  SERVER is what
@code{(open-server 'https ...)} returns.  (@code{run-server} never
returns it: there, the @code{#:ready} option receives the port number.)"
  (sockaddr:port (getsockname (server-listener server))))

;;; Accepting.

(define (accept-loop server)
  (set-socket-timeout! (server-listener server) 'accept 0.5)
  (let loop ()
    (unless (server-stopping? server)
      (let ((client (catch #t
                      (lambda () (car (accept (server-listener server))))
                      (lambda (key . args)
                        ;; Timeouts are how we notice `close'; anything
                        ;; else (EMFILE, ECONNABORTED, ...) must not stop
                        ;; the server either: pause a little and go on.
                        (unless (and (eq? key '%exception)
                                     (net-timeout-error? (car args)))
                          (usleep 10000))
                        #f))))
        (when client
          ;; Nothing about one connection may end this loop.
          (catch #t
            (lambda () (start-connection server client))
            (lambda _ (false-if-exception (close-port client)))))
        (loop)))))

(define (start-connection server sock)
  (let ((conn (make-connection sock (make-session connection-end/server)
                               (make-condition-variable))))
    (set-connection-reply! conn #f)
    (if (with-mutex (server-mutex server)
          (and (not (server-stopping? server))
               (< (length (server-connections server))
                  (server-max-connections server))
               (begin
                 (set-server-connections!
                  server (cons conn (server-connections server)))
                 #t)))
        (catch #t
          (lambda ()
            (call-with-new-thread (lambda () (serve-connection server conn))))
          (lambda _ (forget-connection server conn)))
        (close-port sock))))

(define (forget-connection server conn)
  (false-if-exception (close-port (connection-socket conn)))
  (with-mutex (server-mutex server)
    (set-server-connections! server (delq conn (server-connections server)))))

;;; A connection's thread.

(define (serve-connection server conn)
  ;; Whatever happens to this connection ends here, with it.
  (catch #t
    (lambda ()
      (let ((session (connection-session conn)))
        (set-session-transport-port! session (connection-socket conn))
        (set-session-credentials! session (server-credentials server))
        (set-session-client-certificate-request!
         session (server-client-certificate server))
        (unless (null? (server-alpn server))
          (set-session-alpn-protocols! session (server-alpn server)))
        (setsockopt (connection-socket conn) IPPROTO_TCP TCP_NODELAY 1)
        (let* ((limit (server-handshake-timeout server))
               (deadline (and limit (+ (now) limit))))
          (if (plain-http? (connection-socket conn) limit)
              (refuse-plain-http (connection-socket conn))
              (begin
                (set-session-timeout! session
                                      (and deadline (max 0 (- deadline (now)))))
                (handshake session)
                (serve-requests server conn
                                (session-record-port session)))))))
    (lambda _ #f))
  (forget-connection server conn))

(define (plain-http? sock timeout)
  "Wait for the client's first byte, at most TIMEOUT seconds; true when it
is a letter, as plain HTTP starts, rather than a TLS record."
  (set-socket-timeout! sock 'read timeout)
  (let ((bv (make-bytevector 1)))
    (and (= 1 (recv! sock bv MSG_PEEK))
         (let ((b (bytevector-u8-ref bv 0)))
           (or (<= 65 b 90) (<= 97 b 122))))))

(define plain-http-answer
  (let ((text "This port speaks HTTPS: use an https:// URL.\n"))
    (string->utf8
     (string-append "HTTP/1.1 400 Bad Request\r\n"
                    "Content-Type: text/plain\r\n"
                    "Content-Length: " (number->string (string-length text))
                    "\r\nConnection: close\r\n\r\n" text))))

(define (refuse-plain-http sock)
  "Tell a plain-HTTP client, in plain HTTP, that this is an HTTPS port."
  (set-socket-timeout! sock 'write 5)
  (send sock plain-http-answer)
  ;; Read what it sent before closing, so that its unread request does
  ;; not turn our close into a reset that loses the answer.
  (shutdown sock 1)
  (set-socket-timeout! sock 'read 1)
  (let ((buf (make-bytevector 4096)))
    (let drain ((total 0))
      (when (< total 65536)
        (let ((n (recv! sock buf)))
          (when (> n 0) (drain (+ total n))))))))

(define (request-head-reader server session record-port)
  "Return a binary input port reading RECORD-PORT, and a procedure to call
with #t before a request head is read and #f after: while on, all reads
together may take at most the read timeout."
  (let ((deadline #f))
    (values
     (make-custom-binary-input-port
      "https-request"
      (lambda (bv start count)
        (let ((limit (server-read-timeout server)))
          (set-session-timeout!
           session
           (if deadline
               (let ((left (- deadline (now))))
                 (when (<= left 0)
                   (raise-exception (make-net-timeout-error 'read session)))
                 (if limit (min limit left) left))
               limit)))
        (let ((n (get-bytevector-some! record-port bv start count)))
          (if (eof-object? n) 0 n)))
      #f #f #f)
     (lambda (on?)
       (set! deadline (and on? (server-read-timeout server)
                           (+ (now) (server-read-timeout server))))))))

(define (serve-requests server conn record-port)
  (let-values (((in head-deadline!)
                (request-head-reader server (connection-session conn)
                                     record-port)))
    (let loop ()
      (head-deadline! #t)
      (when (not (eof-object? (lookahead-u8 in)))
        (match (catch #t
                 (lambda () (read-request in))
                 (lambda (key . args)
                   ;; A malformed request gets a 400; a timeout or a TLS
                   ;; failure just ends the connection.
                   (if (or (memq key '(gnutls-error system-error))
                           (and (eq? key '%exception) (net-error? (car args))))
                       (apply throw key args)
                       #f)))
          (#f (bad-request server conn record-port))
          (request
           (head-deadline! #f)
           (when (expects-continue? request)
             (put-bytevector record-port continue-line)
             (force-output record-port))
           (let ((body (read-request-body request)))
             (match (if (server-direct server)
                        (handle-here server conn request body)
                        (handle server conn request body))
               ((response . body)
                (when (write-reply server conn record-port request
                                   response body)
                  (loop)))
               (#f #f)))))))))

(define (expects-continue? request)
  ;; curl, for one, waits a second for this before sending a large body.
  (and (equal? (request-version request) '(1 . 1))
       (assq-ref (request-headers request) 'expect)
       (assq '100-continue (assq-ref (request-headers request) 'expect))
       (let ((n (request-content-length request))) (and n (> n 0)))))

(define continue-line (string->utf8 "HTTP/1.1 100 Continue\r\n\r\n"))

(define (bad-request server conn port)
  (set-session-timeout! (connection-session conn) (server-write-timeout server))
  (write-response (build-response #:version '(1 . 0) #:code 400
                                  #:headers '((content-length . 0)
                                              (connection close)))
                  port)
  (force-output port))

(define (handle server conn request body)
  "Queue REQUEST for the loop; return the (response . body) that `write'
gives back, or #f when the server closes first."
  (with-mutex (server-mutex server)
    (set-server-requests! server (append (server-requests server)
                                         (list (list conn request body))))
    (signal-condition-variable (server-condition server))
    (let wait ()
      (cond ((connection-reply conn)
             => (lambda (reply) (set-connection-reply! conn #f) reply))
            ((server-stopping? server) #f)
            (else
             (wait-condition-variable (connection-condition conn)
                                      (server-mutex server)
                                      (+ (current-time) 1))
             (wait))))))

(define sanitize-response
  ;; What run-server applies to a handler's values (not exported).
  (@@ (web server) sanitize-response))

(define (handle-here server conn request body)
  "Call run-https-server's handler in this thread, holding its lock, as
run-server would; return (response . body)."
  (match (server-direct server)
    ((handler . mutex)
     (with-mutex mutex
       (fluid-set! current-session (connection-session conn))
       (let ((reply
              (catch #t
                (lambda ()
                  (call-with-values
                      (lambda () (apply handler request body (server-state server)))
                    (lambda (response body . state)
                      (let-values (((response body)
                                    (sanitize-response request response body)))
                        (set-server-state! server state)
                        (cons response body)))))
                (lambda (key . args)
                  (false-if-exception
                   (print-exception (current-error-port) #f key args))
                  (cons (build-response #:code 500
                                        #:headers '((content-length . 0)))
                        #f)))))
         (fluid-set! current-session #f)
         reply)))))

(define (keep-alive? request response)
  (define (http/1.1? v) (equal? v '(1 . 1)))
  (and (or (< (response-code response) 400) (= (response-code response) 404))
       (not (memq 'close (request-connection request)))
       (not (memq 'close (response-connection response)))
       (or (and (http/1.1? (request-version request))
                (http/1.1? (response-version response)))
           (and (memq 'keep-alive (request-connection request))
                (memq 'keep-alive (response-connection response))))
       #t))

(define (write-reply server conn port request response body)
  "Write RESPONSE and BODY; return #t if the connection stays open."
  (set-session-timeout! (connection-session conn) (server-write-timeout server))
  (let ((response (write-response response port)))
    (when (bytevector? body)
      (write-response-body response body))
    (force-output port)
    (if (keep-alive? request response)
        #t
        (begin
          ;; close_notify, then the socket is closed by our caller.
          (false-if-exception (bye (connection-session conn) close-request/wr))
          #f))))

;;; The server-implementation procedures.  `read' and `write' run in
;;; run-server's thread and never raise.

(define current-session
  ;; Per thread: several servers may run in one process, each loop in a
  ;; thread of its own.
  (make-thread-local-fluid #f))

(define direct-handler
  ;; Set by run-https-server while it opens the server.
  (make-parameter #f))

(define (run-https-server handler . options+state)
  "Serve HTTPS like @code{(run-server handler 'https options . state)},
with the same OPTIONS, but call HANDLER in the thread of each connection,
holding a lock, rather than in this one: HANDLER still runs for one
request at a time and threads STATE from call to call as
@code{run-server} does, while requests no longer travel between threads,
which makes small requests about twice as fast.  HANDLER may then not
rely on running in this thread (thread-local fluids, parameters set
here).  Return only if the server stops; Ctrl-C stops it."
  ;; Checked here: otherwise a non-procedure was only found out when the
  ;; first request came, by every connection thread in turn.
  (unless (procedure? handler)
    (scm-error 'wrong-type-arg "run-https-server"
               "Wrong type argument in position ~A (expecting ~A): ~S"
               (list 1 "procedure" handler) (list handler)))
  (let* ((options (if (pair? options+state) (car options+state) '()))
         (state (if (pair? options+state) (cdr options+state) '()))
         (server (parameterize ((direct-handler (cons handler state)))
                   (apply https-open options))))
    (dynamic-wind
      (lambda () #t)
      (lambda ()
        (let wait ()
          ;; Until the server closes.  (Not join-thread with a time limit:
          ;; in Guile 3.0.8 a second one after a timeout raises "mutex
          ;; already locked".)
          (unless (server-stopping? server)
            (sleep 1)
            (wait))))
      (lambda () (https-close server)))))

(define (https-request-session)
  "Return the TLS session of the request the handler is answering, or #f
outside a handler of the @code{'https} server.  With it a handler can look
at the client's certificate chain (@code{session-peer-certificate-chain}),
the negotiated protocol or ALPN.  Call it from the handler's thread only,
as the handler itself runs."
  (fluid-ref current-session))

(define (https-read server)
  (match (with-mutex (server-mutex server)
           (let wait ()
             (match (server-requests server)
               ((item . rest)
                (set-server-requests! server rest)
                item)
               (()
                (if (server-stopping? server)
                    #f
                    (begin
                      ;; Bounded, so asyncs such as SIGINT's run.
                      (wait-condition-variable (server-condition server)
                                               (server-mutex server)
                                               (+ (current-time) 1))
                      (wait)))))))
    ((conn request body)
     (fluid-set! current-session (connection-session conn))
     (values conn request body))
    (#f (values #f #f #f))))

(define (https-write server conn response body)
  (fluid-set! current-session #f)
  (with-mutex (server-mutex server)
    (set-connection-reply! conn (cons response body))
    (signal-condition-variable (connection-condition conn)))
  (values))

(define (https-close server)
  (let ((conns (with-mutex (server-mutex server)
                 (set-server-stopping! server #t)
                 (for-each (lambda (c)
                             (signal-condition-variable (connection-condition c)))
                           (server-connections server))
                 (server-connections server))))
    (join-thread (server-accept-thread server) (+ (current-time) 5))  ; once
    (close-port (server-listener server))
    ;; Wake connection threads waiting on their client; they close
    ;; their own sockets.
    (for-each (lambda (c)
                (false-if-exception (shutdown (connection-socket c) 2)))
              conns)))

(define-server-impl https
  https-open
  https-read
  https-write
  https-close)
