;;; Code written for guile-gnutls's (gnutls) runs with (net tls) in its
;;; place: this client is written the way (gnutls)'s manual shows, over
;;; Guile's own core sockets, against our server.  (Only the trust and
;;; server name are extra: a client verifies by default.)

(use-modules (tests harness)
             (tests tls-common)
             (srfi srfi-64)
             (net tls)
             (ice-9 rdelim)
             (ice-9 threads)
             (rnrs bytevectors))

(define (serve-one listener)
  ;; Our server, written with the same guile-gnutls names.
  (call-with-new-thread
   (lambda ()
     (capture
      (lambda ()
        (let* ((conn (car ((@ (net socket) accept) listener)))
               (session (make-session connection-end/server))
               (cred (make-certificate-credentials)))
          (set-certificate-credentials-x509-key-files!
           cred (cert-file "server") (cert-file "key")
           x509-certificate-format/pem)
          (set-session-default-priority! session)
          (set-session-credentials! session cred)
          (set-session-transport-port! session conn)
          (set-session-timeout! session 5)
          (handshake session)
          (let* ((port (session-record-port session))
                 (greeting (read port)))
            (write (list 'got greeting) port)
            (bye session close-request/rdwr)
            (close-port conn)
            greeting)))))))

(run-tests "tls-compat"
  (let* ((listener (loopback-listener))
         (port-number (listener-port listener))
         (server (serve-one listener))
         ;; From here on, as one writes it for (gnutls):
         (sock (socket PF_INET SOCK_STREAM 0))
         (session (make-session connection-end/client))
         (cred (make-certificate-credentials)))
    (connect sock AF_INET INADDR_LOOPBACK port-number)
    (set-certificate-credentials-x509-trust-file!
     cred (cert-file "ca") x509-certificate-format/pem)
    (set-session-default-priority! session)
    (set-session-credentials! session cred)
    (set-session-server-name! session server-name-type/dns "localhost")
    (set-session-transport-fd! session (fileno sock))
    (handshake session)
    (let ((i/o (session-record-port session)))
      ;; No force-output: (gnutls)'s record port is unbuffered, and code
      ;; written for it reads the reply right away.
      (write "Hello peer!" i/o)
      (let ((reply (read i/o)))
        (test-equal "(gnutls)-style client: exchange" '(got "Hello peer!") reply)
        (test-assert "protocol->string"
          (member (protocol->string (session-protocol session))
                  '("TLS1.3" "TLS1.2")))
        (test-assert "cipher->string" (string? (cipher->string
                                                 (session-cipher session))))
        (test-assert "kx->string" (string? (kx->string (session-kx session))))
        (test-assert "end of session reads as EOF"
          (eof-object? (read i/o)))
        (bye session close-request/rdwr)))
    (test-equal "server got the datum" "Hello peer!"
      (join-thread server (+ (current-time) 10)))
    (test-equal "guile-gnutls style handler sees (key err proc)"
      (list 'gnutls-error error/again 'handshake)
      (let ((s (make-session connection-end/client connection-flag/nonblock))
            (pair ((@ (net socket) socketpair) AF_UNIX SOCK_STREAM 0)))
        (set-session-transport-port! s (car pair))
        (set-session-verify-peer! s #f)
        ;; Nobody answers on the other end: "again".
        (catch 'gnutls-error
          (lambda () (handshake s) 'no-error)
          (lambda (key err proc . rest)
            (list key err proc)))))
    (close-port sock)
    (close-port listener))
  (remove-cert-dir))
