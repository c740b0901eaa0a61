;;; bench/ported.scm -- a client written for guile-gnutls, unchanged, run
;;; with guile-gnutls's (gnutls) or with our (net tls) in its place.
;;;
;;;   guile bench/ported.scm MODULE PORT SECONDS [MAX]
;;;
;;; MODULE is `gnutls' or `ours'; nothing else differs.  The program does
;;; what guile-gnutls's manual and its users do: Guile's own sockets, the
;;; session's transport set to the socket's descriptor, and the server
;;; checked by hand after the handshake (peer-certificate-status, then
;;; x509-certificate-matches-hostname? on the peer's certificate).  With
;;; (net tls) the handshake has verified the server already (our default),
;;; and peer-certificate-status returns what it found.  Each connection:
;;; connect, handshake, check, read one byte from the record port, close; the server (the C
;;; `hs-server' of bench/tls-baseline.c on PORT) is the same for both.
;;; Stops after SECONDS or MAX handshakes; prints "HANDSHAKES/S
;;; handshakes/s".

(use-modules (bench common)
             (ice-9 binary-ports))

(define args (cdr (command-line)))
(define tls (resolve-interface (if (string=? (car args) "ours")
                                   '(net tls)
                                   '(gnutls))))
(define port (string->number (cadr args)))
(define seconds (string->number (caddr args)))
(define most (if (> (length args) 3) (string->number (cadddr args)) +inf.0))

;; The program's own `(use-modules (gnutls))', by name.
(define-syntax-rule (import-all name ...)
  (begin (define name (module-ref tls 'name)) ...))
(import-all make-session connection-end/client set-session-priorities!
            make-certificate-credentials
            set-certificate-credentials-x509-trust-file!
            x509-certificate-format/pem x509-certificate-format/der
            set-session-credentials! set-session-server-name!
            server-name-type/dns set-session-transport-fd! handshake
            peer-certificate-status session-peer-certificate-chain
            import-x509-certificate x509-certificate-matches-hostname?
            session-record-port)

;;; From here on, the program as written for guile-gnutls.

(define credentials
  (let ((c (make-certificate-credentials)))
    (set-certificate-credentials-x509-trust-file!
     c (cert-file "ca") x509-certificate-format/pem)
    c))

(define (fetch-one-byte host)
  (let ((s (socket PF_INET SOCK_STREAM 0)))
    (connect s AF_INET INADDR_LOOPBACK port)
    (setsockopt s IPPROTO_TCP TCP_NODELAY 1)
    (let ((session (make-session connection-end/client)))
      (set-session-priorities! session (bench-priority))
      (set-session-credentials! session credentials)
      (set-session-server-name! session server-name-type/dns host)
      (set-session-transport-fd! session (fileno s))
      (handshake session)
      (let ((status (peer-certificate-status session)))
        (unless (null? status)
          (error "the server's certificate is not valid" status)))
      (let ((cert (import-x509-certificate
                   (car (session-peer-certificate-chain session))
                   x509-certificate-format/der)))
        (unless (x509-certificate-matches-hostname? cert host)
          (error "the server's certificate is not for" host)))
      (when (eof-object? (get-u8 (session-record-port session)))
        (error "no byte after the handshake"))
      (close-port s))))

(let ((t0 (now)))
  (let loop ((n 0))
    (if (and (< n most) (< (elapsed t0) seconds))
        (begin (fetch-one-byte "localhost") (loop (+ n 1)))
        (report (/ n (elapsed t0)) "handshakes/s"))))
