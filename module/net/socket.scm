;;; (net socket) -- Guile's socket API, implemented by libguile-net.
;;;
;;; Same names, arguments, results and errors as Guile's built-in socket
;;; procedures, so existing code keeps working after (use-modules (net
;;; socket)); the module replaces the core bindings.  What differs is what
;;; the core gets wrong: blocking calls never hold up other threads and are
;;; interruptible, a vanished peer is EPIPE rather than SIGPIPE, numbers out
;;; of range are errors rather than silently truncated, and every primitive
;;; has a docstring.
;;;
;;; A socket is a port of type `socket'.  Guile's `fileno', `port->fdes',
;;; `fcntl' and `select' only know file ports, so this module replaces them
;;; with versions that also accept socket ports.

(define-module (net socket)
  #:use-module (net config)
  #:use-module ((ice-9 ports) #:select ((fileno . core-fileno)
                                        (port->fdes . core-port->fdes)))
  #:use-module ((guile) #:select ((fcntl . core-fcntl)))
  #:use-module ((ice-9 suspendable-ports)
                #:select (current-read-waiter current-write-waiter))
  #:use-module ((ice-9 ports internal)
                #:select (port-read-buffer port-buffer-cur port-buffer-end
                          port-read-wait-fd))
  #:replace (socket socketpair
             getsockopt setsockopt
             shutdown connect bind listen accept
             getsockname getpeername
             recv! send recvfrom! sendto
             make-socket-address
             sockaddr:fam sockaddr:addr sockaddr:port sockaddr:path
             sockaddr:flowinfo sockaddr:scopeid
             inet-pton inet-ntop
             getaddrinfo gai-strerror
             addrinfo:flags addrinfo:fam addrinfo:socktype addrinfo:protocol
             addrinfo:addr addrinfo:canonname
             fileno port->fdes fcntl select)
  #:use-module (net error)
  #:use-module (net wait)
  #:re-export (suspendable-ports-installed? socket-time-left)
  #:use-module (srfi srfi-1)
  #:use-module (srfi srfi-9)
  #:use-module (srfi srfi-9 gnu)
  #:use-module (ice-9 match)
  #:use-module (ice-9 threads)
  #:use-module (ice-9 exceptions)
  #:export (socket-port?
            recvmmsg! sendmmsg
            socket-timeout
            set-socket-timeout!
            socket-port-split!
            socket-port-abandon!
            connect-to-host
            connect-to-addresses
            listen-on-addresses
            ;; Sagittarius's (net socket), in net/socket/options.scm
            socket-options? tls-socket-options? server-tls-socket-options?
            socket-options-builder tls-socket-options-builder
            server-tls-socket-options-builder
            make-client-socket make-client-tls-socket
            make-server-socket make-server-tls-socket
            socket-options->client-socket
            socket-accept tls-server-socket? tls-server-socket-socket
            socket-set-read-timeout!))

;; Loaded at expansion time too, so the compiler sees the primitives.
(eval-when (expand load eval)
  (load-guile-net-extension "scm_init_guile_net_socket"))

