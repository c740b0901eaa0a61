;;; (net tcp) -- CHICKEN's (chicken tcp) for Guile, speaking IPv6 too.
;;;
;;; TCP listeners and connections as pairs of ports, with timeouts taken
;;; from parameters when a connection is made, as CHICKEN does.  Timeouts
;;; are in milliseconds, #f for none; an expired one raises &net-timeout
;;; from (net error).  Errors are the library's conditions: host not found,
;;; connection refused, system errors.

(define-module (net tcp)
  #:use-module (net socket)
  #:use-module (net error)
  #:use-module (net tls)
  #:use-module (srfi srfi-9)
  #:use-module (srfi srfi-9 gnu)
  #:use-module (ice-9 match)
  #:use-module (ice-9 regex)
  #:use-module (ice-9 exceptions)
  #:export (tcp-listen
            tcp-listener?
            tcp-close
            tcp-accept
            tcp-accept-ready?
            tcp-listener-port
            tcp-listener-fileno
            tcp-listener-socket
            tcp-connect
            tcp-addresses
            tcp-port-numbers
            tcp-abandon-port
            tcp-buffer-size
            tcp-read-timeout
            tcp-write-timeout
            tcp-connect-timeout
            tcp-accept-timeout
            tcp-handshake-timeout
            tcp-connect/tls
            tcp-accept/tls
            parse-host-and-port)
  #:re-export (connect-to-host
               connect-to-addresses))

;;; Parameters, read when a connection is made.

(define (timeout-guard name)
  (lambda (ms)
    (unless (or (not ms) (and (real? ms) (>= ms 0)))
      (scm-error 'wrong-type-arg name
                 "Wrong type argument (expecting milliseconds or #f): ~S"
                 (list ms) (list ms)))
    ms))

(define tcp-buffer-size
  ;; Size of the output buffer of connection ports; #f for none.
  (make-parameter #f (lambda (n)
                       (unless (or (not n) (and (exact-integer? n) (> n 0)))
                         (scm-error 'wrong-type-arg 'tcp-buffer-size
                                    "Wrong type argument (expecting positive integer or #f): ~S"
                                    (list n) (list n)))
                       ;; setvbuf takes a C int: a bigger size used to pass
                       ;; here and fail later, in tcp-connect, after the
                       ;; connection was made.
                       (when (and n (> n (- (expt 2 31) 1)))
                         (scm-error 'out-of-range 'tcp-buffer-size
                                    "Value out of range (at most 2^31-1 bytes): ~S"
                                    (list n) (list n)))
                       n)))
