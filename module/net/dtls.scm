;;; (net dtls) -- datagram TLS over UDP: clients, a server that serves many
;;; clients on one socket, and messages that are never cut.
;;;
;;; A DTLS session is a (net tls) session made with connection-flag/datagram;
;;; everything (net tls) does with sessions (credentials, verification,
;;; ALPN, session information, timeouts, bye) works on it.  What differs is
;;; how data moves: one message at a time, each in one datagram, with
;;; `dtls-send' and `dtls-receive!' instead of a stream port.
;;;
;;; A server owns an unconnected UDP socket.  `dtls-server-receive!' is its
;;; one loop: it answers new clients with a cookie before keeping anything
;;; for them, runs their handshakes (resending lost flights on GnuTLS's
;;; timer), and returns the next message from any client together with that
;;; client's session, to reply to with `dtls-send'.
;;;
;;; Under suspendable ports, every operation on a non-blocking socket waits
;;; in the current read or write waiter, through (net wait)'s loop; the
;;; wait port it is handed becomes ready when the operation must resume
;;; (its timeout, or a retransmission due earlier).

(define-module (net dtls)
  #:use-module (net config)
  #:use-module (net error)
  #:use-module (net socket)
  #:use-module (net tls)
  #:use-module (net wait)
  #:use-module (rnrs bytevectors)
  #:use-module ((oop goops) #:select (define-method))
  #:re-export (&dtls-message-too-large dtls-message-too-large?
               dtls-message-size dtls-message-limit dtls-message-session)
  #:export (make-dtls-client socket->dtls-client
            make-dtls-server socket->dtls-server dtls-server?
            dtls-server-socket dtls-server-sessions dtls-server-statistics
            dtls-server-receive! dtls-server-receive dtls-server-forget!
            close-dtls-server
            dtls-send dtls-receive! dtls-receive close-dtls
            set-session-dtls-mtu! session-dtls-mtu session-dtls-data-mtu
            dtls-session-peer))

(eval-when (expand load eval)
  (load-guile-net-extension "scm_init_guile_net_dtls"))

;;; How a server prints: its address and how many clients it keeps,
;;; #<dtls-server 127.0.0.1:4433 2 sessions>, or #<dtls-server closed>.

(define (address-text sa)
  (let ((family (sockaddr:fam sa)))
    (cond ((= family AF_INET)
           (format #f "~a:~a" (inet-ntop AF_INET (sockaddr:addr sa))
                   (sockaddr:port sa)))
          ((= family AF_INET6)
           (format #f "[~a]:~a" (inet-ntop AF_INET6 (sockaddr:addr sa))
                   (sockaddr:port sa)))
          (else "?"))))

