;;; (web server https) -- HTTPS for Guile's (web server).
;;;
;;;   (run-server handler 'https
;;;               '(#:port 8443 #:host "127.0.0.1"
;;;                 #:certificate "cert.pem" #:private-key "key.pem"))
;;;
;;; serves HTTPS with the same HANDLER a user wrote for 'http.
;;;
;;; Design: one thread, many tasks.  `run-server' is a loop in one thread:
;;; it calls our `read' for a request, calls the handler, then calls our
;;; `write'.  Everything else happens in that thread too, as tasks of a
;;; (net scheduler) scheduler on suspendable ports:
;;;
;;; - an accept task takes connections on the non-blocking listener and
;;;   starts a task per connection (at most #:max-connections at once;
;;;   above that a new connection is closed at once).  It never reads from
;;;   a client: a silent client never delays another;
;;; - a connection's task does all the input and output of its client,
;;;   in steps, each from a fresh stack: it tells plain HTTP from TLS and
;;;   makes the TLS handshake within #:handshake-timeout; it reads each
;;;   request head within #:read-timeout in all (not per read, so a client
;;;   trickling a byte at a time is dropped as well as a silent one), and
;;;   the body, queues the request for `read' and goes idle; `write'
;;;   restarts it with a step that writes the response, each write within
;;;   #:write-timeout, and then waits for the next request while the
;;;   connection is kept alive.  Between requests the task keeps no stack
;;;   (when-ready), so no continuation is captured per request; a step
;;;   that must wait in the middle (a record that comes in parts, a client
;;;   slow to read) suspends in the scheduler, with its deadline;
;;; - `read' runs the ready tasks, returns the next complete request if
;;;   one is queued, and otherwise waits (one epoll_wait for all the
;;;   connections) until some task can go on.  `write' restarts the
;;;   connection's task with the response and runs it at once.
;;;
;;; So the handler runs in run-server's thread, one request at a time, and
;;; no request or response crosses threads.  A slow, stalled or malicious
;;; client (plain HTTP, garbage, an abrupt close, a trickled head) costs
;;; its own task only: every exception in a connection task ends that
;;; connection and nothing else, and `read' and `write' never raise for a
;;; client.  What one thread cannot share is the CPU: a full TLS handshake
;;; takes about 1.5 ms of it, during which the other connections wait.
;;; More cores are used with more processes, each running this server on
;;; the same port with #:reuse-port? (SO_REUSEPORT; see the manual).
;;;
;;; Request heads are parsed here, from the bytes read, with (web http)'s
;;; own parsers (parse-http-method, parse-request-uri, parse-header ...):
;;; under suspendable ports Guile's read-request would read each line and
;;; each character through the Scheme port code, which costs more than
;;; the TLS record that carried them.  Responses are written a record at
;;; a time with record-send, heads joined as strings without a port, and
;;; the session reads ahead (one recv per record): small requests come
;;; out at about the speed of Guile's plain 'http (bench/RESULTS.md).

(define-module (web server https)
  #:use-module (web server)
  #:use-module (web request)
  #:use-module (web response)
  #:use-module (web http)
  #:use-module (net socket)
  #:use-module (net tls)
  #:use-module (net error)
  #:use-module (net scheduler)
  #:use-module ((ice-9 exceptions) #:select (exception-kind quit-exception?))
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
                     max-connections scheduler)
  https-server?
  (listener server-listener)
  (credentials server-credentials)
  (client-certificate server-client-certificate) ; ignore, request, require
  (alpn server-alpn)                             ; list of strings
  (read-timeout server-read-timeout)             ; seconds or #f
  (handshake-timeout server-handshake-timeout)
  (write-timeout server-write-timeout)
  (max-connections server-max-connections)
  (scheduler server-scheduler)
  ;; complete requests for `read', oldest first: (conn request body)
  (head server-head set-server-head!)
  (tail server-tail set-server-tail!)
  (connections server-connections set-server-connections!) ; conn -> #t
  (count server-count set-server-count!)
  ;; #f, then requested (close-server from another thread), then closed
  (stop server-stop set-server-stop!)
  (thread server-thread set-server-thread!)      ; whose loop runs it
  (restore server-restore set-server-restore!)   ; undoes install-scheduler!
  (mutex server-mutex set-server-mutex!)         ; guards BUSY, and closes
  (busy server-busy set-server-busy!))           ; in `read' or `write' now

;;; A connection: the loop's `client' object.

(define-record-type <connection>
  (make-connection socket)
  connection?
  (socket connection-socket)
  (session connection-session set-connection-session!)
  (port connection-port* set-connection-port!)   ; the record port, or #f
  (request connection-request set-connection-request!) ; being answered
  (task connection-task set-connection-task!)    ; serves it, step by step
  ;; bytes read past the last request, for the next one, or #f
  (pending connection-pending set-connection-pending!))

(define (connection-port conn)
  "CONN's TLS record port, made when first needed (a request's port, a
large body), so that a connection waiting for its first request holds
no port buffers."
  (or (connection-port* conn)
      (let ((port (session-record-port (connection-session conn))))
        (set-connection-port! conn port)
        port)))

