;;; net/socket/options.scm -- Sagittarius's (net socket) API: the options
;;; builders and the one-call client and server constructors.
;;;
;;; Included into (net socket) so that `(use-modules (net socket))' gives
;;; what Sagittarius's `(import (net socket))' does.  (net tls) itself uses
;;; (net socket), so its procedures are looked up when first needed rather
;;; than imported.
;;;
;;; Timeouts are in microseconds, as in Sagittarius.  Where Sagittarius falls
;;; short, this does not: a TLS client verifies the server by default,
;;; `trusted-certificates' is honoured on both sides, servers take ALPN, and
;;; a `certificate-verifier' may refuse a peer with a reason of its own.

(define (tls name)
  (module-ref (resolve-interface '(net tls)) name))

;;; Options.

(define-record-type <socket-options>
  (%make-socket-options kind fields)
  socket-options?
  (kind socket-options-kind)           ; socket, tls or server-tls
  (fields socket-options-fields))      ; alist: field name -> value

(set-record-type-printer! <socket-options>
  (lambda (options port)
    (format port "#<~a-options ~s>" (socket-options-kind options)
            (socket-options-fields options))))

(define (tls-socket-options? obj)
  "True for the options of a TLS client or server socket."
  (and (socket-options? obj)
       (memq (socket-options-kind obj) '(tls server-tls))
       #t))

(define (server-tls-socket-options? obj)
  "True for the options of a TLS server socket."
  (and (socket-options? obj) (eq? (socket-options-kind obj) 'server-tls)))

(define (microseconds? x) (or (not x) (and (exact-integer? x) (>= x 0))))
(define (string-list? x) (and (list? x) (every string? x)))
(define (certificate-list? x) (and (list? x) (every (tls 'x509-certificate?) x)))
(define (private-key? x) (or (not x) ((tls 'x509-private-key?) x)))
(define (procedure-or-false? x) (or (not x) (procedure? x)))

;; Field name, default, check, and the kinds of options that have it.
(define option-fields
  `((ai-family ,AF_UNSPEC ,exact-integer? socket tls server-tls)
    (ai-socktype ,SOCK_STREAM ,exact-integer? socket tls server-tls)
    (ai-flags ,AI_ADDRCONFIG ,exact-integer? socket tls server-tls)
    (ai-protocol 0 ,exact-integer? socket tls server-tls)
    (non-blocking? #f ,boolean? socket tls server-tls)
    (connection-timeout #f ,microseconds? socket tls server-tls)
    (read-timeout #f ,microseconds? socket tls server-tls)
    (handshake #t ,boolean? tls server-tls)
    (private-key #f ,private-key? tls server-tls)
    (certificates () ,certificate-list? tls server-tls)
    (certificate-verifier #f ,procedure-or-false? tls server-tls)
    (sni* () ,string-list? tls server-tls)
    (alpn* () ,string-list? tls server-tls)
    ;; Sagittarius has it for servers only; clients need it just as much
    ;; to trust a private CA.
    (trusted-certificates () ,certificate-list? tls server-tls)
    (client-certificate-required? #f ,boolean? server-tls)))

(define (make-options who kind given)
  (for-each
   (match-lambda
     ((name . value)
      (match (assq name option-fields)
        ((_ default check . kinds)
         (unless (memq kind kinds)
           (scm-error 'out-of-range who "~a is not a field of ~a options"
                      (list name kind) (list name)))
         (unless (check value)
           (scm-error 'wrong-type-arg who "Wrong type for field ~a: ~S"
                      (list name value) (list value))))
        (#f (scm-error 'out-of-range who "unknown socket option field: ~a"
                       (list name) (list name))))))
   given)
  (%make-socket-options
   kind
   (filter-map (match-lambda
                 ((name default check . kinds)
                  (and (memq kind kinds)
                       (cons name (match (assq name given)
                                    ((_ . value) value)
                                    (#f default))))))
               option-fields)))

(define (option options name)
  (assq-ref (socket-options-fields options) name))

(define-syntax-rule (socket-options-builder (field value) ...)
  (make-options 'socket-options-builder 'socket
                (list (cons 'field value) ...)))

(define-syntax-rule (tls-socket-options-builder (field value) ...)
  (make-options 'tls-socket-options-builder 'tls
                (list (cons 'field value) ...)))

(define-syntax-rule (server-tls-socket-options-builder (field value) ...)
  (make-options 'server-tls-socket-options-builder 'server-tls
                (list (cons 'field value) ...)))

(define default-socket-options (socket-options-builder))
(define default-tls-socket-options (tls-socket-options-builder))
(define default-server-tls-socket-options (server-tls-socket-options-builder))

(define (micro->seconds us) (and us (/ us 1e6)))

(define (socket-set-read-timeout! sock microseconds)
  "Limit each read on SOCK, a socket port or TLS port, to MICROSECONDS, or
lift the limit with #f."
  (unless (microseconds? microseconds)
    (scm-error 'wrong-type-arg "socket-set-read-timeout!"
               "Wrong type argument in position ~A (expecting ~A): ~S"
               (list 2 "microseconds or #f" microseconds) (list microseconds)))
  (if ((tls 'tls-record-port?) sock)
      (let ((session ((tls 'record-port-session) sock)))
        ;; Also for after a deferred handshake still to come.
        (hashq-set! read-timeouts session (micro->seconds microseconds))
        ((tls 'set-session-timeout!) session (micro->seconds microseconds)))
      (set-socket-timeout! sock 'read (micro->seconds microseconds))))

(define read-timeouts
  ;; Session -> the read timeout socket-set-read-timeout! gave it (seconds
  ;; or #f), which the handshake of socket-accept's port, done later, must
  ;; not undo.
  (make-weak-key-hash-table))

;;; Plain sockets.

(define (apply-socket-options! sock options)
  (set-socket-timeout! sock 'read (micro->seconds (option options 'read-timeout)))
  (when (option options 'non-blocking?)
    (fcntl sock F_SETFL (logior O_NONBLOCK (fcntl sock F_GETFL))))
  sock)

(define (service->string service)
  (if (number? service) (number->string service) service))

(define (socket-options->client-socket options node service)
  "Connect a client socket to NODE and SERVICE as OPTIONS say: TLS options
make a TLS connection (see make-client-tls-socket)."
  (cond ((server-tls-socket-options? options)
         (scm-error 'wrong-type-arg "socket-options->client-socket"
                    "server options for a client socket: ~S"
                    (list options) (list options)))
        ((tls-socket-options? options)
         (make-client-tls-socket node service options))
        (else
         (make-client-socket node service options))))

(define* (make-client-socket node service #:optional
                             (options default-socket-options))
  "Return a socket port connected to NODE (a host name or address) at
SERVICE (a port number or service name), trying each address it resolves
to within the connection-timeout of OPTIONS, and reading with its
read-timeout (both in microseconds)."
  (apply-socket-options! (connect-for options node service) options))

(define (connect-for options node service)
  (open-client node (service->string service)
               (micro->seconds (option options 'connection-timeout))
               (option options 'ai-family) (option options 'ai-socktype)
               (option options 'ai-flags) (option options 'ai-protocol)
               (option options 'non-blocking?)))

(define* (make-server-socket node service #:optional
                             (options default-socket-options))
  "Return a socket port listening on SERVICE, on NODE's address or, when
NODE is #f, on every address (IPv6 and IPv4)."
  (let* ((service (service->string service))
         (family (option options 'ai-family))
         (infos (getaddrinfo node service
                             (logior AI_PASSIVE (option options 'ai-flags))
                             family (option options 'ai-socktype)
                             (option options 'ai-protocol)))
         ;; Prefer IPv6 for a wildcard: it takes IPv4 too.
         (infos (if node infos
                    (append (filter (lambda (ai) (= (addrinfo:fam ai) AF_INET6)) infos)
                            (remove (lambda (ai) (= (addrinfo:fam ai) AF_INET6)) infos)))))
    (let ((s (listen-on-addresses (map addrinfo:addr infos)
                                  #:socktype (option options 'ai-socktype)
                                  #:dual-stack? (not node))))
      (set-socket-timeout! s 'accept
                           (micro->seconds (option options 'connection-timeout)))
      ;; Under a scheduler a blocking listener would hold up its thread
      ;; in accept.
      (when (option options 'non-blocking?)
        (fcntl s F_SETFL (logior O_NONBLOCK (fcntl s F_GETFL))))
      s)))

(define (accept-from listener)
  "Accept on LISTENER: the new socket, non-blocking when LISTENER is, or #f
when LISTENER is non-blocking, no connection waits and suspendable ports
are not installed (with them, the accept waits in the current waiter)."
  (let ((non-blocking? (logtest O_NONBLOCK (fcntl listener F_GETFL))))
    (match (accept listener (if non-blocking? SOCK_NONBLOCK 0))
      (#f #f)
      ((sock . address) sock))))

;;; TLS.

(define (credentials-for options)
  (let ((cred ((tls 'make-certificate-credentials)))
        (key (option options 'private-key))
        (certificates (option options 'certificates)))
    (when (and key (null? certificates))
      (scm-error 'misc-error "make-client-tls-socket"
                 "a private-key needs its certificates" '() #f))
    (when key
      ((tls 'set-certificate-credentials-x509-keys!) cred certificates key))
    (for-each (lambda (certificate)
                ((tls 'set-certificate-credentials-x509-trust-data!)
                 cred
                 ((tls 'export-x509-certificate) certificate
                  (tls 'x509-certificate-format/der))
                 (tls 'x509-certificate-format/der)))
              (option options 'trusted-certificates))
    cred))

(define (defer-handshake! port start)
  ((module-ref (resolve-module '(net tls)) 'defer-handshake!) port start))

(define (no-delay! sock)
  ;; TLS sends each flight of the handshake and each record as one write:
  ;; with Nagle's algorithm a small write waits for the ACK of the one
  ;; before, which the peer delays (up to 40 ms on Linux), once or more per
  ;; handshake and per request.
  (setsockopt sock IPPROTO_TCP TCP_NODELAY 1))

(define (run-verifier session options host who)
  ;; The verifier sees the peer's chain (leaf first) and the host name
  ;; checked; #t accepts, anything else refuses (a string says why).
  (let ((verifier (option options 'certificate-verifier)))
    (when verifier
      (let* ((chain (map (lambda (der)
                           ((tls 'import-x509-certificate) der
                            (tls 'x509-certificate-format/der)))
                         ((tls 'session-peer-certificate-chain) session)))
             (verdict (verifier chain host)))
        (unless (eq? verdict #t)
          (let ((why (if (string? verdict) verdict
                         "refused by the certificate verifier")))
            (false-if-exception ((tls 'bye) session (tls 'close-request/wr)))
            (%raise-tls-verification-error
             who -348 'GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR why
             '(refused-by-verifier) (list why) host 0)))))))

(define (tls-handshake! session port options host who)
  ((tls 'set-session-timeout!) session
   (micro->seconds (option options 'connection-timeout)))
  ((tls 'handshake) session)
  (run-verifier session options host who)
  ((tls 'set-session-timeout!) session
   (let ((given (hashq-ref read-timeouts session 'none)))
     (if (eq? given 'none)
         (micro->seconds (option options 'read-timeout))
         given))))

(define* (make-client-tls-socket node service #:optional
                                 (options default-tls-socket-options))
  "Return a TLS port connected to NODE at SERVICE.  The server's
certificate chain is verified against the trusted-certificates of OPTIONS,
or the system's trust store when there are none, and its host name checked
against the first of sni* or else NODE.  OPTIONS also give ALPN (alpn*), a
client certificate (private-key and certificates), a certificate-verifier,
and timeouts in microseconds; handshake #f leaves the handshake to the
caller.  The TLS port owns the connection: closing it sends close_notify
and closes the socket."
  (let* ((options (if (tls-socket-options? options)
                      options
                      (scm-error 'wrong-type-arg "make-client-tls-socket"
                                 "Wrong type argument in position ~A (expecting ~A): ~S"
                                 (list 3 "tls-socket-options" options)
                                 (list options))))
         (sock (connect-for options node service))
         ;; A numeric address (IPv4 or IPv6) is checked against the
         ;; certificate's IP addresses, and not sent as SNI.
         (host (match (option options 'sni*)
                 ((name . _) name)
                 (() node)))
         (session ((tls 'make-session) (tls 'connection-end/client))))
    (with-exception-handler
        (lambda (e) (close-port sock) (raise-exception e))
      (lambda ()
        (no-delay! sock)
        ((tls 'set-session-transport-port!) session sock)
        ((tls 'set-session-credentials!) session (credentials-for options))
        ((tls 'set-session-server-name!) session (tls 'server-name-type/dns) host)
        (unless (null? (option options 'alpn*))
          ((tls 'set-session-alpn-protocols!) session (option options 'alpn*)))
        (when (option options 'handshake)
          (tls-handshake! session sock options host "make-client-tls-socket"))
        ((tls 'session-record-port) session))
      #:unwind? #t)))

(define-record-type <tls-server-socket>
  (make-tls-server-socket socket credentials options)
  tls-server-socket?
  (socket tls-server-socket-socket)
  (credentials tls-server-socket-credentials)
  (options tls-server-socket-options))

(set-record-type-printer! <tls-server-socket>
  (lambda (server port)
    (format port "#<tls-server-socket ~a>" (tls-server-socket-socket server))))

(define* (make-server-tls-socket node service #:optional
                                 (options default-server-tls-socket-options))
  "Return a TLS server socket listening on SERVICE (NODE's address, or
every address when NODE is #f).  OPTIONS must give the server's
private-key and certificates; alpn* lists the protocols it accepts;
client-certificate-required? asks every client for a certificate, verified
against trusted-certificates.  Accept connections with socket-accept."
  (unless (server-tls-socket-options? options)
    (scm-error 'wrong-type-arg "make-server-tls-socket"
               "Wrong type argument in position ~A (expecting ~A): ~S"
               (list 3 "server-tls-socket-options" options) (list options)))
  (unless (option options 'private-key)
    (scm-error 'misc-error "make-server-tls-socket"
               "a TLS server needs a private-key and its certificates" '() #f))
  (let ((cred (credentials-for options)))
    (make-tls-server-socket (make-server-socket node service options)
                            cred options)))

(define (socket-accept server)
  "Accept a connection on SERVER, a socket port from make-server-socket
(return the connected socket port) or a TLS server socket (return its TLS
port at once).  The TLS handshake is done by the first read or write of
the port, or by (handshake (record-port-session port)), in the thread or
task that uses it, within the connection-timeout: a client that says
nothing never holds up the accept loop.  A failed handshake raises its
error there, and again on every later use of the port.  On a
non-blocking server the connection is non-blocking too; without
suspendable ports, #f when none is waiting."
  (if (tls-server-socket? server)
      (and=> (accept-from (tls-server-socket-socket server))
             (lambda (sock) (tls-accepted server sock)))
      (and=> (accept-from server)
             (lambda (sock) (apply-socket-options! sock default-socket-options)))))

(define (tls-accepted server sock)
  (let* ((options (tls-server-socket-options server))
         (session ((tls 'make-session) (tls 'connection-end/server))))
    (with-exception-handler
        (lambda (e) (close-port sock) (raise-exception e))
      (lambda ()
        (apply-socket-options! sock options)
        (no-delay! sock)
        ((tls 'set-session-transport-port!) session sock)
        ((tls 'set-session-credentials!) session
         (tls-server-socket-credentials server))
        (when (option options 'client-certificate-required?)
          ((tls 'set-server-session-certificate-request!) session
           (tls 'certificate-request/require)))
        (unless (null? (option options 'alpn*))
          ((tls 'set-session-alpn-protocols!) session (option options 'alpn*)))
        (let ((port ((tls 'session-record-port) session)))
          (when (option options 'handshake)
            (defer-handshake! port
              (lambda ()
                (tls-handshake! session sock options #f "socket-accept"))))
          port))
      #:unwind? #t)))
