;;; tls.scm -- the Scheme half of the TLS harnesses (fuzz/tls-client.c,
;;; fuzz/tls-server.c), loaded once into the harness module.
;;;
;;; A session's transport is an in-memory port: its reads give the peer's
;;; bytes, taken from the fuzz input, and its writes are discarded.  So
;;; port_pull and port_push (libguile-net/tls-session.c), the handshake,
;;; the record reads, the record port and bye all run on what a malicious
;;; peer could send, with nothing to wait for.
;;;
;;; The input's first byte chooses how:
;;;   bits 0-2  how many bytes a transport read returns at most
;;;   bit 3     read the data through the record port, not record-receive!
;;;   bit 4     ALPN: offer (client) or accept (server) "h2" and "http/1.1"
;;;   bit 5     client: present a certificate; server: request one
;;;   bit 6     client: TLS 1.2 only; server: a server name handler
;;;   bit 7     server: require a client certificate (with bit 5)
;;; The rest is the peer's byte stream.

(define (fuzz-file name)
  (call-with-input-file (string-append fuzz-srcdir "/fuzz/certs/" name)
    get-bytevector-all #:binary #t))

(define fuzz-server-credentials
  (let ((c (make-certificate-credentials)))
    (set-certificate-credentials-x509-key-data!
     c (fuzz-file "server.pem") (fuzz-file "key.pem")
     x509-certificate-format/pem)
    (set-certificate-credentials-x509-trust-data!
     c (fuzz-file "ca.pem") x509-certificate-format/pem)
    c))

;; The client trusts the fuzz CA only, and presents the same certificate
;; when asked to (it has the client purpose too).
(define fuzz-client-credentials
  (let ((c (make-certificate-credentials)))
    (set-certificate-credentials-x509-trust-data!
     c (fuzz-file "ca.pem") x509-certificate-format/pem)
    c))
(define fuzz-client-credentials/cert
  (let ((c (make-certificate-credentials)))
    (set-certificate-credentials-x509-trust-data!
     c (fuzz-file "ca.pem") x509-certificate-format/pem)
    (set-certificate-credentials-x509-key-data!
     c (fuzz-file "server.pem") (fuzz-file "key.pem")
     x509-certificate-format/pem)
    c))

(define chunk-sizes #(1000000 1 2 5 16 100 1000 4096))

(define (make-peer-port bv start chunk)
  "A binary input/output port whose reads return the bytes of BV from
START, at most CHUNK at a time, then end of file; writes vanish."
  (let ((pos start) (len (bytevector-length bv)))
    (make-custom-binary-input/output-port
     "fuzz-peer"
     (lambda (dst dst-start count)
       (let ((n (min count chunk (- len pos))))
         (bytevector-copy! bv pos dst dst-start n)
         (set! pos (+ pos n))
         n))
     (lambda (src src-start count) count)
     #f #f #f)))

(define-syntax-rule (try body ...)
  (catch #t (lambda () body ...) (lambda args #f)))

(define (read-everything session flags)
  (if (logtest flags 8)
      (let ((port (session-record-port session)))
        (let loop ()
          (unless (eof-object? (get-bytevector-some port))
            (loop))))
      (let ((buf (make-bytevector 1024)))
        (let loop ()
          (unless (zero? (record-receive! session buf))
            (loop))))))

(define (look-at session)
  ;; What an application asks once the handshake is done.
  (for-each (lambda (proc) (try (proc session)))
            (list session-protocol session-cipher session-mac session-kx
                  session-group session-description session-resumed?
                  session-peer-certificate-chain peer-certificate-status
                  session-alpn-protocol session-server-name
                  record-check-pending)))

(define (run-session session flags)
  (try
   (handshake session)
   (look-at session)
   ;; Something to answer with, then whatever the peer sends.
   (try (record-send session (string->utf8 "hello")))
   (read-everything session flags)
   (bye session close-request/rdwr))
  ;; Whatever happened, the session must refuse further use cleanly.
  (try (record-receive! session (make-bytevector 16)))
  (try (record-send session (make-bytevector 16 65)))
  (try (bye session close-request/wr))
  (try (close-port (session-record-port session))))

(define (fuzz-tls-client bv)
  (let* ((flags (if (zero? (bytevector-length bv)) 0 (bytevector-u8-ref bv 0)))
         (port (make-peer-port bv 1 (vector-ref chunk-sizes
                                                (logand flags 7))))
         (session (make-session connection-end/client)))
    (set-session-credentials! session
                              (if (logtest flags 32)
                                  fuzz-client-credentials/cert
                                  fuzz-client-credentials))
    (set-session-server-name! session server-name-type/dns "localhost")
    (when (logtest flags 16)
      (set-session-alpn-protocols! session '("h2" "http/1.1")))
    (when (logtest flags 64)
      (set-session-priorities! session
                               "NORMAL:-VERS-ALL:+VERS-TLS1.2:%SERVER_PRECEDENCE"))
    (set-session-transport-port! session port)
    (run-session session flags)))

(define (fuzz-tls-server bv)
  (let* ((flags (if (zero? (bytevector-length bv)) 0 (bytevector-u8-ref bv 0)))
         (port (make-peer-port bv 1 (vector-ref chunk-sizes
                                                (logand flags 7))))
         (session (make-session connection-end/server)))
    (set-session-credentials! session fuzz-server-credentials)
    (when (logtest flags 16)
      (set-session-alpn-protocols! session '("h2" "http/1.1")))
    (when (logtest flags 32)
      (set-session-client-certificate-request!
       session (if (logtest flags 128) 'require 'request)))
    (when (logtest flags 64)
      (set-session-server-name-handler!
       session
       (lambda (name)
         (cond ((not name) #f)
               ((string=? name "localhost") fuzz-server-credentials)
               ((string-prefix? "x" name) (error "no such host" name))
               ((string-prefix? "y" name) 'not-credentials)
               (else #f)))))
    (set-session-transport-port! session port)
    (run-session session flags)))

;;; The established-session harness (fuzz/tls-established.c).  A real
;;; handshake cannot come from fuzz bytes (each side's randomness differs
;;; every time), so here the peer is an honest session of ours in a thread,
;;; over a socket pair, and the input is what it does once the handshake is
;;; done: send records of any sizes, write through its record port, send
;;; raw bytes into the connection, close_notify, cut the connection.  The
;;; session under test (the client, or the server with bit 5 of the first
;;; byte) reads everything, through a custom port wrapped around its end of
;;; the pair so that port_pull and port_push run too.
;;;
;;; First byte: bits 0-2 transport read size, bit 3 record port, bit 4
;;; ALPN, bit 5 the server is under test, bit 6 TLS 1.2 only, bit 7 read
;;; the record port a byte at a time.  Then the peer's script, two bytes
;;; per step: an operation and a size.

(define (socket-wrapping-port sock chunk)
  (make-custom-binary-input/output-port
   "fuzz-socket"
   (lambda (bv start count)
     (let ((got (get-bytevector-some! sock bv start (min count chunk))))
       (if (eof-object? got) 0 got)))
   (lambda (bv start count)
     (put-bytevector sock bv start count)
     (force-output sock)
     count)
   #f #f (lambda () (close-port sock))))

(define (peer-script session sock bv)
  (let ((len (bytevector-length bv))
        (rp (session-record-port session)))
    (let loop ((pos 1))
      (when (< (+ pos 1) len)
        (let* ((op (bytevector-u8-ref bv pos))
               (n (* (1+ (bytevector-u8-ref bv (+ pos 1)))
                     (if (logtest op #x80) 97 1)))
               (start (+ pos 2))
               (n (min n (max 0 (- len start))))
               (data (let ((d (make-bytevector n)))
                       (bytevector-copy! bv start d 0 n)
                       d)))
          (case (modulo op 8)
            ((0 1) (let send ((off 0))
                     (when (< off n)
                       (let* ((k (min (- n off) 16384))
                              (piece (make-bytevector k)))
                         (bytevector-copy! data off piece 0 k)
                         (send (+ off (record-send session piece)))))))
            ((2 3) (put-bytevector rp data) (force-output rp))
            ((4) (put-bytevector rp data))     ; flushed later, or never
            ((5) (put-bytevector sock data) (force-output sock)) ; raw bytes
            ((6) (bye session close-request/wr))
            ((7) (shutdown sock 1)))
          (if (memv (modulo op 8) '(0 1 2 3 4))
              (loop (+ start n))
              (loop (+ pos 2))))))
    (try (force-output rp))))

(define (fuzz-tls-established bv)
  (let* ((flags (if (zero? (bytevector-length bv)) 0 (bytevector-u8-ref bv 0)))
         (server-tested? (logtest flags 32))
         (pair (socketpair AF_UNIX SOCK_STREAM 0))
         (client (make-session connection-end/client))
         (server (make-session connection-end/server))
         (tested (if server-tested? server client))
         (peer (if server-tested? client server))
         (tested-sock (car pair))
         (peer-sock (cdr pair)))
    (set-session-credentials! client fuzz-client-credentials)
    (set-session-server-name! client server-name-type/dns "localhost")
    (set-session-credentials! server fuzz-server-credentials)
    (when (logtest flags 16)
      (set-session-alpn-protocols! client '("h2" "http/1.1"))
      (set-session-alpn-protocols! server '("http/1.1")))
    (when (logtest flags 64)
      (set-session-priorities! client
                               "NORMAL:-VERS-ALL:+VERS-TLS1.2:%SERVER_PRECEDENCE"))
    (for-each (lambda (s) (set-session-timeout! s 5)) (list client server))
    (set-session-transport-port!
     tested (socket-wrapping-port tested-sock
                                  (vector-ref chunk-sizes (logand flags 7))))
    (set-session-transport-port! peer peer-sock)
    (let ((thread
           (call-with-new-thread
            (lambda ()
              (try (handshake peer)
                   (peer-script peer peer-sock bv))
              ;; Then the connection ends, as cleanly as the script left it.
              (try (shutdown peer-sock 2))))))
      (try
       (handshake tested)
       (look-at tested)
       (if (logtest flags 8)
           (let ((port (session-record-port tested)))
             (if (logtest flags 128)
                 (let loop ()
                   (unless (eof-object? (get-u8 port)) (loop)))
                 (let loop ()
                   (unless (eof-object? (get-bytevector-some port))
                     (loop)))))
           (let ((buf (make-bytevector (if (logtest flags 128) 7 4096))))
             (let loop ()
               (unless (zero? (record-receive! tested buf))
                 (loop)))))
       (bye tested close-request/wr))
      (try (record-send tested (make-bytevector 10 66)))
      (try (close-port (session-record-port tested)))
      (try (shutdown tested-sock 2))
      (join-thread thread)
      (try (close-port peer-sock))
      (try (close-port tested-sock)))))

(use-modules (net dtls) (ice-9 threads))

;;; The DTLS server harness (fuzz/dtls-server.c).  One DTLS server on
;;; 127.0.0.1 for the whole run, and a client of ours whose session with it
;;; is established (made again whenever the server has forgotten it).  The
;;; input is a list of datagrams: a byte choosing the sender (even: the
;;; established client's socket, so the bytes reach its session on the
;;; server; odd: one of three fresh sockets, unknown peers), two bytes of
;;; length, then the bytes.  The server then reads until nothing is left.
;;; Besides the sanitizers' checks, one property: a datagram without a
;;; valid cookie never makes the server keep anything, so the server never
;;; holds more than the one established client's session.

(define fuzz-dtls-server-object
  (make-dtls-server "127.0.0.1" 0 #:credentials fuzz-server-credentials
                    #:timeout 0))
(define fuzz-dtls-port
  (sockaddr:port (getsockname (dtls-server-socket fuzz-dtls-server-object))))
(define fuzz-dtls-client #f)

(define (fuzz-dtls-drain)
  "Let the server handle what has arrived (it echoes messages back)."
  (let loop ((k 0))
    (when (and (< k 64)
               (try (call-with-values
                        (lambda () (dtls-server-receive fuzz-dtls-server-object))
                      (lambda (message session)
                        (unless (eof-object? message)
                          (try (dtls-send session message)))
                        #t))))
      (loop (+ k 1)))))

(define (fuzz-dtls-establish!)
  "A client session established with the server, the server's side run
by a thread until the handshake is done."
  (when fuzz-dtls-client
    (try (close-port (session-transport-port fuzz-dtls-client))))
  (let* ((done #f)
         (thread (call-with-new-thread
                  (lambda ()
                    (let loop ((k 0))
                      (unless (or done (> k 5000))    ; at most ~5 s
                        (fuzz-dtls-drain)
                        (usleep 1000)
                        (loop (+ k 1))))))))
    (set! fuzz-dtls-client
          (try (make-dtls-client "127.0.0.1" fuzz-dtls-port
                                 #:credentials fuzz-client-credentials
                                 #:server-name "localhost" #:timeout 5)))
    (set! done #t)
    (join-thread thread)))

(define (fuzz-dtls-wait-readable)
  (select (list (dtls-server-socket fuzz-dtls-server-object)) '() '() 0 20000))

(define (fuzz-dtls-server bv)
  (when (or (not fuzz-dtls-client)
            (null? (dtls-server-sessions fuzz-dtls-server-object)))
    (fuzz-dtls-establish!))
  (let ((strangers (map (lambda (i)
                          (let ((s (socket AF_INET SOCK_DGRAM 0)))
                            (connect s AF_INET INADDR_LOOPBACK fuzz-dtls-port)
                            s))
                        (iota 3)))
        (len (bytevector-length bv)))
    (let loop ((pos 0))
      (when (< (+ pos 2) len)
        (let* ((who (bytevector-u8-ref bv pos))
               (n (min (bytevector-u16-ref bv (+ pos 1) (endianness big))
                       (- len pos 3)))
               (data (let ((d (make-bytevector n)))
                       (bytevector-copy! bv (+ pos 3) d 0 n)
                       d))
               (sock (if (and (even? who) fuzz-dtls-client)
                         (session-transport-port fuzz-dtls-client)
                         (list-ref strangers (modulo who 3)))))
          (try (send sock data))
          (loop (+ pos 3 n)))))
    (fuzz-dtls-wait-readable)
    (fuzz-dtls-drain)
    (for-each close-port strangers)
    ;; The property: no state for anyone who did not answer a cookie.
    (when (> (length (dtls-server-sessions fuzz-dtls-server-object)) 1)
      (format (current-error-port) "DTLS server keeps ~a sessions~%"
              (length (dtls-server-sessions fuzz-dtls-server-object)))
      (primitive-exit 3))))