(define (seconds? x) (or (not x) (and (real? x) (>= x 0))))

(define unit (/ 1. internal-time-units-per-second))
(define (now) (* (get-internal-real-time) unit))
(define (deadline-after seconds) (and seconds (+ (now) seconds)))
(define (time-left deadline) (and deadline (max 0 (- deadline (now)))))

(define (option-error what value)
  (scm-error 'wrong-type-arg "https server"
             "Invalid value for ~a: ~S" (list what value) (list value)))

(define new-socket socket)   ; https-open's #:socket hides it

(define (listening-socket family host addr port given reuse-port?)
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
        (when reuse-port?
          (setsockopt s SOL_SOCKET SO_REUSEPORT 1))
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
                     (reuse-port? #f)
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
    ;; The scheduler first: it installs suspendable ports.
    (let* ((scheduler (make-scheduler))
           (listener (listening-socket family host addr port socket
                                       reuse-port?))
           (server (make-https-server listener credentials request alpn
                                      read-timeout handshake-timeout
                                      write-timeout max-connections
                                      scheduler)))
      (set-server-head! server '())
      (set-server-tail! server '())
      (set-server-connections! server (make-hash-table))
      (set-server-count! server 0)
      (set-server-stop! server #f)
      (set-server-thread! server (current-thread))
      (set-server-mutex! server (make-mutex))
      (set-server-busy! server #f)
      ;; run-server's thread runs the tasks between its calls of `read'
      ;; and `write': the scheduler's waiters are this thread's, once.
      (set-server-restore! server (install-scheduler! scheduler))
      ;; Guile's 'http server ignores SIGPIPE; our sockets never raise it.
      (fcntl listener F_SETFL (logior O_NONBLOCK (fcntl listener F_GETFL)))
      (spawn (lambda () (accept-loop server))
             #:scheduler scheduler #:name "https accept")
      (when ready
        (ready (https-server-port server)))
      server)))

(define (https-server-port server)
  "Return the TCP port number SERVER listens on, the one the kernel chose
when it was opened with @code{#:port 0}.  SERVER is what
@code{(open-server 'https ...)} returns.  (@code{run-server} never
returns it: there, the @code{#:ready} option receives the port number.)"
  (sockaddr:port (getsockname (server-listener server))))

;;; Exceptions.  A connection's failure ends that connection; Ctrl-C (the
;;; interrupt run-server catches) and exit go on out of the scheduler.

(define (passes-through? e)
  (or (quit-exception? e)
      (and (memq (exception-kind e) '(interrupt quit)) #t)))

(define (guarded thunk on-error)
  (with-exception-handler
      (lambda (e)
        (if (passes-through? e)
            (raise-exception e)
            (on-error e)))
    thunk
    #:unwind? #t))

;;; Accepting.

(define accept-flags (logior SOCK_NONBLOCK SOCK_CLOEXEC))

(define (accept-loop server)
  (let ((listener (server-listener server)))
    (let loop ()
      (unless (or (server-stop server) (port-closed? listener))
        (match (guarded (lambda () (accept listener accept-flags))
                        (lambda (e) e))
          ((client . address)
           ;; Nothing about one connection may end this loop.
           (guarded (lambda () (start-connection server client))
                    (lambda (e) (false-if-exception (close-port client)))))
          (_
           ;; EMFILE, ECONNABORTED, ...: pause a little and go on (a
           ;; closed listener ends the loop above).
           (unless (port-closed? listener)
             (task-sleep 0.01))))
        (loop)))))

(define (start-connection server sock)
  (if (>= (server-count server) (server-max-connections server))
      (close-port sock)
      (let ((conn (make-connection sock))
            (deadline (deadline-after (server-handshake-timeout server))))
        (set-connection-pending! conn #f)
        (set-connection-request! conn #f)
        (hashq-set! (server-connections server) conn #t)
        (set-server-count! server (+ 1 (server-count server)))
        ;; Waited on request after request: armed once, not per wait.
        (scheduler-watch! (server-scheduler server) (fileno sock))
        ;; Its task has no stack until the client says something.
        (set-connection-task!
         conn
         (spawn-when-ready (lambda (ready?)
                             (if ready?
                                 (connection-step server conn
                                   (lambda () (start-tls server conn deadline)))
                                 (forget-connection server conn)))
                           sock
                           #:timeout (time-left deadline)
                           #:scheduler (server-scheduler server)
                           #:name "https connection")))))

(define (forget-connection server conn)
  (let ((sock (connection-socket conn)))
    (unless (port-closed? sock)
      (scheduler-unwatch! (server-scheduler server) (fileno sock))
      (false-if-exception (close-port sock))))
  (when (hashq-ref (server-connections server) conn)
    (hashq-remove! (server-connections server) conn)
    (set-server-count! server (- (server-count server) 1))))

;;; A connection's task serves it in steps, each from a fresh stack: the
;;; first tells TLS from plain HTTP and makes the handshake; then a step
;;; reads a request, queues it for `read' and leaves the task idle, and
;;; `write' restarts the task with a step that writes the response and
;;; waits for the next request (when-ready).  Between steps the task keeps
;;; no stack, so no continuation is captured or reinstated per request.
;;; A step may still suspend in the middle (a TLS record that comes in
;;; parts, a client slow to read), each wait bounded by its timeout.

(define (connection-step server conn thunk)
  "Run THUNK, one step of CONN; whatever goes wrong ends CONN only."
  (guarded thunk
           (lambda (e)
             (when (getenv "GUILE_NET_HTTPS_DEBUG")
               (format (current-error-port) "https connection: ~s~%" e))
             (forget-connection server conn))))

(define (start-tls server conn deadline)
  (let ((sock (connection-socket conn))
        (session (make-session connection-end/server)))
    (set-connection-session! conn session)
    (set-session-transport-port! session sock)
    ;; One recv per record, not two (header, rest): bytes-ready? asks
    ;; for what is read ahead before any wait.
    (%set-session-read-ahead! session #t)
    (set-session-credentials! session (server-credentials server))
    (set-session-client-certificate-request!
     session (server-client-certificate server))
    (unless (null? (server-alpn server))
      (set-session-alpn-protocols! session (server-alpn server)))
    (setsockopt sock IPPROTO_TCP TCP_NODELAY 1)
    (case (first-byte sock deadline)
      ((plain)
       (refuse-plain-http sock)
       (forget-connection server conn))
      ((tls)
       (set-session-timeout! session (time-left deadline))
       (handshake session)
       (set-connection-port! conn #f)
       (next-request server conn))
      (else (forget-connection server conn)))))

(define (next-request server conn)
  "In a task of CONN: take its next request now if its bytes are here, or
else once they come, within the read timeout."
  (let ((deadline (deadline-after (server-read-timeout server))))
    (if (or (connection-pending conn) (bytes-ready? conn))
        (take-request server conn deadline)
        (when-ready (lambda (ready?)
                      (if ready?
                          (connection-step server conn
                            (lambda () (take-request server conn deadline)))
                          (forget-connection server conn)))
                    (connection-socket conn)
                    #:timeout (time-left deadline)))))

(define (take-request server conn deadline)
  "Read CONN's next request, its head until DEADLINE, and queue it for
`read'; or end CONN."
  (match (read-next-request server conn deadline)
    ((request . body)
     (set-connection-request! conn request)
     (enqueue-request! server (list conn request body))
     (task-idle))                       ; until `write' restarts it
    ('bad
     (bad-request server conn)
     (forget-connection server conn))
    (#f (forget-connection server conn))))

(define (respond server conn response body)
  "Write the response to CONN's request, then go on with the next."
  (if (write-reply server conn (connection-request conn) response body)
      (next-request server conn)
      (forget-connection server conn)))

(define (first-byte sock deadline)
  "The client's first byte, waited for until DEADLINE: plain when it is a
letter, as plain HTTP starts, tls otherwise (a TLS record), eof or
timeout."
  (let ((bv (make-bytevector 1)))
    (let loop ()
      (match (catch 'system-error
               (lambda () (recv! sock bv MSG_PEEK))
               (lambda args
                 (if (memv (system-error-errno args) (list EAGAIN EINTR))
                     #f
                     (apply throw args))))
        (#f (if (wait-readable sock (time-left deadline))
                (loop)
                'timeout))
        (0 'eof)
        (_ (let ((b (bytevector-u8-ref bv 0)))
             (if (or (<= 65 b 90) (<= 97 b 122)) 'plain 'tls)))))))

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
  (put-bytevector sock plain-http-answer)
  (force-output sock)
  ;; Read what it sent before closing, so that its unread request does
  ;; not turn our close into a reset that loses the answer.
  (shutdown sock 1)
  (set-socket-timeout! sock 'read 1)
  (let ((buf (make-bytevector 4096))
        (end (+ (now) 1)))
    (let drain ((total 0))
      (when (and (< total 65536) (< (now) end))
        (let ((n (get-bytevector-some! sock buf 0 4096)))
          (unless (eof-object? n)
            (drain (+ total n))))))))

;;; Reading requests.

;; The most a request head may take; a longer one is answered 400.
(define max-head-size 65536)

(define (head-end bv start len)
  "The index just past the empty line that ends the head in the first LEN
bytes of BV, looking from START; #f if not there yet."
  (let loop ((i start))
    (cond ((>= i len) #f)
          ((not (eqv? (bytevector-u8-ref bv i) 10)) (loop (+ i 1)))
          ((and (< (+ i 1) len) (eqv? (bytevector-u8-ref bv (+ i 1)) 10))
           (+ i 2))
          ((and (< (+ i 2) len) (eqv? (bytevector-u8-ref bv (+ i 1)) 13)
                (eqv? (bytevector-u8-ref bv (+ i 2)) 10))
           (+ i 3))
          (else (loop (+ i 1))))))

;;; Requests and responses go through the session with record-receive!
;;; and record-send, each a record at a time, rather than through the
;;; record port, whose buffering only adds a copy and a pass through
;;; Guile's port code here.  (The record port is the request's port, for
;;; handlers that want one; nothing is buffered in it.)

(define (bytes-ready? conn)
  "Whether a read of CONN would not wait for its client: records GnuTLS
has decrypted and not yet handed over, or bytes read ahead."
  (%session-input-buffered? (connection-session conn)))

;; What record-receive! decrypts into, copied out at once: one buffer for
;; all connections, as only one task runs at a time and none waits
;; between the receive and the copy.
(define receive-buffer (make-bytevector 16384))

(define (receive! conn bv start count)
  "Receive at most COUNT bytes of CONN into BV at START: their number, 0
at the end of the stream."
  (if (and (zero? start) (= count (bytevector-length bv)))
      (record-receive! (connection-session conn) bv)
      (let* ((buf (if (= count (bytevector-length receive-buffer))
                      receive-buffer
                      (make-bytevector count)))
             (n (record-receive! (connection-session conn) buf)))
        (bytevector-copy! buf 0 bv start n)
        n)))

(define (read-some conn deadline)
  "Read what CONN's client sent next, waiting until DEADLINE at most: a
bytevector, or the EOF object.  A timeout raises &net-timeout."
  ;; Called once the socket is readable (when-ready), or for the rest of
  ;; a head: a read that must wait waits in the scheduler, with what is
  ;; left of the time as its limit.
  (set-session-timeout! (connection-session conn) (time-left deadline))
  (let ((n (record-receive! (connection-session conn) receive-buffer)))
    (if (zero? n)
        the-eof-object
        (let ((bv (make-bytevector n)))
          (bytevector-copy! receive-buffer 0 bv 0 n)
          bv))))

(define (send-all conn bv)
  "Send all of BV to CONN's client, each record within the write timeout."
  (let ((len (bytevector-length bv)))
    (if (<= len 16384)
        ;; one record (what GnuTLS did not take goes in another)
        (let loop ((bv bv))
          (let ((n (record-send (connection-session conn) bv)))
            (when (< n (bytevector-length bv))
              (let ((rest (make-bytevector (- (bytevector-length bv) n))))
                (bytevector-copy! bv n rest 0 (bytevector-length rest))
                (loop rest)))))
        ;; the record port writes large ones straight from BV
        (let ((port (connection-port conn)))
          (put-bytevector port bv)
          (force-output port)))))

(define (append-bytes a a-len b)
  (let ((new (make-bytevector (+ a-len (bytevector-length b)))))
    (bytevector-copy! a 0 new 0 a-len)
    (bytevector-copy! b 0 new a-len (bytevector-length b))
    new))

(define (read-head conn deadline)
  "Read the next request head of CONN until DEADLINE.  Return a bytevector
holding the head and what came after it, and the head's length; or #f
when the client closed the connection before a new request, or 'too-long."
  (let loop ((bv (or (connection-pending conn) #vu8())) (scanned 0))
    (let* ((len (bytevector-length bv))
           (end (head-end bv (max 0 (- scanned 2)) len)))
      (cond
       (end (values bv end))
       ((> len max-head-size) (values 'too-long #f))
       (else
        (let ((more (read-some conn deadline)))
          (cond
           ((not (eof-object? more))
            (loop (if (zero? len) more (append-bytes bv len more)) len))
           ;; Closed before a request, or in the middle of one.
           (else (values #f #f)))))))))

(define (latin-1 bv end)
  (let ((s (make-string end)))
    (let loop ((i 0))
      (if (= i end)
          s
          (begin
            (string-set! s i (integer->char (bytevector-u8-ref bv i)))
            (loop (+ i 1)))))))

(define (head->string bv end)
  "The first END bytes of BV as ISO-8859-1 text, as Guile reads HTTP heads."
  (let ((s (and (= end (bytevector-length bv))
                (catch 'decoding-error
                  (lambda () (utf8->string bv))
                  (lambda _ #f)))))
    ;; ASCII decodes the same either way, one character per byte.
    (if (and s (= (string-length s) end))
        s
        (latin-1 bv end))))

(define (bad-head what text)
  (throw 'bad-request "Bad request: ~a: ~s" (list what text)))

(define (skip-space str i end)
  (if (and (< i end) (char-whitespace? (string-ref str i)))
      (skip-space str (+ i 1) end)
      i))

(define (parse-head str port)
  "Parse the request head STR: return a request on PORT, as read-request
does, or raise."
  (let* ((len (string-length str))
         (line-end (lambda (i) (or (string-index str #\newline i len) len)))
         (content-end (lambda (i j)         ; without a final CR
                        (if (and (> j i) (char=? (string-ref str (- j 1))
                                                  #\return))
                            (- j 1)
                            j))))
    (let* ((nl (line-end 0))
           (e (content-end 0 nl))
           (d0 (string-index str char-set:whitespace 0 e))
           (d1 (string-rindex str char-set:whitespace 0 e)))
      (unless (and d0 d1 (< d0 d1))
        (bad-head "request line" (substring str 0 e)))
      (let ((method (parse-http-method str 0 d0))
            (uri (parse-request-uri str (skip-space str (+ d0 1) d1) d1))
            (version (parse-http-version str (+ d1 1) e)))
        (let loop ((i (+ nl 1)) (headers '()))
          (let* ((nl (line-end i))
                 (j (content-end i nl)))
            (if (or (>= i len) (= i j))
                (build-request uri #:method method #:version version
                               #:headers (reverse! headers)
                               #:validate-headers? #f
                               #:port port)
                (let ((colon (or (string-index str #\: i j)
                                 (bad-head "header" (substring str i j)))))
                  ;; Continuation lines (obsolete folding) join the value.
                  (let fold ((value (string-trim-both str char-set:whitespace
                                                      (+ colon 1) j))
                             (nl nl))
                    (if (and (< (+ nl 1) len)
                             (memv (string-ref str (+ nl 1)) '(#\space #\tab)))
                        (let* ((nl2 (line-end (+ nl 1)))
                               (j2 (content-end (+ nl 1) nl2)))
                          (fold (string-append
                                 value " "
                                 (string-trim-both str char-set:whitespace
                                                   (+ nl 1) j2))
                                nl2))
                        (let ((sym (string->header (substring str i colon))))
                          (loop (+ nl 1)
                                (acons sym (parse-header sym value)
                                       headers)))))))))))))

(define (read-body conn n)
  "Read the N bytes of a request body: from what came after the head, then
from the connection, each read within the read timeout.  Space grows as
bytes come, so a large Content-Length costs only what is sent."
  (let* ((pending (or (connection-pending conn) #vu8()))
         (have (bytevector-length pending)))
    (if (>= have n)
        (let ((body (make-bytevector n)))
          (bytevector-copy! pending 0 body 0 n)
          (set-connection-pending!
           conn (and (> have n)
                     (let ((rest (make-bytevector (- have n))))
                       (bytevector-copy! pending n rest 0 (- have n))
                       rest)))
          body)
        (let loop ((body (let ((b (make-bytevector (min n (max have 65536)))))
                           (bytevector-copy! pending 0 b 0 have)
                           b))
                   (got have))
          (set-connection-pending! conn #f)
          (if (= got n)
              body
              (let* ((body (if (< got (bytevector-length body))
                               body
                               (let ((b (make-bytevector
                                         (min n (* 2 (bytevector-length body))))))
                                 (bytevector-copy! body 0 b 0 got)
                                 b)))
                     (r (receive! conn body got
                                  (min (bytevector-length receive-buffer)
                                       (- (bytevector-length body) got)))))
                (if (zero? r)
                    (throw 'bad-request "EOF while reading request body: ~a bytes of ~a"
                           (list got n))
                    (loop body (+ got r)))))))))

(define (read-next-request server conn deadline)
  "Read CONN's next request, its head until DEADLINE: (request . body), #f
at the end of the connection, or 'bad for a malformed request."
  (let ()
    (let-values (((bv end) (read-head conn deadline)))
      (cond
       ((not bv) #f)
       ((eq? bv 'too-long) 'bad)
       (else
        (set-connection-pending!
         conn (and (< end (bytevector-length bv))
                   (let ((rest (make-bytevector (- (bytevector-length bv) end))))
                     (bytevector-copy! bv end rest 0 (bytevector-length rest))
                     rest)))
        (match (catch #t
                 (lambda ()
                   (parse-head (head->string bv end) (connection-port conn)))
                 (lambda (key . args) #f))
          (#f 'bad)
          (request
           (let ((n (request-content-length request)))
             (when (expects-continue? request)
               (send-all conn continue-line))
             (set-session-timeout! (connection-session conn)
                                   (server-read-timeout server))
             (cons request (and n (read-body conn n)))))))))))

(define (expects-continue? request)
  ;; curl, for one, waits a second for this before sending a large body.
  (and (equal? (request-version request) '(1 . 1))
       (assq-ref (request-headers request) 'expect)
       (assq '100-continue (assq-ref (request-headers request) 'expect))
       (let ((n (request-content-length request))) (and n (> n 0)))))

(define continue-line (string->utf8 "HTTP/1.1 100 Continue\r\n\r\n"))

(define bad-request-bytes
  (call-with-values open-bytevector-output-port
    (lambda (port get)
      (write-response (build-response #:version '(1 . 0) #:code 400
                                      #:headers '((content-length . 0)
                                                  (connection close)))
                      port)
      (get))))

(define (bad-request server conn)
  (set-session-timeout! (connection-session conn) (server-write-timeout server))
  (send-all conn bad-request-bytes))

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

;;; Writing responses.
;;;
;;; The head is made as a string, as (web response)'s write-response would
;;; write it: every header the handler gives is written by (web http)'s
;;; own writer, except the few whose text is plain (the length, the media
;;; type, Connection, and opaque strings), which are joined here without
;;; a port: a port per response cost more than the TLS record it went in.

(define opaque-writer (header-writer 'server))

(define (symbols-text items)
  (string-join (map (lambda (x)
                      (if (eq? x 'close) "close" (header->string x)))
                    items)
               ", "))

(define (header-pieces name value pieces)
  "Cons the text of header NAME with VALUE, CRLF first, onto PIECES (a
reversed list of strings), when it is plain text made here; #f for a
writer of (web http) to write."
  (case name
    ((content-length)
     (and (exact-integer? value) (>= value 0)
          (cons* "\r\n" (number->string value) "Content-Length: " pieces)))
    ((content-type)
     (match value
       (((? symbol? type) . params)
        (let loop ((params params)
                   (pieces (cons* (symbol->string type) "Content-Type: "
                                  pieces)))
          (match params
            (() (cons "\r\n" pieces))
            ((((? symbol? k) . (? string? v)) . rest)
             (loop rest (cons* v "=" (symbol->string k) ";" pieces)))
            (_ #f))))
       (_ #f)))
    ((connection)
     (and (list? value) (and-map symbol? value)
          (cons* "\r\n" (symbols-text value) "Connection: " pieces)))
    (else
     (and (string? value)
          (or (not (known-header? name))
              (eq? (header-writer name) opaque-writer))
          (cons* "\r\n" value ": " (header->string name) pieces)))))

(define status-lines
  ;; code -> (version reason . line): the status line last made for CODE
  (make-vector 600 #f))

(define (status-line version code reason)
  (let ((cached (and (exact-integer? code) (< -1 code 600)
                     (vector-ref status-lines code))))
    (if (and cached (equal? (car cached) version)
             (string=? (cadr cached) reason))
        (cddr cached)
        (let ((line (string-append
                     "HTTP/" (number->string (car version)) "."
                     (number->string (cdr version)) " "
                     (number->string code) " " reason "\r\n")))
          (when (and (exact-integer? code) (< -1 code 600))
            (vector-set! status-lines code (cons* version reason line)))
          line))))

(define (response-head response)
  "The head of RESPONSE, as write-response writes it, as a string."
  (let loop ((headers (response-headers response))
             (pieces (list (status-line (response-version response)
                                        (response-code response)
                                        (response-reason-phrase response)))))
    (match headers
      (()
       (string-concatenate-reverse (cons "\r\n" pieces)))
      (((name . value) . rest)
       (let ((pieces (header-pieces name value pieces)))
         (if pieces
             (loop rest pieces)
             ;; Something only its writer knows: write it all so.
             (call-with-output-string
               (lambda (port) (write-response response port)))))))))

(define (latin-1-bytes text)
  "TEXT as ISO-8859-1 bytes, as Guile's HTTP server writes heads (a
character above 255 as ?)."
  (let ((bv (string->utf8 text)))
    (if (= (bytevector-length bv) (string-length text))
        bv                              ; ASCII
        (let* ((n (string-length text))
               (bv (make-bytevector n)))
          (let loop ((i 0))
            (when (< i n)
              (let ((c (char->integer (string-ref text i))))
                (bytevector-u8-set! bv i (if (< c 256) c 63)))
              (loop (+ i 1))))
          bv))))

(define (write-reply server conn request response body)
  "Write RESPONSE and BODY; return #t if the connection stays open."
  (let ((session (connection-session conn))
        (head (latin-1-bytes (response-head response))))
    (set-session-timeout! session (server-write-timeout server))
    (if (and (bytevector? body) (<= (bytevector-length body) 16000))
        ;; head and body in one record
        (let* ((h (bytevector-length head))
               (all (make-bytevector (+ h (bytevector-length body)))))
          (bytevector-copy! head 0 all 0 h)
          (bytevector-copy! body 0 all h (bytevector-length body))
          (send-all conn all))
        (begin
          (send-all conn head)
          (when (bytevector? body)
            (send-all conn body))))
    (or (keep-alive? request response)
        (begin
          ;; close_notify, then the socket is closed by our caller.
          (false-if-exception (bye session close-request/wr))
          #f))))

;;; The queue of complete requests.

(define (enqueue-request! server item)
  (let ((cell (list item)))
    (if (null? (server-head server))
        (set-server-head! server cell)
        (set-cdr! (server-tail server) cell))
    (set-server-tail! server cell)))

(define (dequeue-request! server)
  (let ((head (server-head server)))
    (and (pair? head)
         (begin
           (set-server-head! server (cdr head))
           (when (null? (cdr head))
             (set-server-tail! server '()))
           (car head)))))

;;; The server-implementation procedures: run-server's thread.

(define current-session
  ;; Per thread: several servers may run in one process, each loop in a
  ;; thread of its own.
  (make-thread-local-fluid #f))

(define (run-https-server handler . options+state)
  "Serve HTTPS as @code{(run-server handler 'https options . state)} does,
with the same OPTIONS and STATE: it is that call, kept for the programs
that used it when the two differed.  HANDLER runs in this thread, one
request at a time.  Return when the server stops (Ctrl-C, or
@code{close-server} from another thread)."
  ;; Checked here, as run-server would only find out at the first request.
  (unless (procedure? handler)
    (scm-error 'wrong-type-arg "run-https-server"
               "Wrong type argument in position ~A (expecting ~A): ~S"
               (list 1 "procedure" handler) (list handler)))
  (let ((options (if (pair? options+state) (car options+state) '()))
        (state (if (pair? options+state) (cdr options+state) '())))
    (apply run-server handler 'https options state)))

(define (https-request-session)
  "Return the TLS session of the request the handler is answering, or #f
outside a handler of the @code{'https} server.  With it a handler can look
at the client's certificate chain (@code{session-peer-certificate-chain}),
the negotiated protocol or ALPN.  Call it from the handler's thread only,
as the handler itself runs."
  (fluid-ref current-session))

(define (https-read server)
  (let ((s (server-scheduler server)))
    (set-server-thread! server (current-thread))
    (enter! server)
    (let loop ()
      (when (server-stop server)
        (close-now server)
        (leave! server)
        ;; Closed (from another thread, or before): run-server stops.
        (throw 'interrupt))
      (scheduler-run-ready! s)
      (match (dequeue-request! server)
        ((conn request body)
         (leave! server)
         (fluid-set! current-session (connection-session conn))
         (values conn request body))
        (#f
         (scheduler-poll! s)
         (loop))))))

(define (https-write server conn response body)
  (fluid-set! current-session #f)
  (enter! server)
  ;; A task writes it now, until done or its client makes it wait; then
  ;; it goes on with the connection's next request.
  (when (and (not (server-stop server))
             (restart-task! (connection-task conn)
                            (lambda ()
                              (connection-step server conn
                                (lambda () (respond server conn response body))))))
    (scheduler-run-ready! (server-scheduler server)))
  (leave! server)
  (values))

;;; `read' and `write' run the scheduler; between them (the handler) it
;;; rests.  A close from another thread closes the server itself while
;;; it rests, and otherwise asks the serving thread to.

(define (enter! server)
  (with-mutex (server-mutex server)
    (set-server-busy! server #t)))

(define (leave! server)
  (with-mutex (server-mutex server)
    (set-server-busy! server #f)))

(define (close-now server)
  "Stop serving: the listener and every connection are closed, the tasks
dropped."
  (unless (eq? (server-stop server) 'closed)
    (set-server-stop! server 'closed)
    (false-if-exception (close-port (server-listener server)))
    (for-each (lambda (conn) (forget-connection server conn))
              (hash-map->list (lambda (conn _) conn)
                              (server-connections server)))
    (set-server-connections! server (make-hash-table))
    (set-server-count! server 0)
    (set-server-head! server '())
    (set-server-tail! server '())
    (scheduler-close! (server-scheduler server))
    (when (eq? (current-thread) (server-thread server))
      ((server-restore server)))))

(define (https-close server)
  (if (or (eq? (server-thread server) (current-thread))
          (eq? (server-stop server) 'closed))
      (close-now server)
      (let ((here? (with-mutex (server-mutex server)
                     (or (server-busy server)
                         ;; resting: close it from here, now
                         (begin (close-now server) #f)))))
        (when here?
          ;; The serving thread closes it, at once if it waits in `read'.
          (unless (server-stop server)
            (set-server-stop! server 'requested))
          (scheduler-wake! (server-scheduler server))
          (let wait ((i 0))
            (unless (or (eq? (server-stop server) 'closed) (>= i 500))
              (usleep 10000)
              (wait (+ i 1))))))))

(define-server-impl https
  https-open
  https-read
  https-write
  https-close)