(define tcp-read-timeout (make-parameter 60000 (timeout-guard 'tcp-read-timeout)))
(define tcp-write-timeout (make-parameter 60000 (timeout-guard 'tcp-write-timeout)))
(define tcp-connect-timeout (make-parameter #f (timeout-guard 'tcp-connect-timeout)))
(define tcp-accept-timeout (make-parameter #f (timeout-guard 'tcp-accept-timeout)))
(define tcp-handshake-timeout
  (make-parameter 60000 (timeout-guard 'tcp-handshake-timeout)))

(for-each (lambda (parameter doc)
            ;; A parameter is an applicable struct: Guile's
            ;; procedure-documentation (and so `help' and ,describe) reads
            ;; the procedure inside it, procedure-properties the struct.
            (set-procedure-property! parameter 'documentation doc)
            (when (and (struct? parameter) (procedure? (struct-ref parameter 0)))
              (set-procedure-property! (struct-ref parameter 0)
                                       'documentation doc)))
          (list tcp-buffer-size tcp-read-timeout tcp-write-timeout
                tcp-connect-timeout tcp-accept-timeout tcp-handshake-timeout)
          '("Parameter: the size of the output buffer of connection ports, a
positive integer of at most 2^31-1 bytes, or #f (the default) for none:
then every write is sent at once.  Read when a connection is made."
            "Parameter: milliseconds each read on a connection may wait, or #f
for no limit; default 60000.  Read when a connection is made; for TLS,
each record read or write after the handshake."
            "Parameter: milliseconds each write on a connection may wait, or #f
for no limit; default 60000.  Read when a connection is made."
            "Parameter: milliseconds tcp-connect and tcp-connect/tls may take to
connect, trying every address, or #f (the default) for no limit."
            "Parameter: milliseconds tcp-accept and tcp-accept/tls may wait for
a connection, or #f (the default) for no limit."
            "Parameter: milliseconds the TLS handshake of tcp-connect/tls and
tcp-accept/tls may take, or #f for no limit; default 60000.  Read when
the connection is made; tcp-accept/tls's handshake runs at the first read
or write of its port."))

(define (ms->seconds ms) (and ms (/ ms 1000.)))

;;; Listeners.

(define-record-type <tcp-listener>
  (make-tcp-listener socket)
  tcp-listener?
  (socket tcp-listener-socket))

(set-record-type-printer! <tcp-listener>
  (lambda (listener port)
    (format port "#<tcp-listener ~a>" (tcp-listener-socket listener))))

(define (check-listener who obj)
  (unless (tcp-listener? obj)
    (scm-error 'wrong-type-arg who
               "Wrong type argument in position ~A (expecting ~A): ~S"
               (list 1 "tcp-listener" obj) (list obj))))

(define (check-port-number who port)
  (unless (exact-integer? port)
    (scm-error 'wrong-type-arg who
               "Wrong type argument in position ~A (expecting ~A): ~S"
               (list 1 "port number" port) (list port)))
  (unless (<= 0 port 65535)
    (scm-error 'out-of-range who "Port number out of range: ~S"
               (list port) (list port))))

(define (resolve who host service flags)
  "getaddrinfo for stream sockets, with &host-not-found for unknown names."
  (getaddrinfo host service (logior flags AI_ADDRCONFIG) AF_UNSPEC SOCK_STREAM))

(define* (tcp-listen port #:optional (backlog 100) host)
  "Listen for TCP connections on PORT (0: let the kernel choose, see
`tcp-listener-port') with at most BACKLOG waiting; on every address, IPv6
and IPv4, or only on HOST's address when HOST (a name or numeric address)
is given.  Return a listener."
  (check-port-number 'tcp-listen port)
  (let ((addresses
         (if host
             (map addrinfo:addr (resolve 'tcp-listen host (number->string port)
                                         AI_PASSIVE))
             ;; Dual stack: [::] also takes IPv4; plain 0.0.0.0 when the
             ;; machine has no IPv6.
             (list (make-socket-address AF_INET6 0 port)
                   (make-socket-address AF_INET INADDR_ANY port)))))
    (make-tcp-listener (listen-on-addresses addresses #:backlog backlog
                                            #:dual-stack? (not host)))))

(define (tcp-close listener)
  "Stop listening and release LISTENER's socket."
  (check-listener 'tcp-close listener)
  (close-port (tcp-listener-socket listener)))

(define (tcp-listener-port listener)
  "The TCP port number LISTENER listens on."
  (check-listener 'tcp-listener-port listener)
  (sockaddr:port (getsockname (tcp-listener-socket listener))))

(define (tcp-listener-fileno listener)
  "The descriptor of LISTENER's socket."
  (check-listener 'tcp-listener-fileno listener)
  (fileno (tcp-listener-socket listener)))

(define (tcp-accept-ready? listener)
  "True when a connection is waiting on LISTENER, so tcp-accept would not wait."
  (check-listener 'tcp-accept-ready? listener)
  (pair? (car (select (list (tcp-listener-socket listener)) '() '() 0))))

(define (prepare-connection! sock)
  "Set SOCK's timeouts from the parameters; return SOCK."
  (set-socket-timeout! sock 'read (ms->seconds (tcp-read-timeout)))
  (set-socket-timeout! sock 'write (ms->seconds (tcp-write-timeout)))
  (setsockopt sock IPPROTO_TCP TCP_NODELAY 1)
  sock)

(define (connection-ports sock)
  "Prepare SOCK, then split it into the input and output ports CHICKEN
gives."
  ;; Close SOCK if preparing it fails (setsockopt, setvbuf's allocation):
  ;; the caller never sees it, so it would leak until the GC.
  (with-exception-handler
      (lambda (e) (close-port sock) (raise-exception e))
    (lambda ()
      (call-with-values
          (lambda () (socket-port-split! (prepare-connection! sock)))
        (lambda (in out)
          (setvbuf in 'block 4096)
          (when (tcp-buffer-size)
            (setvbuf out 'block (tcp-buffer-size)))
          (values in out))))))

(define (tcp-accept listener)
  "Wait for a connection on LISTENER, at most `tcp-accept-timeout'
milliseconds, and return two values: an input port and an output port.
Reads and writes on them time out after `tcp-read-timeout' and
`tcp-write-timeout' as they were at this call.  Other threads run while
it waits."
  (connection-ports (accept-connection 'tcp-accept listener)))

(define (accept-connection who listener)
  (check-listener who listener)
  (let* ((s (tcp-listener-socket listener))
         (timeout (ms->seconds (tcp-accept-timeout)))
         ;; A non-blocking listener (made so for a scheduler, with fcntl
         ;; on tcp-listener-socket) gives non-blocking connections.
         (flags (if (logtest O_NONBLOCK (fcntl s F_GETFL)) SOCK_NONBLOCK 0))
         (deadline (and timeout (+ (get-internal-real-time)
                                   (* timeout internal-time-units-per-second)))))
    (set-socket-timeout! s 'accept timeout)
    (let retry ()
      (match (accept s flags)
        ((sock . address) (prepare-connection! sock))
        (#f
         ;; Non-blocking, nothing waiting, no suspendable ports: wait for
         ;; one here, within the accept timeout, as a blocking one would.
         (let ((left (and deadline
                          (/ (- deadline (get-internal-real-time)) 1.
                             internal-time-units-per-second))))
           (when (and left (<= left 0))
             (raise-exception (make-exception
                               (make-net-timeout-error 'accept s)
                               (make-exception-with-origin who)
                               (make-exception-with-message "accept timed out")
                               (make-exception-with-irritants (list s)))))
           (select (list s) '() '()
                   (and left (inexact->exact (floor left)))
                   (if left (inexact->exact (floor (* 1e6 (- left (floor left))))) 0))
           (retry)))))))

;;; Connecting.

(define (parse-host-and-port text)
  "Split \"host:port\", \"[v6-address]:port\" or a bare host into the host
and the port or service name (#f when absent): two values."
  (cond ((string-match "^\\[([^]]*)\\](:(.*))?$" text)
         => (lambda (m) (values (match:substring m 1) (match:substring m 3))))
        ((and (= 1 (length (filter (lambda (c) (char=? c #\:)) (string->list text))))
              (string-index text #\:))
         => (lambda (i) (values (substring text 0 i) (substring text (+ i 1)))))
        (else (values text #f))))

(define* (tcp-connect host #:optional port)
  "Connect to HOST, a name or address, at PORT; without PORT, HOST is
\"host:port\" (or \"[v6-address]:port\"), where the port may be a service
name such as \"http\".  Every address HOST resolves to is tried, IPv6 and
IPv4, within `tcp-connect-timeout' milliseconds.  Return two values: an
input port and an output port, with the current read and write timeouts."
  (connection-ports (connect-connection 'tcp-connect host port)))

(define (connect-connection who host port)
  "The connected and prepared socket of tcp-connect and its TLS twin."
  (unless (string? host)
    (scm-error 'wrong-type-arg who
               "Wrong type argument in position ~A (expecting ~A): ~S"
               (list 1 "string" host) (list host)))
  (call-with-values
      (lambda () (if port (values host port) (parse-host-and-port host)))
    (lambda (host service)
      (unless service
        (scm-error 'misc-error who "no port given in ~S" (list host) #f))
      (when (number? service) (check-port-number who service))
      (prepare-connection!
       (connect-to-host host service
                        #:timeout (ms->seconds (tcp-connect-timeout)))))))

;;; Connection ports.

(define* (check-connection-port who port #:optional tls?)
  ;; TLS?: a TLS port of tcp-connect/tls or tcp-accept/tls will do too.
  (unless (and (or (socket-port? port) (and tls? (tls-record-port? port)))
               (not (port-closed? port)))
    (scm-error 'wrong-type-arg who
               "Wrong type argument in position ~A (expecting ~A): ~S"
               (list 1 "open TCP port" port) (list port))))

(define (address->string address)
  ;; A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d; show a.b.c.d.
  (let ((family (sockaddr:fam address)) (addr (sockaddr:addr address)))
    (if (and (= family AF_INET6)
             (= (ash addr -32) #xffff))
        (inet-ntop AF_INET (logand addr #xffffffff))
        (inet-ntop family addr))))

(define (tcp-addresses port)
  "Return the local and the remote address of connection PORT (a TLS port
too) as strings: two values."
  (check-connection-port 'tcp-addresses port #t)
  (values (address->string (getsockname port))
          (address->string (getpeername port))))

(define (tcp-port-numbers port)
  "Return the local and the remote TCP port number of connection PORT (a
TLS port too): two values."
  (check-connection-port 'tcp-port-numbers port #t)
  (values (sockaddr:port (getsockname port))
          (sockaddr:port (getpeername port))))

(define (tcp-abandon-port port)
  "Mark connection PORT abandoned: closing it then leaves the connection
itself up (for a process that hands it on, e.g. after a fork)."
  (check-connection-port 'tcp-abandon-port port)
  (socket-port-abandon! port))

;;; TLS twins: the same, with a TLS port.

(define (tls-ports session)
  ;; CHICKEN's TLS connections are an input and an output port too; here
  ;; they are the one TLS port, so closing either closes the connection.
  (let ((port (session-record-port session)))
    (when (tcp-buffer-size)
      (setvbuf port 'block (tcp-buffer-size)))
    (values port port)))

(define (handshake-within session)
  ;; The parameters as they are now, at the call, for a handshake that may
  ;; come later (tcp-accept/tls).
  (let ((handshake-timeout (ms->seconds (tcp-handshake-timeout)))
        (read-timeout (ms->seconds (tcp-read-timeout))))
    (lambda ()
      (set-session-timeout! session handshake-timeout)
      (handshake session)
      ;; Afterwards each record read or write may take the read timeout.
      (set-session-timeout! session read-timeout))))

(define* (tcp-connect/tls host #:optional port
                          #:key credentials server-name (alpn '()))
  "Like tcp-connect, then a TLS handshake within `tcp-handshake-timeout'
milliseconds that verifies the server: against CREDENTIALS' trust, or the
system's trust store when CREDENTIALS is #f, with the host name
SERVER-NAME (default HOST).  ALPN lists protocols to offer.  Return the
TLS port twice, as input and output port: closing either closes the
connection."
  (let ((sock (connect-connection 'tcp-connect/tls host port))
        (session (make-session connection-end/client)))
    (with-exception-handler
        (lambda (e) (close-port sock) (raise-exception e))
      (lambda ()
        (set-session-transport-port! session sock)
        (set-session-credentials! session
                                  (or credentials (make-certificate-credentials)))
        (let ((name (or server-name
                        (call-with-values (lambda () (parse-host-and-port host))
                          (lambda (h p) h)))))
          (set-session-server-name! session server-name-type/dns name))
        (unless (null? alpn) (set-session-alpn-protocols! session alpn))
        ((handshake-within session))
        (tls-ports session))
      #:unwind? #t)))

(define defer-handshake! (@@ (net tls) defer-handshake!))

(define* (tcp-accept/tls listener credentials
                         #:key (alpn '()) (client-certificate 'ignore))
  "Like tcp-accept, for TLS as the server with CREDENTIALS: return the
TLS port twice, as input and output port, at once.  Its first read or
write (or `handshake' of its session) does the handshake, within
`tcp-handshake-timeout' milliseconds, in the thread or task that uses it,
so that a client that sends nothing holds up no other; a failed handshake
raises its error there.  ALPN lists the protocols accepted;
CLIENT-CERTIFICATE is ignore, request or require."
  ;; The arguments are checked before a connection is taken.
  (check-listener 'tcp-accept/tls listener)
  (unless (certificate-credentials? credentials)
    (scm-error 'wrong-type-arg "tcp-accept/tls"
               "Wrong type argument in position ~A (expecting ~A): ~S"
               (list 2 "certificate credentials" credentials) (list credentials)))
  (unless (and (list? alpn) (and-map string? alpn))
    (scm-error 'wrong-type-arg "tcp-accept/tls"
               "Wrong type argument (expecting a list of strings for #:alpn): ~S"
               (list alpn) (list alpn)))
  (let* ((request
          (case client-certificate
            ((ignore) certificate-request/ignore)
            ((request) certificate-request/request)
            ((require) certificate-request/require)
            (else (scm-error 'out-of-range "tcp-accept/tls"
                             "client-certificate must be ignore, request or require: ~S"
                             (list client-certificate) (list client-certificate)))))
         (sock (accept-connection 'tcp-accept/tls listener))
         (session (make-session connection-end/server)))
    (with-exception-handler
        (lambda (e) (close-port sock) (raise-exception e))
      (lambda ()
        (set-session-transport-port! session sock)
        (set-session-credentials! session credentials)
        (set-server-session-certificate-request! session request)
        (unless (null? alpn) (set-session-alpn-protocols! session alpn))
        (defer-handshake! (session-record-port session)
                          (handshake-within session))
        (tls-ports session))
      #:unwind? #t)))