;; Export every constant the C side defined: replace the core's where it
;; has one of that name, export the rest (IPV6_V6ONLY, MSG_WAITALL, ...).
(let ((core (resolve-interface '(guile)))
      (this (current-module)))
  (for-each (lambda (name)
              (if (module-variable core name)
                  (module-replace! this (list name))
                  (module-export! this (list name))))
            (%socket-constant-names)))

;;; Socket addresses and address information are Guile's vectors.

(define-syntax-rule (define-vector-accessor name kind index doc)
  (define (name obj)
    doc
    (if (and (vector? obj) (> (vector-length obj) index))
        (vector-ref obj index)
        (scm-error 'wrong-type-arg (symbol->string 'name)
                   "Wrong type argument in position ~A (expecting ~A): ~S"
                   (list 1 kind obj) (list obj)))))

(define-vector-accessor sockaddr:fam "socket address" 0
  "Return the address family of socket address OBJ.")
(define-vector-accessor sockaddr:addr "socket address" 1
  "Return the integer host address of AF_INET or AF_INET6 socket address OBJ.")
(define-vector-accessor sockaddr:path "socket address" 1
  "Return the file name of AF_UNIX socket address OBJ (#f if unnamed).")
(define-vector-accessor sockaddr:port "socket address" 2
  "Return the port number of AF_INET or AF_INET6 socket address OBJ.")
(define-vector-accessor sockaddr:flowinfo "socket address" 3
  "Return the flow information of AF_INET6 socket address OBJ.")
(define-vector-accessor sockaddr:scopeid "socket address" 4
  "Return the scope identifier of AF_INET6 socket address OBJ.")

(define-vector-accessor addrinfo:flags "address information" 0
  "Return the AI_ flags of address information OBJ.")
(define-vector-accessor addrinfo:fam "address information" 1
  "Return the address family of address information OBJ.")
(define-vector-accessor addrinfo:socktype "address information" 2
  "Return the socket type of address information OBJ.")
(define-vector-accessor addrinfo:protocol "address information" 3
  "Return the protocol of address information OBJ.")
(define-vector-accessor addrinfo:addr "address information" 4
  "Return the socket address of address information OBJ.")
(define-vector-accessor addrinfo:canonname "address information" 5
  "Return the canonical host name of address information OBJ, or #f.")

;;; accept, connect and the port's reads and writes wait in the waiters
;;; under suspendable ports, through (net wait)'s loop.

(define* (accept sock #:optional (flags 0))
  (perform-operation (%accept sock flags) (%socket-operation sock 'accept)))

(define (connect sock fam-or-sockaddr . args)
  (let ((result (apply %connect sock fam-or-sockaddr args)))
    (if (eq? result %would-block)       ; under way: wait until it is made
        (wait-and-retry (%socket-operation sock 'connect)
                        (lambda () (%connect-finish! sock)))
        result)))

(set-procedure-property! accept 'documentation
                         (procedure-documentation %accept))
(set-procedure-property! connect 'documentation
                         (procedure-documentation %connect))

;; Guile's suspendable reads and writes (get-u8, read-line, put-string,
;; ...) call these for socket ports.
(%set-socket-port-scm-io!
 (lambda (port bv start count)
   (perform-operation (%socket-read! port bv start count)
                      (%socket-operation port 'read)))
 (lambda (port bv start count)
   (perform-operation (%socket-write! port bv start count)
                      (%socket-operation port 'write))))

;;; Guile's descriptor procedures, extended to socket ports, and to what
;;; is made of them: the TLS port (record port) of a session and a TLS
;;; server socket (net/socket/options.scm) stand for their socket.

(define (tls-record-port? obj)
  ;; (net tls) uses this module, so it is looked up, not imported; until
  ;; it is loaded there is no TLS port.
  (let ((tls (resolve-module '(net tls) #f #:ensure #f)))
    (and tls (module-defined? tls 'tls-record-port?)
         ((module-ref tls 'tls-record-port?) obj))))

(define (tls-transport who port)
  "The transport of TLS port PORT: its socket port, or its descriptor."
  (when (port-closed? port)
    (scm-error 'wrong-type-arg who
               "Wrong type argument in position ~A (expecting ~A): ~S"
               (list 1 "open port" port) (list port)))
  (let* ((tls (resolve-module '(net tls)))
         (session ((module-ref tls 'record-port-session) port)))
    (or ((module-ref tls 'session-transport-port) session)
        (port-read-wait-fd port))))

(define (socket-of who obj)
  "OBJ, or the socket port (or descriptor) it stands for when it is a TLS
port or a TLS server socket."
  (cond ((server-socket? obj) (server-socket-socket obj))
        ((tls-record-port? obj) (tls-transport who obj))
        (else obj)))

(define (open-socket-fileno who port reveal?)
  (when (port-closed? port)
    (scm-error 'wrong-type-arg who
               "Wrong type argument in position ~A (expecting ~A): ~S"
               (list 1 "open port" port) (list port)))
  (%socket-fileno port reveal?))

(define (fileno port)
  "Return the descriptor of PORT, a file port or a socket port; for a TLS
port or a TLS server socket, that of its socket."
  (let ((port (socket-of "fileno" port)))
    (cond ((socket-port? port) (open-socket-fileno "fileno" port #f))
          ((exact-integer? port) port)   ; a TLS port over a descriptor
          (else (core-fileno port)))))

(define (port->fdes port)
  "Return the descriptor of PORT and mark it revealed, so that closing
PORT leaves the descriptor open; for a TLS port or a TLS server socket,
that of its socket."
  (let ((port (socket-of "port->fdes" port)))
    (cond ((socket-port? port) (open-socket-fileno "port->fdes" port #t))
          ((exact-integer? port) port)
          (else (core-port->fdes port)))))

(define (socket-name who primitive core sock)
  (let ((sock (socket-of who sock)))
    (if (exact-integer? sock)
        (core sock)                     ; a TLS port over a descriptor
        (primitive sock))))

(define (getsockname sock)
  "Return the socket address to which socket port SOCK is bound locally.
SOCK may also be a TLS port or a TLS server socket: the address of its
socket."
  (socket-name "getsockname" %getsockname (@ (guile) getsockname) sock))

(define (getpeername sock)
  "Return the socket address of the peer socket port SOCK is connected
to.  SOCK may also be a TLS port: the peer of its socket."
  (socket-name "getpeername" %getpeername (@ (guile) getpeername) sock))

(define (fcntl object cmd . value)
  "Apply fcntl command CMD (F_GETFL, F_SETFL, F_GETFD, F_SETFD, ...) to
OBJECT, a descriptor, file port or socket port, as Guile's `fcntl' does.
On a socket port, O_NONBLOCK is the mode its user set: a listening socket
is non-blocking underneath, so that racing accepts never block."
  (cond ((not (socket-port? object)) (apply core-fcntl object cmd value))
        ((and (eqv? cmd F_GETFL) (null? value)) (%socket-status-flags object))
        ((and (eqv? cmd F_SETFL) (pair? value) (null? (cdr value)))
         (%socket-status-flags object (car value)))
        (else (apply core-fcntl (fileno object) cmd value))))

(define* (select reads writes excepts #:optional secs (usecs 0))
  "Wait until an element of READS is ready for reading, of WRITES for
writing, or of EXCEPTS has an exceptional condition, or until SECS seconds
and USECS microseconds pass (#f: no limit).  Each of the three is a list or
vector of ports (socket, file or TLS record ports, or the wait port a
waiter was handed) and descriptors; return a list of
three of the same kind holding the elements that are ready.  An input port
with buffered data counts as ready at once.  Unlike Guile's built-in
`select', any descriptor number works, and asyncs run while it waits."
  (define (fd-of x)
    (cond ((or (socket-port? x) (file-port? x)) (fileno x))
          ((server-socket? x) (fileno x))
          ;; A TLS record port, or the wait port a waiter was handed.
          ((and (port? x) (not (port-closed? x))) (port-read-wait-fd x))
          ((and (exact-integer? x) (>= x 0)) x)
          (else (scm-error 'wrong-type-arg "select"
                           "Wrong type argument (expecting port or descriptor): ~S"
                           (list x) (list x)))))
  (define (as-list set) (if (vector? set) (vector->list set) set))
  (define (like given items) (if (vector? given) (list->vector items) items))
  (define buffered
    (filter (lambda (x)
              (and (input-port? x) (not (port-closed? x))
                   (or (port-has-buffered-input? x)
                       (tls-input-buffered? x))))
            (as-list reads)))
  (define seconds
    (cond ((pair? buffered) 0)
          (secs (+ secs (/ usecs 1000000.)))
          (else #f)))
  (define ready
    (%wait-for-descriptors (map fd-of (as-list reads))
                           (map fd-of (as-list writes))
                           (map fd-of (as-list excepts))
                           seconds))
  (define (restore given ready-fds extra)
    (like given (filter (lambda (x) (or (memq x extra) (memv (fd-of x) ready-fds)))
                        (as-list given))))
  (list (restore reads (car ready) buffered)
        (restore writes (cadr ready) '())
        (restore excepts (caddr ready) '())))

(define (tls-input-buffered? port)
  ;; A TLS record port's session may hold input past the port's buffer:
  ;; records decrypted and not yet read, bytes read ahead from the socket.
  (and (tls-record-port? port)
       (let ((tls (resolve-module '(net tls))))
         ((module-ref tls '%session-input-buffered?)
          ((module-ref tls 'record-port-session) port)))))

(define (port-has-buffered-input? port)
  ;; Bytes already read into the port's buffer, which a descriptor-level
  ;; wait would not see.
  (let ((buf (port-read-buffer port)))
    (< (port-buffer-cur buf) (port-buffer-end buf))))

;;; Connecting to a host: every address it has, within one time limit.

(define* (connect-to-host host service #:key (timeout #f) (family AF_UNSPEC)
                          (socktype SOCK_STREAM) (flags AI_ADDRCONFIG)
                          (protocol 0))
  "Resolve HOST and SERVICE (a port number or service name) and return a
socket connected to the first of their addresses that answers, IPv6 and
IPv4, trying each within TIMEOUT seconds in all (#f: no limit).  FAMILY,
SOCKTYPE, FLAGS and PROTOCOL are getaddrinfo's hints."
  (open-client host service timeout family socktype flags protocol #f))

(define (open-client host service timeout family socktype flags protocol
                     non-blocking?)
  ;; connect-to-host, and for the one-call constructors NON-BLOCKING?: a
  ;; socket for a scheduler, connected without holding up its thread.
  (let* ((service (if (number? service) (number->string service) service))
         (infos (with-exception-handler
                    (lambda (e) (raise-exception (name-the-host e host)))
                  (lambda ()
                    (resolve host service flags family socktype protocol)))))
    (try-addresses (map addrinfo:addr infos) timeout socktype
                   (and (string? host) (not (numeric-host? host)) host)
                   non-blocking?)))

(define (numeric-host? node)
  (or (false-if-exception (inet-pton AF_INET node))
      (false-if-exception (inet-pton AF_INET6 node))))

(define (resolve host service flags family socktype protocol)
  "getaddrinfo, without holding up a scheduler: under suspendable ports
the lookup runs on a thread of its own while this one waits in the
current read waiter, so other tasks go on (getaddrinfo itself cannot be
suspended and may take seconds)."
  (if (not (suspendable-ports-installed?))
      (getaddrinfo host service flags family socktype protocol)
      (let* ((done (pipe))
             (outcome #f)
             (thread (call-with-new-thread
                      (lambda ()
                        (set! outcome
                              (catch #t
                                (lambda ()
                                  (list 'ok (getaddrinfo host service flags
                                                         family socktype protocol)))
                                (lambda (key . args) (cons key args))))
                        (write-char #\x (cdr done))
                        (close-port (cdr done))))))
        (fcntl (car done) F_SETFL (logior O_NONBLOCK (fcntl (car done) F_GETFL)))
        (read-char (car done))          ; suspends in the read waiter
        (close-port (car done))
        (join-thread thread)
        (match outcome
          (('ok infos) infos)
          (('getaddrinfo-error code)
           ;; Raise it here, with our &host-not-found compound.
           (getaddrinfo host service flags family socktype protocol))
          ((key . args) (apply throw key args))))))

;; Without this check, anything but a non-empty list fell through `match'
;; as a match-error, and the empty list raised #f (no failure to re-raise).
(define (check-addresses who addresses)
  (unless (and (pair? addresses) (list? addresses))
    (scm-error 'wrong-type-arg (symbol->string who)
               "Wrong type argument in position ~A (expecting ~A): ~S"
               (list 1 "non-empty list of socket addresses" addresses)
               (list addresses))))

(define* (connect-to-addresses addresses #:key (timeout #f)
                               (socktype SOCK_STREAM))
  "Return a socket connected to the first of the socket ADDRESSES that
answers, trying each in turn within TIMEOUT seconds in all (#f: no limit).
If none connects, raise the last failure (a timeout when time ran out),
its message naming each address tried and why it failed."
  (check-addresses 'connect-to-addresses addresses)
  (try-addresses addresses timeout socktype #f #f))

(define (try-addresses addresses timeout socktype host non-blocking?)
  ;; HOST: the name the addresses are of, for the error, or #f.
  ;; NON-BLOCKING?: return a non-blocking socket; under suspendable ports
  ;; it is so from the start, and the connect waits in the waiter.
  (let ((deadline (and timeout (+ (get-internal-real-time)
                                  (* timeout internal-time-units-per-second)))))
    (define (time-left)
      (and deadline
           (max 0 (/ (- deadline (get-internal-real-time))
                     internal-time-units-per-second 1.))))
    (let try ((addresses addresses) (failures '()))
      (match addresses
        (() (raise-exception (name-the-addresses failures host)))
        ((address . rest)
         (let ((s (socket (sockaddr:fam address)
                          (if (and non-blocking? (suspendable-ports-installed?))
                              (logior socktype SOCK_NONBLOCK)
                              socktype)
                          0)))
           (set-socket-timeout! s 'connect (time-left))
           (with-exception-handler
               (lambda (e)
                 (close-port s)
                 (let ((failures (cons (cons address e) failures)))
                   (if (net-timeout-error? e)
                       ;; The time is used up for all.
                       (raise-exception (name-the-addresses failures host))
                       (try rest failures))))
             (lambda ()
               (connect s address)
               (when non-blocking?
                 (fcntl s F_SETFL (logior O_NONBLOCK (fcntl s F_GETFL))))
               s)
             #:unwind? #t)))))))

;;; Connection failures that say where.  The exception raised is the last
;;; failure, of the same kind (a system-error with its errno, compounded
;;; with &connection-refused and the like, or a &net-timeout), so handlers
;;; keep working; its message, and the message of the system-error's
;;; arguments that Guile prints, name each address tried:
;;;
;;;   In procedure connect: 127.0.0.1:9: Connection refused
;;;   In procedure connect: localhost: tried [::1]:9 (Connection refused)
;;;     and 127.0.0.1:9 (Connection refused)

(define (address->text address)
  (let ((family (sockaddr:fam address)))
    (cond ((= family AF_INET)
           (format #f "~a:~a" (inet-ntop AF_INET (sockaddr:addr address))
                   (sockaddr:port address)))
          ((= family AF_INET6)
           (format #f "[~a]:~a" (inet-ntop AF_INET6 (sockaddr:addr address))
                   (sockaddr:port address)))
          ((= family AF_UNIX) (or (sockaddr:path address) "(unnamed)"))
          (else (format #f "~s" address)))))

(define (exception-text e)
  "What E says, as one string."
  (let ((kind (exception-kind e))
        (args (false-if-exception (exception-args e))))
    (or (and (memq kind '(system-error getaddrinfo-error misc-error))
             (match args
               ((subr (? string? fmt) (? list? fmt-args) rest)
                (false-if-exception (apply format #f fmt fmt-args)))
               ((code) (and (eq? kind 'getaddrinfo-error)
                            (false-if-exception (gai-strerror code))))
               (_ #f)))
        (and (exception-with-message? e)
             (let ((message (exception-message e))
                   (irritants (if (exception-with-irritants? e)
                                  (exception-irritants e)
                                  '())))
               (if (and (string? message) (string-index message #\~))
                   (false-if-exception (apply format #f message irritants))
                   message)))
        (format #f "~a" kind))))

(define (with-text e text)
  "E with TEXT as its message, and as the message its system-error
arguments print."
  (define format-args?                  ; old style: "~A" and irritants
    (and (exception-with-message? e)
         (string? (exception-message e))
         (string-index (exception-message e) #\~)))
  (let* ((components (simple-exceptions e))
         (kept (remove (lambda (c)
                         (or (exception-with-message? c)
                             (and format-args? (exception-with-irritants? c))
                             (and (eq? (exception-kind e) 'system-error)
                                  (kind-and-args? c))))
                       components))
         (kind-and-args
          (if (eq? (exception-kind e) 'system-error)
              (match (exception-args e)
                ((subr fmt fmt-args rest)
                 (list (make-kind-and-args 'system-error
                                           (list subr "~A" (list text) rest))))
                (_ '()))
              '())))
    (apply make-exception
           (append kind-and-args kept
                   (list (make-exception-with-message text))))))

;; Guile's core has the record type; (ice-9 exceptions) does not export
;; its constructor and predicate.
(define make-kind-and-args
  (record-constructor &exception-with-kind-and-args))
(define kind-and-args?
  (record-predicate &exception-with-kind-and-args))

(define (name-the-addresses failures host)
  "The last of FAILURES ((address . exception) ..., latest first), its
text naming every address tried; HOST is their name, or #f."
  (define (one failure)
    (format #f "~a (~a)" (address->text (car failure))
            (exception-text (cdr failure))))
  (let* ((last-failure (car failures))
         (tried (reverse failures))
         (text
          (match tried
            ((failure)
             (if host
                 (format #f "~a (~a): ~a" host (address->text (car failure))
                         (exception-text (cdr failure)))
                 (format #f "~a: ~a" (address->text (car failure))
                         (exception-text (cdr failure)))))
            (_
             (let ((items (map one tried)))
               (format #f "~atried ~a and ~a"
                       (if host (string-append host ": ") "")
                       (string-join (drop-right items 1) ", ")
                       (last items)))))))
    (with-text (cdr last-failure) text)))

;;; A name that does not resolve: the host in the message, and in what
;;; Guile prints.  Guile's `getaddrinfo-error' carries only the error code
;;; (handlers take (key code)), and its printer prints the code's text; so
;;; the name goes in a weak table keyed by the exception's argument list,
;;; which the printer below looks in.

(define unresolved-names (make-weak-key-hash-table))

(define (name-the-host e host)
  (if (and (eq? (exception-kind e) 'getaddrinfo-error) (string? host))
      (match (exception-args e)
        ((code)
         (let* ((args (list code))
                (components
                 (remove (lambda (c)
                           (or (kind-and-args? c)
                               (exception-with-message? c)))
                         (simple-exceptions e))))
           (hashq-set! unresolved-names args host)
           (apply make-exception
                  (make-kind-and-args 'getaddrinfo-error args)
                  (append components
                          (list (make-exception-with-message
                                 (format #f "~a: ~a" host
                                         (gai-strerror code))))))))
        (_ e))
      e))

(set-exception-printer!
 'getaddrinfo-error
 (lambda (port key args default-printer)
   (match args
     ((code)
      (let ((host (hashq-ref unresolved-names args)))
        (format port "In procedure getaddrinfo: ~a~a"
                (if host (string-append host ": ") "")
                (gai-strerror code))))
     (_ (default-printer)))))

;;; Listening: the first of several addresses that can be bound.

(define* (listen-on-addresses addresses #:key (socktype SOCK_STREAM)
                              (backlog 128) (dual-stack? #f))
  "Return a socket bound to the first of the socket ADDRESSES that can be
bound, listening with BACKLOG when SOCKTYPE is a stream.  With
DUAL-STACK?, an IPv6 wildcard address takes IPv4 connections too.  If
none can be bound, raise the last failure."
  (check-addresses 'listen-on-addresses addresses)
  (let try ((addresses addresses) (last-error #f))
    (match addresses
      (() (raise-exception last-error))
      ((address . rest)
       (let ((s (socket (sockaddr:fam address) socktype 0)))
         (with-exception-handler
             (lambda (e) (close-port s) (try rest e))
           (lambda ()
             (setsockopt s SOL_SOCKET SO_REUSEADDR 1)
             (when (and dual-stack? (= (sockaddr:fam address) AF_INET6))
               (setsockopt s IPPROTO_IPV6 IPV6_V6ONLY 0))
             (bind s address)
             (when (= socktype SOCK_STREAM)
               (listen s backlog))
             s)
           #:unwind? #t))))))

;;; Sagittarius's options builders and one-call constructors.

(include-from-path "net/socket/options.scm")

;; For the procedures above, which come before the record type: its
;; predicate and accessor are macros until defined.
(define (server-socket? obj) (tls-server-socket? obj))
(define (server-socket-socket obj) (tls-server-socket-socket obj))
