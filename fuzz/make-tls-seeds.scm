;;; make-tls-seeds.scm -- capture real TLS conversations as seeds for the
;;; TLS harnesses.  Run from the build tree, with the source tree's
;;; fuzz/ directory as argument:
;;;
;;;   ./pre-inst-env guile fuzz/make-tls-seeds.scm fuzz
;;;
;;; A client and a server (the harnesses' certificates) talk over a socket
;;; pair through ports that record what each side writes.  What the server
;;; wrote becomes a seed of the client harness, and the other way round,
;;; each preceded by the flags byte of fuzz/tls.scm for the settings used.

(use-modules (net socket) (net tls) (ice-9 binary-ports) (ice-9 threads)
             (rnrs bytevectors))

(define dir (cadr (command-line)))

(define (file name)
  (call-with-input-file (string-append dir "/certs/" name)
    get-bytevector-all #:binary #t))

(define (recording-port sock log)
  (make-custom-binary-input/output-port
   "recording"
   (lambda (bv start count)
     (let ((got (get-bytevector-some! sock bv start count)))
       (if (eof-object? got) 0 got)))
   (lambda (bv start count)
     (let ((copy (make-bytevector count)))
       (bytevector-copy! bv start copy 0 count)
       (set-car! log (cons copy (car log))))
     (put-bytevector sock bv start count)
     (force-output sock)
     count)
   #f #f (lambda () (close-port sock))))

(define (log->bytevector flags log)
  (let* ((parts (reverse (car log)))
         (out (make-bytevector (1+ (apply + (map bytevector-length parts))))))
    (bytevector-u8-set! out 0 flags)
    (let loop ((parts parts) (pos 1))
      (unless (null? parts)
        (bytevector-copy! (car parts) 0 out pos (bytevector-length (car parts)))
        (loop (cdr parts) (+ pos (bytevector-length (car parts))))))
    out))

(define (write-seed harness name bv)
  (call-with-output-file (string-append dir "/corpus/" harness "/" name)
    (lambda (p) (put-bytevector p bv))
    #:binary #t))

(define* (converse name #:key tls1.2? alpn? client-cert? sni-handler?)
  (let* ((pair (socketpair AF_UNIX SOCK_STREAM 0))
         (client-log (list '())) (server-log (list '()))
         (server-cred (make-certificate-credentials))
         (client-cred (make-certificate-credentials)))
    (set-certificate-credentials-x509-key-data!
     server-cred (file "server.pem") (file "key.pem") x509-certificate-format/pem)
    (set-certificate-credentials-x509-trust-data!
     server-cred (file "ca.pem") x509-certificate-format/pem)
    (set-certificate-credentials-x509-trust-data!
     client-cred (file "ca.pem") x509-certificate-format/pem)
    (when client-cert?
      (set-certificate-credentials-x509-key-data!
       client-cred (file "server.pem") (file "key.pem")
       x509-certificate-format/pem))
    (let ((server
           (call-with-new-thread
            (lambda ()
              (let ((s (make-session connection-end/server)))
                (set-session-credentials! s server-cred)
                (when alpn? (set-session-alpn-protocols! s '("h2" "http/1.1")))
                (when client-cert?
                  (set-session-client-certificate-request! s 'require))
                (when sni-handler?
                  (set-session-server-name-handler! s (lambda (n) server-cred)))
                (set-session-transport-port!
                 s (recording-port (cdr pair) server-log))
                (handshake s)
                (let ((buf (make-bytevector 5)))
                  (record-receive! s buf)
                  (record-send s (string->utf8 "hello, client")))
                (bye s close-request/wr))))))
      (let ((c (make-session connection-end/client)))
        (set-session-credentials! c client-cred)
        (set-session-server-name! c server-name-type/dns "localhost")
        (when alpn? (set-session-alpn-protocols! c '("h2" "http/1.1")))
        (when tls1.2?
          (set-session-priorities!
           c "NORMAL:-VERS-ALL:+VERS-TLS1.2:%SERVER_PRECEDENCE"))
        (set-session-transport-port! c (recording-port (car pair) client-log))
        (handshake c)
        (record-send c (string->utf8 "hello"))
        (let ((buf (make-bytevector 100)))
          (let loop () (unless (zero? (record-receive! c buf)) (loop))))
        (bye c close-request/wr)
        (join-thread server)
        (let ((flags (logior (if alpn? 16 0) (if client-cert? 32 0))))
          (write-seed "tls-client" name
                      (log->bytevector (logior flags (if tls1.2? 64 0))
                                       server-log))
          (write-seed "tls-server" name
                      (log->bytevector (logior flags (if client-cert? 128 0)
                                               (if sni-handler? 64 0))
                                       client-log)))))))

(converse "tls13")
(converse "tls13-alpn-sni" #:alpn? #t #:sni-handler? #t)
(converse "tls13-client-cert" #:client-cert? #t)
(converse "tls12" #:tls1.2? #t)
(converse "tls12-client-cert-alpn" #:tls1.2? #t #:client-cert? #t #:alpn? #t)
