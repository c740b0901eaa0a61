;;; tls-demo.scm -- a real TLS exchange on localhost with (net tls).
;;;
;;; Makes a CA and a certificate for "localhost" with certtool in a
;;; temporary directory, starts a TLS server on 127.0.0.1 (port chosen by
;;; the kernel) in a thread, connects a client that verifies the server
;;; against that CA, and prints the protocol, cipher, ALPN choice and the
;;; lines exchanged.
;;;
;;; Run: ./pre-inst-env guile --no-auto-compile examples/tls-demo.scm

(use-modules (net socket)
             (net tls)
             (net error)
             (ice-9 rdelim)
             (ice-9 format)
             (ice-9 threads))

(define (run . args)
  (unless (zero? (apply system* args))
    (error "command failed" args)))

(define (write-file file text)
  (call-with-output-file file (lambda (p) (display text p))))

;;; Certificates: a CA, and a server certificate it signs.

(define dir (mkdtemp "/tmp/tls-demo-XXXXXX"))
(define (in-dir name) (string-append dir "/" name))

(define (make-certificates)
  (define (quiet . args)
    (run "sh" "-c" (string-append (string-join args " ") " >/dev/null 2>&1")))
  (quiet "certtool --generate-privkey --key-type=ecdsa --curve=secp256r1"
         "--outfile" (in-dir "ca-key.pem"))
  (quiet "certtool --generate-privkey --key-type=ecdsa --curve=secp256r1"
         "--outfile" (in-dir "key.pem"))
  (write-file (in-dir "ca.tmpl")
              "cn = \"Demo CA\"\nca\ncert_signing_key\nexpiration_days = 1\n")
  (write-file (in-dir "server.tmpl")
              (string-append "cn = \"localhost\"\ndns_name = \"localhost\"\n"
                             "tls_www_server\nsigning_key\n"
                             "expiration_days = 1\n"))
  (quiet "certtool --generate-self-signed"
         "--load-privkey" (in-dir "ca-key.pem")
         "--template" (in-dir "ca.tmpl") "--outfile" (in-dir "ca.pem"))
  (quiet "certtool --generate-certificate"
         "--load-privkey" (in-dir "key.pem")
         "--load-ca-certificate" (in-dir "ca.pem")
         "--load-ca-privkey" (in-dir "ca-key.pem")
         "--template" (in-dir "server.tmpl") "--outfile" (in-dir "server.pem")))

;;; The server: one connection, echoing lines in upper case until EOF.

(define (start-server listener)
  (let ((creds (make-certificate-credentials)))
    (set-certificate-credentials-x509-key-files! creds (in-dir "server.pem")
                                                 (in-dir "key.pem"))
    (call-with-new-thread
     (lambda ()
       (let* ((conn (car (accept listener)))
              (session (make-session connection-end/server)))
         ;; TLS writes records: no Nagle delay between them.
         (setsockopt conn IPPROTO_TCP TCP_NODELAY 1)
         (set-session-credentials! session creds)
         (set-session-alpn-protocols! session '("demo/1" "http/1.1"))
         (set-session-timeout! session 10)
         (set-session-transport-port! session conn)
         (handshake session)
         (let ((port (session-record-port session)))
           (let loop ()
             (let ((line (read-line port)))
               (unless (eof-object? line)
                 (format port "~a~%" (string-upcase line))
                 (force-output port)
                 (loop))))
           ;; Sends close_notify, then closes the socket.
           (close-port port)))))))

;;; The client: verifies the server against the demo CA.

(define (run-client port-number)
  (let ((creds (make-certificate-credentials))
        (session (make-session connection-end/client))
        (sock (socket AF_INET SOCK_STREAM 0)))
    (set-certificate-credentials-x509-trust-file! creds (in-dir "ca.pem"))
    (connect sock AF_INET INADDR_LOOPBACK port-number)
    (setsockopt sock IPPROTO_TCP TCP_NODELAY 1)
    (set-session-credentials! session creds)
    (set-session-server-name! session server-name-type/dns "localhost")
    (set-session-alpn-protocols! session '("demo/1"))
    (set-session-timeout! session 10)
    (set-session-transport-port! session sock)
    (handshake session)                 ; verifies chain and host name
    (format #t "connected to localhost:~a, certificate verified~%" port-number)
    (format #t "protocol: ~a~%" (session-protocol session))
    (format #t "cipher:   ~a~%" (session-cipher session))
    (format #t "kx:       ~a (group ~a)~%" (session-kx session)
            (session-group session))
    (format #t "ALPN:     ~a~%" (session-alpn-protocol session))
    (let ((port (session-record-port session)))
      (for-each (lambda (line)
                  (format port "~a~%" line)
                  (force-output port)
                  (format #t "client sent:     ~s~%" line)
                  (format #t "server answered: ~s~%" (read-line port)))
                '("hello over TLS" "guile-net says hi"))
      (close-port port))))

(define (main)
  (make-certificates)
  (let* ((listener (socket AF_INET SOCK_STREAM 0)))
    (bind listener AF_INET INADDR_LOOPBACK 0)
    (listen listener 1)
    (let* ((port-number (sockaddr:port (getsockname listener)))
           (server (start-server listener)))
      (run-client port-number)
      (join-thread server (+ (current-time) 10))
      (close-port listener)))
  (run "rm" "-rf" dir))

(main)
