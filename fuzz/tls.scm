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