(define (print-dtls-server server port)
  (let ((sock (dtls-server-socket server)))
    (if (port-closed? sock)
        (display "#<dtls-server closed>" port)
        (let ((address (false-if-exception (getsockname sock)))
              (sessions (false-if-exception (dtls-server-sessions server))))
          (format port "#<dtls-server ~a~a>"
                  (if address (address-text address) "?")
                  (if sessions
                      (let ((n (length sessions)))
                        (format #f " ~a session~a" n (if (= n 1) "" "s")))
                      ""))))))

(let ((<dtls-server> %dtls-server-type))
  (define-method (write (server <dtls-server>) port)
    (print-dtls-server server port))
  (define-method (display (server <dtls-server>) port)
    (print-dtls-server server port)))

;; The largest plaintext a DTLS record carries.
(define max-message 16384)

(define (message-or-eof buf n)
  "The first N bytes of BUF as a new bytevector, or the end-of-file object
when N is 0 (the peer closed)."
  (if (zero? n)
      the-eof-object
      (let ((message (make-bytevector n)))
        (bytevector-copy! buf 0 message 0 n)
        message)))


(define* (dtls-send session bv #:optional start count)
  "Send COUNT bytes of bytevector BV from START (by default all of it) as
one message over DTLS SESSION, and return COUNT.  A message larger than
@code{session-dtls-data-mtu} raises @code{&dtls-message-too-large}: a
datagram is never cut.  Under suspendable ports a non-blocking session waits
in the write waiter."
  (perform-operation (%dtls-send session bv start count)
                     (%dtls-operation session 'send)))

(define* (dtls-receive! session bv #:optional start count)
  "Receive one message from DTLS client SESSION into bytevector BV at
START (room for COUNT bytes, by default to the end) and return its length,
or 0 when the server closed the session.  A message larger than the room
raises @code{&dtls-message-too-large} and is kept for the next call.  Under
suspendable ports a non-blocking session waits in the read waiter."
  (perform-operation (%dtls-receive! session bv start count)
                     (%dtls-operation session 'receive)))

(define (dtls-receive session)
  "Receive one message from DTLS client SESSION and return it as a new
bytevector, or the end-of-file object when the server closed the session."
  (let ((buf (make-bytevector max-message)))
    (message-or-eof buf (dtls-receive! session buf))))

(define* (socket->dtls-client sock #:key credentials server-name
                              (verify? #t) timeout mtu (alpn-protocols '()))
  "Return a DTLS session over SOCK, a UDP socket connected to the server,
its handshake done; the session owns SOCK.  The keywords are those of
@code{make-dtls-client}, except that SERVER-NAME has no default: give it
unless VERIFY? is #f."
  (let ((session (make-session connection-end/client
                               connection-flag/datagram)))
    ;; The session alone reads SOCK: its waits need not ask its mode.
    ((@@ (net socket) %socket-own-nonblock!) sock)
    (set-session-transport-port! session sock)
    (when credentials
      (set-session-credentials! session credentials))
    (when server-name
      (set-session-server-name! session server-name-type/dns server-name))
    (unless verify?
      (set-session-verify-peer! session #f))
    (set-session-timeout! session timeout)
    (when mtu
      (set-session-dtls-mtu! session mtu))
    (unless (null? alpn-protocols)
      (set-session-alpn-protocols! session alpn-protocols))
    (handshake session)
    session))

(define* (make-dtls-client host service #:key credentials (server-name host)
                           (verify? #t) timeout mtu (alpn-protocols '())
                           (family AF_UNSPEC))
  "Return a DTLS session with the server at HOST and SERVICE (a port number
or service name) over UDP, its handshake done.  The server is verified
against CREDENTIALS' trust, or the system's when CREDENTIALS (certificate
credentials, also giving a client certificate) has none, and against
SERVER-NAME (by default HOST) unless VERIFY? is #f.  TIMEOUT bounds each
operation in seconds (#f: none); MTU sets the path MTU; ALPN-PROTOCOLS is a
list of protocol names to offer.  Close it with @code{close-dtls}."
  (let ((sock (connect-to-host host service #:family family
                               #:socktype SOCK_DGRAM #:timeout timeout)))
    (with-exception-handler
        (lambda (e) (close-port sock) (raise-exception e))
      (lambda ()
        (socket->dtls-client sock #:credentials credentials
                             #:server-name server-name #:verify? verify?
                             #:timeout timeout #:mtu mtu
                             #:alpn-protocols alpn-protocols)))))

(define (close-dtls session)
  "Close DTLS SESSION: send close_notify, then close its socket (a client),
or make its server forget it (a server's session, whose socket is the
server's)."
  (let ((port (session-transport-port session))
        (server (%dtls-session-server session)))
    (when (and port (not (port-closed? port)))
      ;; Best effort, as closing a socket: the peer may be gone already.
      (false-if-exception (bye session close-request/wr))
      (if server
          ;; It may be forgotten already (closed by the client, idle).
          (false-if-exception (dtls-server-forget! server session))
          (close-port port)))))

(define* (socket->dtls-server sock #:key credentials timeout
                              (handshake-timeout 30) (idle-timeout 300)
                              mtu (alpn-protocols '()) client-certificate
                              (receive-batch 32))
  "Return a DTLS server on SOCK, a bound UDP socket.  CREDENTIALS are the
server's certificate credentials (required).  TIMEOUT bounds each
@code{dtls-server-receive!} in seconds (#f: none); a client's handshake
must end within HANDSHAKE-TIMEOUT seconds, and a client silent for
IDLE-TIMEOUT seconds is forgotten (#f: never).  MTU sets the path MTU of
every session; ALPN-PROTOCOLS the protocols accepted; CLIENT-CERTIFICATE,
a certificate-request constant, asks clients for a certificate.
RECEIVE-BATCH (1 to 1024) is the most datagrams the server takes from the
socket in one system call (recvmmsg), of those already queued."
  (%make-dtls-server sock credentials mtu timeout handshake-timeout
                     idle-timeout client-certificate alpn-protocols
                     receive-batch))

(define* (make-dtls-server host service #:key credentials timeout
                           (handshake-timeout 30) (idle-timeout 300)
                           mtu (alpn-protocols '()) client-certificate
                           (receive-batch 32) (family AF_UNSPEC))
  "Return a DTLS server on a UDP socket bound to HOST (an address or name;
#f for every address) and SERVICE (a port number, 0 for one the kernel
chooses).  The keywords are those of @code{socket->dtls-server}."
  (let* ((service (if (number? service) (number->string service) service))
         (ai (car (getaddrinfo host service
                               (logior AI_PASSIVE AI_NUMERICSERV)
                               family SOCK_DGRAM)))
         (sock (socket (addrinfo:fam ai) SOCK_DGRAM 0)))
    (with-exception-handler
        (lambda (e) (close-port sock) (raise-exception e))
      (lambda ()
        (bind sock (addrinfo:addr ai))
        (socket->dtls-server sock #:credentials credentials #:timeout timeout
                             #:handshake-timeout handshake-timeout
                             #:idle-timeout idle-timeout #:mtu mtu
                             #:alpn-protocols alpn-protocols
                             #:client-certificate client-certificate
                             #:receive-batch receive-batch)))))

(define* (dtls-server-receive! server bv #:optional start count)
  "Receive the next message from any client of DTLS SERVER into bytevector
BV at START (room for COUNT bytes) and return two values: its length and
the client's session (reply with @code{dtls-send}).  A length of 0 means
that client closed or failed, and is forgotten.  Cookies, handshakes and
retransmissions happen inside.  A message larger than the room raises
@code{&dtls-message-too-large} and is kept for the next call.  Under
suspendable ports a non-blocking socket waits in the read waiter."
  (let ((r (perform-operation (%dtls-server-receive! server bv start count)
                              (%dtls-server-operation server))))
    (values (car r) (cdr r))))

(define (dtls-server-receive server)
  "Receive the next message from any client of DTLS SERVER and return two
values: the message as a new bytevector (the end-of-file object when that
client closed) and the client's session."
  (let ((buf (make-bytevector max-message)))
    (call-with-values (lambda () (dtls-server-receive! server buf))
      (lambda (n session)
        (values (message-or-eof buf n) session)))))

(define (close-dtls-server server)
  "Close DTLS SERVER: send close_notify to every client it keeps, forget
them, and close its socket."
  (let ((sock (dtls-server-socket server)))
    (unless (port-closed? sock)
      (for-each (lambda (session)
                  (false-if-exception (bye session close-request/wr)))
                (dtls-server-sessions server))
      (%close-dtls-server server)
      (close-port sock))))
