;;; dtls-echo.scm -- DTLS over UDP on localhost with (net dtls).
;;;
;;; Makes a CA and a certificate for "localhost" with certtool in a
;;; temporary directory, starts a DTLS echo server on 127.0.0.1 (port chosen
;;; by the kernel) in a thread, and has a client, verifying the server
;;; against that CA, send three messages and print the echoes, then the
;;; server's statistics (one cookie sent, one session, closed).
;;;
;;; Run: ./pre-inst-env guile --no-auto-compile examples/dtls-echo.scm

(use-modules (net socket)
             (net tls)
             (net dtls)
             (rnrs bytevectors)
             (ice-9 format)
             (ice-9 threads))

(define dir (mkdtemp "/tmp/dtls-echo-XXXXXX"))
(define (in-dir name) (string-append dir "/" name))

(define (certtool . args)
  (unless (zero? (apply system* "sh" "-c"
                        (string-append "certtool " (string-join args " ")
                                       " >/dev/null 2>&1")
                        '()))
    (error "certtool failed" args)))

(define (write-file file text)
  (call-with-output-file file (lambda (p) (display text p))))

(define (make-certificates)
  (for-each (lambda (key)
              (certtool "--generate-privkey --key-type=ecdsa --curve=secp256r1"
                        "--outfile" (in-dir key)))
            '("ca-key.pem" "key.pem"))
  (write-file (in-dir "ca.tmpl")
              "cn = \"Demo CA\"\nca\ncert_signing_key\nexpiration_days = 1\n")
  (write-file (in-dir "server.tmpl")
              (string-append "cn = \"localhost\"\ndns_name = \"localhost\"\n"
                             "tls_www_server\nsigning_key\nexpiration_days = 1\n"))
  (certtool "--generate-self-signed --load-privkey" (in-dir "ca-key.pem")
            "--template" (in-dir "ca.tmpl") "--outfile" (in-dir "ca.pem"))
  (certtool "--generate-certificate --load-privkey" (in-dir "key.pem")
            "--load-ca-certificate" (in-dir "ca.pem")
            "--load-ca-privkey" (in-dir "ca-key.pem")
            "--template" (in-dir "server.tmpl") "--outfile" (in-dir "server.pem")))

;;; The server: echo every message in upper case, until its client closes.

(define (start-server server)
  (call-with-new-thread
   (lambda ()
     (let loop ()
       (call-with-values (lambda () (dtls-server-receive server))
         (lambda (message session)
           (unless (eof-object? message)
             (dtls-send session
                        (string->utf8 (string-upcase (utf8->string message))))
             (loop))))))))

(define (main)
  (make-certificates)
  (let* ((creds (let ((c (make-certificate-credentials)))
                  (set-certificate-credentials-x509-key-files!
                   c (in-dir "server.pem") (in-dir "key.pem"))
                  c))
         (server (make-dtls-server "127.0.0.1" 0 #:credentials creds
                                   #:timeout 10))
         (port (sockaddr:port (getsockname (dtls-server-socket server))))
         (thread (start-server server))
         (trust (let ((c (make-certificate-credentials)))
                  (set-certificate-credentials-x509-trust-file! c (in-dir "ca.pem"))
                  c))
         (session (make-dtls-client "127.0.0.1" port #:credentials trust
                                    #:server-name "localhost" #:timeout 10)))
    (format #t "DTLS server on 127.0.0.1 port ~a~%" port)
    (format #t "client: ~a, data MTU ~a bytes~%"
            (session-protocol session) (session-dtls-data-mtu session))
    (for-each (lambda (text)
                (dtls-send session (string->utf8 text))
                (format #t "sent ~s, got back ~s~%"
                        text (utf8->string (dtls-receive session))))
              '("hello" "datagram" "world"))
    (close-dtls session)
    (join-thread thread (+ (current-time) 10))
    (format #t "server: ~s~%"
            (filter (lambda (kv) (memq (car kv) '(cookies-sent sessions-opened
                                                   sessions-closed)))
                    (dtls-server-statistics server)))
    (close-dtls-server server)
    (system* "rm" "-rf" dir)))

(main)
