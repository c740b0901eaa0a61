;;; tls-client.scm -- a Sagittarius-style TLS client with (net socket).
;;; Run: ./pre-inst-env guile examples/tls-client.scm HOST PORT [CA-FILE]
;;; Sends one line, prints the answer.  The server is verified against
;;; CA-FILE, or the system's trust store without it.

(use-modules (net socket) (net tls) (ice-9 rdelim) (ice-9 binary-ports))

(define args (cdr (command-line)))
(define host (car args))
(define port (string->number (cadr args)))

(define options
  (if (= (length args) 3)
      (tls-socket-options-builder
       (trusted-certificates
        (list (import-x509-certificate
               (call-with-input-file (caddr args) get-bytevector-all #:binary #t)
               x509-certificate-format/pem)))
       (alpn* '("echo"))
       (connection-timeout 5000000)        ; microseconds, as in Sagittarius
       (read-timeout 5000000))
      (tls-socket-options-builder (alpn* '("echo")))))

(define conn (make-client-tls-socket host port options))
(format #t "connected with ~a, ALPN ~a~%"
        (session-protocol (record-port-session conn))
        (session-alpn-protocol (record-port-session conn)))
(display "hello, TLS echo server\n" conn)
(force-output conn)
(format #t "answer: ~a~%" (read-line conn))
(close-port conn)
