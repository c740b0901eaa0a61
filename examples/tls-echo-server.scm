;;; tls-echo-server.scm -- a TLS echo server with (net socket).
;;; Run: ./pre-inst-env guile examples/tls-echo-server.scm CERT KEY [COUNT]
;;; Listens on 127.0.0.1 on a port the kernel picks (printed), echoes every
;;; line of each client, one thread per client; stops after COUNT clients
;;; (default: never).  socket-accept returns each client's TLS port at
;;; once, and the handshake happens in the client's thread, at its first
;;; read: a client that connects and says nothing holds up no other.

(use-modules (net socket) (net tls) (ice-9 rdelim) (ice-9 threads)
             (ice-9 binary-ports))

(define args (cdr (command-line)))
(define (file-bytes file) (call-with-input-file file get-bytevector-all #:binary #t))

(define server
  (make-server-tls-socket
   "127.0.0.1" 0
   (server-tls-socket-options-builder
    (certificates (list (import-x509-certificate (file-bytes (car args))
                                                 x509-certificate-format/pem)))
    (private-key (import-x509-private-key (file-bytes (cadr args))))
    (alpn* '("echo"))
    (connection-timeout 10000000)
    (read-timeout 30000000))))

(format #t "listening on port ~a~%"
        (sockaddr:port (getsockname (tls-server-socket-socket server))))
(force-output)

(define (serve conn)
  (catch #t
    (lambda ()
      (let loop ()
        (let ((line (read-line conn)))      ; the first read handshakes
          (unless (eof-object? line)
            (display line conn)
            (newline conn)
            (force-output conn)
            (loop)))))
    (lambda (key . rest)
      ;; A failed or timed-out handshake, a client gone: this client only.
      (format (current-error-port) "client dropped: ~a~%" key)))
  (close-port conn))

(let loop ((served 0) (threads '()))
  (if (and (= (length args) 3) (>= served (string->number (caddr args))))
      (for-each join-thread threads)
      (let ((conn (catch #t
                    (lambda () (socket-accept server))   ; never waits for a client
                    (lambda (key . rest)
                      (format (current-error-port) "accept failed: ~a~%" key)
                      #f))))
        (loop (+ served 1)
              (if conn
                  (cons (call-with-new-thread (lambda () (serve conn))) threads)
                  threads)))))
