;;; TLS sessions in-process: our server in a thread, our client here, over
;;; loopback sockets on kernel-chosen ports.  Every operation is bounded by
;;; session timeouts.

(use-modules (tests harness)
             (tests tls-common)
             (srfi srfi-64)
             (srfi srfi-11)
             (net tls)
             (net error)
             (net socket)
             (ice-9 rdelim)
             (ice-9 binary-ports)
             (ice-9 suspendable-ports)
             (ice-9 threads)
             (ice-9 exceptions)
             (ice-9 ftw)
             (rnrs bytevectors))

(define (echo-line s)
  (let* ((p (session-record-port s))
         (line (read-line p)))
    (display (string-append "echo " line "\n") p)
    (force-output p)
    line))

(define (say-and-hear s text)
  (let ((p (session-record-port s)))
    (display text p)
    (newline p)
    (force-output p)
    (read-line p)))

(define tls1.2 "NORMAL:-VERS-ALL:+VERS-TLS1.2")

(run-tests "tls-session"

  (test-group "exchange"
    (let-values (((c s)
                  (tls-pair #:client-body
                            (lambda (s)
                              (list (say-and-hear s "hello")
                                    (session-protocol s) (session-cipher s)
                                    (session-kx s) (session-group s)
                                    (session-mac s)
                                    (length (session-peer-certificate-chain s))
                                    (session-resumed? s)))
                            #:server-body
                            (lambda (s)
                              (list (echo-line s) (session-protocol s)
                                    (session-server-name s))))))
      (test-equal "client got the echo" "echo hello" (car c))
      (test-equal "TLS 1.3 by default" 'TLS1.3 (list-ref c 1))
      (test-assert "cipher known under TLS 1.3" (symbol? (list-ref c 2)))
      (test-equal "kx under TLS 1.3" 'ECDHE-ECDSA (list-ref c 3))
      (test-assert "group under TLS 1.3" (symbol? (list-ref c 4)))
      (test-equal "mac AEAD" 'AEAD (list-ref c 5))
      (test-equal "peer chain" 1 (list-ref c 6))
      (test-equal "not resumed" #f (list-ref c 7))
      (test-equal "server read the line" "hello" (car s))
      (test-equal "server sees TLS 1.3" 'TLS1.3 (cadr s))
      (test-equal "server sees the SNI name" "localhost" (caddr s))))

  (test-group "TLS 1.2"
    (let-values (((c s)
                  (tls-pair #:client-setup
                            (lambda (s) (set-session-priorities!
                                         s (string-append
                                            (%default-priority-string)
                                            ":-VERS-TLS1.3")))
                            #:client-body
                            (lambda (s)
                              (list (say-and-hear s "twelve")
                                    (session-protocol s) (session-kx s)
                                    (session-cipher s) (session-group s)))
                            #:server-body echo-line)))
      (test-equal "echo" "echo twelve" (car c))
      (test-equal "protocol" 'TLS1.2 (cadr c))
      (test-equal "kx" 'ECDHE-ECDSA (caddr c))
      (test-assert "AEAD cipher"
        (memq (cadddr c) '(AES-128-GCM AES-256-GCM CHACHA20-POLY1305)))
      (test-assert "group" (symbol? (list-ref c 4)))))

  (test-group "defaults refuse old protocols"
    (let-values (((c s)
                  (tls-pair #:client-setup
                            (lambda (s) (set-session-priorities!
                                         s "NORMAL:-VERS-ALL:+VERS-TLS1.1"))
                            #:client-body (lambda (s) 'connected))))
      (test-assert "TLS 1.1 client refused" (tls-error? c))
      (test-assert "server failed too" (tls-error? s))))

  (test-group "record port buffering"
    (let-values (((c s)
                  (tls-pair
                   #:client-body
                   (lambda (s)
                     (let ((p (session-record-port s)))
                       ;; 2000 small writes, one force-output.
                       (let loop ((i 0))
                         (when (< i 2000)
                           (display "abcdefghi\n" p)
                           (loop (+ i 1))))
                       (force-output p)
                       ;; One big record back: a read returns much of it.
                       (let ((first (get-bytevector-some p)))
                         (list (bytevector-length first)
                               (tls-record-port? p)))))
                   #:server-body
                   (lambda (s)
                     ;; Count the records the 20000 bytes came in.
                     (let ((buf (make-bytevector 16384)))
                       (let loop ((got 0) (records 0))
                         (if (< got 20000)
                             (loop (+ got (record-receive! s buf))
                                   (+ records 1))
                             (begin
                               (record-send s (make-bytevector 10000 65))
                               records))))))))
      ;; 2,000 writes, 20,000 bytes, through a 2,000-byte buffer: about ten
      ;; records, where an unbuffered port (guile-gnutls) makes 2,000.
      (test-assert "small writes made few records" (and (integer? s) (<= s 16)))
      (test-assert "a read returns a record's worth" (> (car c) 1000))
      (test-assert "tls-record-port?" (cadr c))))

  (test-group "close and EOF"
    (let-values (((c s)
                  (tls-pair
                   #:client-body
                   (lambda (s)
                     (let ((p (session-record-port s)))
                       (read-line p)))
                   #:server-body
                   (lambda (s)
                     ;; close-port sends close_notify and closes the socket.
                     (close-port (session-record-port s))
                     'closed))))
      (test-assert "clean close reads as EOF" (eof-object? c))
      (test-equal "server closed" 'closed s))
    (let-values (((c s)
                  (tls-pair
                   #:client-body
                   (lambda (s) (read-line (session-record-port s)))
                   #:server-body
                   (lambda (s)
                     ;; Cut the TCP connection without close_notify.
                     (close-port (session-transport-port s))
                     'cut))))
      (test-assert "truncation is a distinguishable TLS error"
        (tls-premature-termination? c))
      (test-assert "truncation is fatal" (tls-error-fatal? c)))
    (let-values (((c s)
                  (tls-pair
                   #:client-body
                   (lambda (s) (read-line (session-record-port s)))
                   #:server-body
                   (lambda (s)
                     ;; Half a record (header says 100 bytes, 5 follow),
                     ;; then the connection goes.
                     (let ((conn (session-transport-port s)))
                       (put-bytevector conn #vu8(23 3 3 0 100 1 2 3 4 5))
                       (force-output conn)
                       (close-port conn))))))
      (test-assert "peer closed mid-record: a fatal TLS error"
        (and (tls-error? c) (tls-error-fatal? c))))
    (let-values (((c s)
                  (tls-pair
                   #:client-body
                   (lambda (s) (read-line (session-record-port s)))
                   #:server-body
                   (lambda (s)
                     ;; A whole record of garbage after the handshake.
                     (let ((conn (session-transport-port s)))
                       (put-bytevector conn #vu8(23 3 3 0 20))
                       (put-bytevector conn (make-bytevector 20 9))
                       (force-output conn)
                       (usleep 100000))))))
      (test-assert "garbage record: a fatal TLS error, no crash"
        (and (tls-error? c) (tls-error-fatal? c)))))

  ;; Whatever a session keeps after it ended (GnuTLS's state, or none),
  ;; a program that goes on using it gets a TLS error for I/O and its
  ;; answers for what was negotiated, never a crash.
  (test-group "a session used after bye"
    (define (outcome thunk)
      (catch #t
        (lambda () (list 'returned (thunk)))
        (lambda (key . args) (list 'raised key))))
    (define (tls-failure thunk)
      (with-exception-handler
        (lambda (e) (if (tls-error? e) 'tls-error (list 'other e)))
        (lambda () (thunk) 'no-error)
        #:unwind? #t))
    (define (after-end s)
      (list (tls-failure (lambda () (record-send s (make-bytevector 3 1))))
            (tls-failure (lambda () (record-receive! s (make-bytevector 3))))
            (tls-failure (lambda () (handshake s)))
            (tls-failure (lambda () (get-u8 (session-record-port s))))
            (outcome (lambda () (bye s close-request/rdwr)))
            (session-protocol s)
            (symbol? (session-cipher s))
            (peer-certificate-status s)))
    (let-values (((c s)
                  (tls-pair
                   #:client-body
                   (lambda (s)
                     (bye s close-request/rdwr)    ; waits for the server's
                     (let ((ended (after-end s)))
                       (close-port (session-transport-port s))
                       (list ended (after-end s))))
                   #:server-body
                   (lambda (s)
                     (let ((n (record-receive! s (make-bytevector 3))))
                       (bye s close-request/wr)
                       n)))))
      (test-equal "the server read the client's close_notify" 0 s)
      (test-assert "the client's session after bye" (pair? c))
      (when (pair? c)
        (let ((ended (car c)) (closed (cadr c)))
          (test-equal "record-send after bye: a TLS error" 'tls-error
            (list-ref ended 0))
          (test-equal "record-receive! after bye: a TLS error" 'tls-error
            (list-ref ended 1))
          (test-equal "handshake after bye: a TLS error" 'tls-error
            (list-ref ended 2))
          (test-equal "the record port after bye: a TLS error" 'tls-error
            (list-ref ended 3))
          (test-assert "bye again: returns or raises, no crash"
            (memq (car (list-ref ended 4)) '(returned raised)))
          (test-equal "what was negotiated still answers" 'TLS1.3
            (list-ref ended 5))
          (test-assert "  the cipher too" (list-ref ended 6))
          (test-equal "  and the peer's verification" '() (list-ref ended 7))
          (test-assert "after the transport is closed too: I/O fails cleanly"
            (and-map (lambda (x) (memq x '(tls-error no-error)))
                     (list-head closed 4)))
          (test-assert "  and bye neither hangs nor crashes"
            (memq (car (list-ref closed 4)) '(returned raised)))
          (test-equal "  what was negotiated still answers" 'TLS1.3
            (list-ref closed 5))))))

  (test-group "ALPN"
    (let-values (((c s)
                  (tls-pair
                   #:server-setup
                   (lambda (s) (set-session-alpn-protocols! s '("h2" "http/1.1")))
                   #:client-setup
                   (lambda (s) (set-session-alpn-protocols! s '("http/1.1" "x")))
                   #:client-body
                   (lambda (s) (say-and-hear s "hi") (session-alpn-protocol s))
                   #:server-body
                   (lambda (s) (echo-line s) (session-alpn-protocol s)))))
      (test-equal "client sees choice" "http/1.1" c)
      (test-equal "server sees choice" "http/1.1" s))
    (let-values (((c s)
                  (tls-pair
                   #:server-setup
                   (lambda (s) (set-session-alpn-protocols! s '("h2")))
                   #:client-setup
                   (lambda (s) (set-session-alpn-protocols! s '("spdy/1")))
                   #:client-body session-alpn-protocol)))
      (test-assert "no common protocol fails" (tls-error? c))
      (test-equal "with the alert" 'no-application-protocol
        (and (tls-error? c) (tls-error-alert c))))
    (let-values (((c s) (tls-pair #:client-body session-alpn-protocol)))
      (test-equal "none negotiated" #f c))
    (let-values (((c s)
                  (tls-pair
                   #:server-setup
                   (lambda (s) (set-session-alpn-protocols! s '("h2")))
                   #:client-body
                   (lambda (s) (say-and-hear s "hi") (session-alpn-protocol s))
                   #:server-body
                   (lambda (s) (echo-line s) (session-alpn-protocol s)))))
      (test-equal "client offering none still connects" '(#f #f) (list c s))))

  (test-group "SNI"
    (let* ((seen #f)
           (other (server-credentials "wronghost")))
      (let-values (((c s)
                    (tls-pair
                     #:server-name "www.example.org"
                     #:server-setup
                     (lambda (s)
                       (set-session-server-name-handler!
                        s (lambda (name)
                            (set! seen name)
                            (and (equal? name "www.example.org") other))))
                     #:client-body
                     (lambda (s) (say-and-hear s "hi") (session-server-name s))
                     #:server-body
                     (lambda (s) (echo-line s) (session-server-name s)))))
        (test-equal "handler got the name" "www.example.org" seen)
        (test-equal "server reads the name" "www.example.org" s)
        (test-equal "client verified the other certificate"
          "www.example.org" c)))
    (let-values (((c s)
                  (tls-pair
                   #:server-setup
                   (lambda (s)
                     (set-session-server-name-handler!
                      s (lambda (name) (error "no such host" name))))
                   #:client-body (lambda (s) 'connected))))
      (test-assert "handler's exception is re-raised by handshake"
        (and (error? s) (not (tls-error? s))))
      (test-assert "client sees a failed handshake" (tls-error? c))))

  (test-group "client certificates"
    (let-values (((c s)
                  (tls-pair
                   #:server-creds (server-credentials "server" #:trust "ca")
                   #:server-setup
                   (lambda (s)
                     (set-session-client-certificate-request! s 'require))
                   #:client-creds (client-credentials #:cert "client")
                   #:client-body (lambda (s) (say-and-hear s "me"))
                   #:server-body
                   (lambda (s)
                     (echo-line s)
                     (length (session-peer-certificate-chain s))))))
      (test-equal "client with a certificate accepted" "echo me" c)
      (test-equal "server saw it" 1 s))
    (let-values (((c s)
                  (tls-pair
                   #:server-creds (server-credentials "server" #:trust "ca")
                   #:server-setup
                   (lambda (s)
                     (set-session-client-certificate-request! s 'require))
                   #:client-body (lambda (s) (say-and-hear s "anon"))
                   #:server-body echo-line)))
      (test-assert "required certificate enforced on the server"
        (tls-error? s))
      (test-assert "client without certificate fails" (exception? c)))
    (let-values (((c s)
                  (tls-pair
                   #:server-creds (server-credentials "server" #:trust "ca")
                   #:server-setup
                   (lambda (s)
                     (set-session-client-certificate-request!
                      s certificate-request/request))
                   #:client-body (lambda (s) (say-and-hear s "maybe"))
                   #:server-body
                   (lambda (s)
                     (echo-line s)
                     (length (session-peer-certificate-chain s))))))
      (test-equal "requested, not sent: fine" "echo maybe" c)
      (test-equal "no chain" 0 s))
    (let-values (((c s)
                  (tls-pair
                   #:server-creds (server-credentials "server" #:trust "ca")
                   #:server-setup
                   (lambda (s)
                     (set-session-client-certificate-request! s 'require))
                   ;; a certificate for servers only, presented by a client
                   #:client-creds (client-credentials #:cert "server")
                   #:client-body (lambda (s) (say-and-hear s "x"))
                   #:server-body echo-line)))
      (test-assert "server-only certificate from a client rejected"
        (tls-verification-error? s))
      (test-equal "because of its purpose" '(purpose-mismatch)
        (and (tls-verification-error? s) (tls-verification-reasons s)))
      ;; The server's alert, or a reset when the server closed with our
      ;; data unread (TLS 1.3 clients finish the handshake first).
      (test-assert "client's exchange fails"
        (or (tls-error? c) (external-error? c)))))

  (test-group "resumption"
    (define (resume priorities)
      (let* ((data #f)
             (first
              (let-values (((c s)
                            (tls-pair
                             #:client-setup
                             (lambda (s)
                               (when priorities
                                 (set-session-priorities! s priorities)))
                             #:client-body
                             (lambda (s)
                               (let ((line (say-and-hear s "one")))
                                 (set! data (session-data s))
                                 line))
                             #:server-body echo-line)))
                c)))
        (let-values (((c s)
                      (tls-pair
                       #:client-setup
                       (lambda (s)
                         (when priorities
                           (set-session-priorities! s priorities))
                         (set-session-data! s data))
                       #:client-body
                       (lambda (s)
                         (say-and-hear s "two")
                         (session-resumed? s))
                       #:server-body
                       (lambda (s)
                         (echo-line s)
                         (session-resumed? s)))))
          (list first (bytevector? data) c s))))
    (let ((r (resume #f)))
      (test-equal "TLS 1.3 first exchange" "echo one" (car r))
      (test-assert "session data" (cadr r))
      (test-equal "TLS 1.3 client resumed" #t (caddr r))
      (test-equal "TLS 1.3 server resumed" #t (cadddr r)))
    (let ((r (resume (string-append (%default-priority-string)
                                    ":-VERS-TLS1.3"))))
      (test-equal "TLS 1.2 client resumed" #t (caddr r))
      (test-equal "TLS 1.2 server resumed" #t (cadddr r))))

  (test-group "errors"
    (let-values (((c s)
                  (tls-pair #:server-cert "selfsigned"
                            #:client-body (lambda (s) 'connected))))
      (test-equal "catch 'gnutls-error still works"
        (list 'gnutls-error error/certificate-verification-error 'handshake)
        (catch 'gnutls-error
          (lambda () (raise-exception c))
          (lambda (key code proc . rest) (list key code proc))))
      ;; The client's alert, or a reset if the client closed with the
      ;; server's last records unread.
      (test-assert "server's handshake fails too"
        (or (tls-error? s) (external-error? s))))
    (let-values (((c s)
                  (tls-pair #:server-cert "selfsigned"
                            #:client-setup
                            (lambda (s) (set-session-verify-peer! s #f))
                            #:client-body (lambda (s) (say-and-hear s "ok"))
                            #:server-body echo-line)))
      (test-equal "verification off explicitly: accepted" "echo ok" c))
    (let-values (((c s)
                  (tls-pair #:server-name #f
                            #:client-body (lambda (s) 'connected))))
      (test-assert "no server name to verify: refused" (error? c)))
    ;; A plain-text client on the TLS port.
    (let* ((listener (loopback-listener))
           (port (listener-port listener))
           (server
            (call-with-new-thread
             (lambda ()
               (capture
                (lambda ()
                  (let ((conn (car (accept listener)))
                        (s (make-session connection-end/server)))
                    (set-session-timeout! s 5)
                    (set-session-credentials! s (server-credentials))
                    (set-session-transport-port! s conn)
                    (handshake s))))))))
      (let ((conn (connect-loopback port)))
        (display "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n" conn)
        (let ((r (join-thread server (+ (current-time) 10))))
          (test-assert "plain-text client: TLS error on the server"
            (tls-error? r))
          (test-assert "and it is fatal" (tls-error-fatal? r)))
        (close-port conn)
        (close-port listener)))
    ;; Garbage from a "server".
    (let* ((listener (loopback-listener))
           (port (listener-port listener))
           (server
            (call-with-new-thread
             (lambda ()
               (let ((conn (car (accept listener))))
                 (put-bytevector conn (make-bytevector 300 7))
                 (force-output conn)
                 (usleep 200000)
                 (close-port conn))))))
      (let ((r (capture
                (lambda ()
                  (let ((s (make-session connection-end/client)))
                    (set-session-timeout! s 5)
                    (set-session-server-name! s server-name-type/dns
                                              "localhost")
                    (set-session-credentials! s (client-credentials))
                    (set-session-transport-port! s (connect-loopback port))
                    (handshake s))))))
        (join-thread server (+ (current-time) 10))
        (close-port listener)
        (test-assert "garbage from the server: TLS error" (tls-error? r))))
    ;; A server that closes mid-handshake.
    (let* ((listener (loopback-listener))
           (port (listener-port listener))
           (server (call-with-new-thread
                    (lambda ()
                      (close-port (car (accept listener)))))))
      (let ((r (capture
                (lambda ()
                  (let ((s (make-session connection-end/client)))
                    (set-session-timeout! s 5)
                    (set-session-server-name! s server-name-type/dns
                                              "localhost")
                    (set-session-transport-port! s (connect-loopback port))
                    (handshake s))))))
        (join-thread server (+ (current-time) 10))
        (close-port listener)
        (test-assert "peer closed mid-handshake: TLS or system error"
          (or (tls-error? r) (external-error? r)))))
    ;; A silent server: the handshake times out.
    (let* ((listener (loopback-listener))
           (port (listener-port listener)))
      (let ((r (capture
                (lambda ()
                  (let ((s (make-session connection-end/client)))
                    (set-session-timeout! s 0.3)
                    (set-session-server-name! s server-name-type/dns
                                              "localhost")
                    (set-session-transport-port! s (connect-loopback port))
                    (handshake s))))))
        (close-port listener)
        (test-assert "silent server: timeout condition"
          (net-timeout-error? r)))))

  (test-group "non-blocking"
    (let-values (((c s)
                  (tls-pair
                   #:client-body
                   (lambda (s)
                     (let* ((conn (session-transport-port s))
                            (p (session-record-port s))
                            (waits 0)
                            (again
                             (begin
                               (fcntl conn F_SETFL
                                      (logior O_NONBLOCK
                                              (fcntl conn F_GETFL)))
                               (catch 'gnutls-error
                                 (lambda ()
                                   (record-receive! s (make-bytevector 10))
                                   'no-again)
                                 (lambda (key code . _) code)))))
                       (display "ping\n" p)
                       (force-output p)
                       (install-suspendable-ports!)
                       (let ((line
                              (parameterize ((current-read-waiter
                                              (lambda (port)
                                                (set! waits (+ waits 1))
                                                (select (list conn) '() '() 5))))
                                (read-line p))))
                         (uninstall-suspendable-ports!)
                         (list again line (> waits 0)
                               (record-check-pending s)
                               (record-get-direction s)))))
                   #:server-body
                   (lambda (s)
                     (let ((line (read-line (session-record-port s))))
                       (usleep 100000)
                       (display "pong\n" (session-record-port s))
                       (force-output (session-record-port s))
                       line)))))
      (test-equal "record-receive! says again" error/again (car c))
      (test-equal "suspendable read got the line" "pong" (cadr c))
      (test-assert "the read waiter was called" (caddr c))
      (test-equal "nothing pending" 0 (cadddr c))
      (test-equal "direction is read" 0 (list-ref c 4))
      (test-equal "server got ping" "ping" s)))

  (test-group "non-blocking handshake and large writes"
    ;; The client's socket is O_NONBLOCK from the start: handshake raises
    ;; error/again and is retried after waiting in the direction GnuTLS
    ;; gives; then 1 MB goes through the record port with a write waiter,
    ;; which resumes interrupted record sends.
    (let* ((listener (loopback-listener))
           (port (listener-port listener))
           (server
            (call-with-new-thread
             (lambda ()
               (capture
                (lambda ()
                  (let ((conn (car (accept listener)))
                        (s (make-session connection-end/server)))
                    (set-session-timeout! s 5)
                    (set-session-credentials! s (server-credentials))
                    (set-session-transport-port! s conn)
                    (usleep 100000)   ; the client's handshake must wait
                    (handshake s)
                    (let ((buf (make-bytevector 16384)))
                      (usleep 200000)   ; let the client's writes block
                      (let loop ((total 0))
                        (let ((n (record-receive! s buf)))
                          (if (zero? n)
                              (begin (close-port conn) total)
                              (loop (+ total n))))))))))))
           (conn (connect-loopback port))
           (s (make-session connection-end/client))
           (agains 0)
           (waits 0))
      (fcntl conn F_SETFL (logior O_NONBLOCK (fcntl conn F_GETFL)))
      ;; small kernel buffers so that writes do block
      (setsockopt conn SOL_SOCKET SO_SNDBUF 8192)
      (set-session-credentials! s (client-credentials))
      (set-session-server-name! s server-name-type/dns "localhost")
      (set-session-transport-port! s conn)
      (let loop ((i 0))
        (unless (> i 1000)
          (catch 'gnutls-error
            (lambda () (handshake s))
            (lambda (key code . _)
              (if (eqv? code error/again)
                  (begin
                    (set! agains (+ agains 1))
                    (if (zero? (record-get-direction s))
                        (select (list conn) '() '() 1)
                        (select '() (list conn) '() 1))
                    (loop (+ i 1)))
                  (throw key code))))))
      (test-assert "non-blocking handshake said again" (> agains 0))
      (test-equal "and completed" 'TLS1.3 (session-protocol s))
      (let ((p (session-record-port s))
            (chunk (make-bytevector 1000 42)))
        (install-suspendable-ports!)
        (parameterize ((current-write-waiter
                        (lambda (port)
                          (set! waits (+ waits 1))
                          (select '() (list conn) '() 5))))
          (let loop ((i 0))
            (when (< i 1024)
              (put-bytevector p chunk)
              (loop (+ i 1))))
          (force-output p))
        (uninstall-suspendable-ports!)
        ;; Non-blocking: bye may also have to wait for room to send.
        (let retry ((i 0))
          (catch #t
            (lambda () (bye s close-request/wr))
            (lambda (key . args)
              (if (and (< i 100)
                       (or (and (eq? key 'gnutls-error) (eqv? (car args) error/again))
                           (and (eq? key 'system-error)
                                (eqv? (car (list-ref args 3)) EAGAIN))))
                  (begin (select '() (list conn) '() 1) (retry (+ i 1)))
                  (apply throw key args)))))
        (let ((total (join-thread server (+ (current-time) 10))))
          (test-equal "server got every byte" 1024000 total)
          (test-assert "the write waiter was called" (> waits 0))))
      (close-port conn)
      (close-port listener)))

  (test-group "transport: any binary port"
    (define* (wrap sock #:key fail)
      ;; A custom binary port over a socket: no descriptor for GnuTLS.
      (make-custom-binary-input/output-port
       "wrapped"
       (lambda (bv start count)
         (let* ((tmp (make-bytevector count))
                (n (recv! sock tmp)))
           (bytevector-copy! tmp 0 bv start n)
           n))
       (lambda (bv start count)
         (when fail (throw 'boom "write failed"))
         (let ((b (make-bytevector count)))
           (bytevector-copy! bv start b 0 count)
           (send sock b)))
       #f #f #f))
    (let-values (((c s)
                  (tls-pair
                   #:client-setup
                   (lambda (s)
                     (set-session-transport-port!
                      s (wrap (session-transport-port s))))
                   #:client-body (lambda (s) (say-and-hear s "wrapped"))
                   #:server-body echo-line)))
      (test-equal "TLS over a custom binary port" "echo wrapped" c))
    (let-values (((c s)
                  (tls-pair
                   #:client-setup
                   (lambda (s)
                     (set-session-transport-port!
                      s (wrap (session-transport-port s) #:fail #t)))
                   #:client-body (lambda (s) 'connected))))
      (test-equal "the port's exception comes out of handshake" 'boom
        (and (exception? c) (exception-kind c)))))

  (test-group "no leaked descriptors"
    (define (open-fds) (length (scandir "/proc/self/fd")))
    (let ((before (begin (gc) (open-fds))))
      (let loop ((i 0))
        (when (< i 20)
          ;; failed verification, truncated read, and a good exchange
          (tls-pair #:server-cert "selfsigned"
                    #:client-body (lambda (s) 'connected))
          (tls-pair #:client-body (lambda (s) (read-line (session-record-port s)))
                    #:server-body (lambda (s) (close-port (session-transport-port s))))
          (tls-pair #:client-body (lambda (s) (say-and-hear s "x"))
                    #:server-body echo-line)
          (loop (+ i 1))))
      ;; Server threads hold Guile's per-thread wake-up pipes until they
      ;; have fully exited: give them a moment.  (There may be fewer than
      ;; before: ports of earlier groups get finalized meanwhile.)
      (test-assert "no more descriptors open after 60 connections"
        (let wait ((n 0))
          (gc)
          (let ((now (open-fds)))
            (cond ((<= now before) #t)
                  ((> n 100) (format #t "#   ~a open, ~a before~%" now before) #f)
                  (else (usleep 20000) (wait (+ n 1)))))))))

  (test-group "waiting"
    (let-values (((c s)
                  (tls-pair
                   #:client-body
                   (lambda (s)
                     ;; A reader blocked on a silent peer: other threads run
                     ;; and cancel-thread (an async) stops it at once.
                     (let* ((ticks 0)
                            (reader (call-with-new-thread
                                     (lambda ()
                                       (read-line (session-record-port s)))))
                            (start (get-internal-real-time)))
                       (let loop ((i 0))
                         (when (< i 10)
                           (usleep 10000)
                           (set! ticks (+ ticks 1))
                           (loop (+ i 1))))
                       (cancel-thread reader)
                       ;; Poll rather than join with a time limit: Guile
                       ;; 3.0.8's join-thread raises "mutex already locked"
                       ;; when called again after timing out.  At most 3 s.
                       (let wait ((n 0))
                         (unless (or (thread-exited? reader) (> n 300))
                           (usleep 10000)
                           (wait (+ n 1))))
                       (list ticks
                             (< (- (get-internal-real-time) start)
                                (* 2 internal-time-units-per-second))
                             (thread-exited? reader))))
                   #:server-body
                   (lambda (s)
                     ;; stay silent until the client closes
                     (read-line (session-record-port s))))))
      (test-equal "other threads ran while a read waited" 10 (car c))
      (test-assert "cancel-thread stopped the blocked read promptly"
        (and (cadr c) (caddr c)))))

  (test-group "DTLS"
    (let* ((pair (socketpair AF_UNIX SOCK_DGRAM 0))
           (creds (server-credentials))
           (server
            (call-with-new-thread
             (lambda ()
               (capture
                (lambda ()
                  (let ((s (make-session connection-end/server
                                         connection-flag/datagram)))
                    (set-session-timeout! s 5)
                    (set-session-credentials! s creds)
                    (set-session-transport-port! s (cdr pair))
                    (handshake s)
                    (let* ((buf (make-bytevector 100))
                           (n (record-receive! s buf)))
                      (record-send s (make-bytevector n 66))
                      n)))))))
           (c (capture
               (lambda ()
                 (let ((s (make-session connection-end/client
                                        connection-flag/datagram)))
                   (set-session-timeout! s 5)
                   (set-session-credentials! s (client-credentials))
                   (set-session-server-name! s server-name-type/dns
                                             "localhost")
                   (set-session-transport-port! s (car pair))
                   (handshake s)
                   (record-send s (make-bytevector 7 65))
                   (let* ((buf (make-bytevector 100))
                          (n (record-receive! s buf)))
                     (list (session-protocol s) n)))))))
      (test-equal "DTLS 1.2 handshake and datagrams" '(DTLS1.2 7) c)
      (test-equal "server got the datagram" 7
        (join-thread server (+ (current-time) 10)))
      (close-port (car pair))
      (close-port (cdr pair))))

  (test-group "bad input"
    (test-equal "make-session symbol" 'wrong-type-arg
      (error-key (make-session 'client)))
    (test-equal "make-session number" 'out-of-range
      (error-key (make-session 7)))
    (test-equal "record-send non-session" 'wrong-type-arg
      (error-key (record-send 42 (make-bytevector 1))))
    (test-equal "record-send non-bytevector" 'wrong-type-arg
      (error-key (record-send (make-session connection-end/client) "x")))
    (test-equal "transport fd -1" 'out-of-range
      (error-key (set-session-transport-fd!
                  (make-session connection-end/client) -1)))
    (test-assert "handshake without transport: an error, no crash"
      (error-key (handshake (make-session connection-end/client))))
    (test-assert "record-send before handshake: an error"
      (let ((s (make-session connection-end/client)))
        (set-session-transport-fd! s 0)
        (error-key (record-send s (make-bytevector 1)))))
    (test-equal "transport closed under the session: EBADF, not a reused fd"
      EBADF
      (let ((s (make-session connection-end/client))
            (sock (socket AF_INET SOCK_STREAM 0)))
        (set-session-transport-port! s sock)
        (set-session-server-name! s server-name-type/dns "localhost")
        (close-port sock)
        (error-errno (handshake s))))
    (test-equal "credentials wrong type" 'wrong-type-arg
      (error-key (set-session-credentials!
                  (make-session connection-end/client) 'creds)))
    (test-equal "key file missing: TLS error" 'gnutls-error
      (error-key (set-certificate-credentials-x509-key-files!
                  (make-certificate-credentials) "/nonexistent" "/nonexistent")))
    (test-equal "format out of range" 'out-of-range
      (error-key (set-certificate-credentials-x509-trust-file!
                  (make-certificate-credentials) (cert-file "ca") 99)))
    (test-equal "alpn not a list" 'wrong-type-arg
      (error-key (set-session-alpn-protocols!
                  (make-session connection-end/client) "h2")))
    (test-equal "bad priority string" 'gnutls-error
      (error-key (set-session-priorities!
                  (make-session connection-end/client) "NORMAL:+BOGUS")))
    (test-equal "client cert request on a client" 'misc-error
      (error-key (set-session-client-certificate-request!
                  (make-session connection-end/client) 'require)))
    (test-equal "client cert request mode" 'out-of-range
      (error-key (set-session-client-certificate-request!
                  (make-session connection-end/server) 'always))))

  ;; Issue 14: explicit trust given after a handshake loaded the system
  ;; store replaces it, and keeps the CRLs given before.
  (test-group "explicit trust after the system store"
    (let ((creds (make-certificate-credentials)))
      (set-certificate-credentials-x509-crl-file! creds (cert-file "crl"))
      (let-values (((c s) (tls-pair #:client-creds creds
                                    #:client-body (lambda (s) 'connected))))
        (test-equal "no trust given: the system store, which refuses our CA"
          '(untrusted-issuer)
          (and (tls-verification-error? c) (tls-verification-reasons c))))
      (test-assert "... and the credentials say they trust the system store"
        (string-contains (object->string creds) "trusting the system store"))
      (test-equal "trust given now: the number added" 1
        (set-certificate-credentials-x509-trust-file! creds (cert-file "ca")))
      (test-equal "it replaced the system store; the CRL stayed"
        "#<certificate-credentials trusting 1 certificate, 1 CRL>"
        (object->string creds))
      (let-values (((c s) (tls-pair #:client-creds creds
                                    #:client-body (lambda (s) (say-and-hear s "after"))
                                    #:server-body echo-line)))
        (test-equal "the next handshake trusts our CA" "echo after" c))
      (let-values (((c s) (tls-pair #:client-creds creds #:server-cert "revoked"
                                    #:client-body (lambda (s) 'connected))))
        (test-equal "... and still refuses what the CRL revokes" '(revoked)
          (and (tls-verification-error? c) (tls-verification-reasons c))))
      (let-values (((c s) (tls-pair #:client-creds creds
                                    #:server-creds
                                    (let ((sc (make-certificate-credentials)))
                                      (let-values (((cert key)
                                                    (make-self-signed-certificate
                                                     "localhost")))
                                        (set-certificate-credentials-x509-key-data!
                                         sc cert key))
                                      sc)
                                    #:client-body (lambda (s) 'connected))))
        (test-assert "... and only what was given: another issuer is refused"
          (and (tls-verification-error? c)
               (memq 'untrusted-issuer (tls-verification-reasons c))))))
    (let ((creds (make-certificate-credentials)))
      (let-values (((c s) (tls-pair #:client-creds creds
                                    #:client-body (lambda (s) 'connected))))
        #t)
      (set-certificate-credentials-x509-trust-data!
       creds (call-with-input-file (cert-file "ca") get-bytevector-all
               #:binary #t))
      (test-equal "trust data replace it the same way"
        "#<certificate-credentials trusting 1 certificate>"
        (object->string creds)))
    (let ((creds (make-certificate-credentials)))
      (set-certificate-credentials-system-trust! creds)
      (let-values (((c s) (tls-pair #:client-creds creds
                                    #:client-body (lambda (s) 'connected))))
        #t)
      (set-certificate-credentials-x509-trust-file! creds (cert-file "ca"))
      (test-assert "the system store asked for explicitly stays"
        (string-contains (object->string creds)
                         "trusting 1 certificate and the system store"))
      (let-values (((c s) (tls-pair #:client-creds creds
                                    #:client-body (lambda (s) (say-and-hear s "both"))
                                    #:server-body echo-line)))
        (test-equal "... with the trust given" "echo both" c))))

  ;; Issue 14: a condition's exception-message is its text and its
  ;; exception-origin the procedure called, and the report of an uncaught
  ;; one says so, for real failures.
  (test-group "conditions as a user sees them"
    (define (report e)
      ;; What Guile prints for E after the frame line (and its newline).
      (string-trim-right
       (call-with-output-string
         (lambda (port)
           (print-exception port #f (exception-kind e) (exception-args e))))
       #\newline))
    (define (seen e)
      (and (exception? e)
           (list (exception-origin e) (exception-message e) (report e))))
    (let-values (((c s) (tls-pair #:server-cert "selfsigned"
                                  #:client-body (lambda (s) 'connected))))
      (let ((text (string-append "certificate verification failed for "
                                 "localhost: the certificate's issuer is "
                                 "not trusted (unknown or self-signed)")))
        (test-equal "a refused certificate: origin handshake, the whole text"
          (list 'handshake text (string-append "In procedure handshake: " text))
          (seen c))))
    (let* ((listener (loopback-listener))
           (r (capture
               (lambda ()
                 (let ((s (make-session connection-end/client)))
                   (set-session-timeout! s 0.3)
                   (set-session-server-name! s server-name-type/dns "localhost")
                   (set-session-transport-port! s (connect-loopback
                                                   (listener-port listener)))
                   (handshake s))))))
      (close-port listener)
      (test-equal "a handshake that times out"
        '(handshake "handshake timed out"
                    "In procedure handshake: handshake timed out")
        (seen r)))
    (let* ((listener (loopback-listener))
           (port (listener-port listener))
           (server
            (call-with-new-thread
             (lambda ()
               (capture
                (lambda ()
                  (let ((conn (car (accept listener)))
                        (s (make-session connection-end/server)))
                    (set-session-timeout! s 5)
                    (set-session-credentials! s (server-credentials))
                    (set-session-transport-port! s conn)
                    (handshake s))))))))
      (let ((conn (connect-loopback port)))
        (display "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n" conn)
        (let ((r (join-thread server (+ (current-time) 10))))
          (test-assert "GnuTLS's error: origin handshake, GnuTLS's message"
            (and (tls-error? r)
                 (eq? 'handshake (exception-origin r))
                 (string=? (exception-message r) (tls-error-message r))
                 (string=? (report r)
                           (string-append "In procedure handshake: "
                                          (tls-error-message r))))))
        (close-port conn)
        (close-port listener)))
    (let* ((u (socket AF_INET SOCK_DGRAM 0))
           (s (make-session connection-end/client)))
      (set-session-transport-port! s u)
      (test-equal "a state error: origin record-send"
        '(record-send "the handshake has not been done"
                      "In procedure record-send: the handshake has not been done")
        (seen (capture (lambda () (record-send s (make-bytevector 1 0))))))
      (close-port u))
    (let* ((port (free-port))
           (sock (socket AF_INET SOCK_STREAM 0))
           (r (capture (lambda () (connect sock AF_INET INADDR_LOOPBACK port)))))
      (close-port sock)
      (test-equal "connection refused: origin connect, the errno's text"
        '(connect "Connection refused" "In procedure connect: Connection refused")
        (and (connection-refused-error? r) (seen r)))
      (test-equal "... still Guile's system-error for catch"
        (list "connect" ECONNREFUSED)
        (list (car (exception-args r)) (net-error-errno r))))
    (let ((r (capture (lambda ()
                        (set-certificate-credentials-x509-trust-file!
                         (make-certificate-credentials) "/nonexistent/ca.pem")))))
      (test-equal "a file that cannot be read"
        '(set-certificate-credentials-x509-trust-file!
          "cannot read /nonexistent/ca.pem: No such file or directory"
          "In procedure set-certificate-credentials-x509-trust-file!: cannot read /nonexistent/ca.pem: No such file or directory")
        (seen r))))

  (test-group "GC"
    (test-assert "sessions and credentials are collected without crashes"
      (begin
        (let loop ((i 0))
          (when (< i 300)
            (let ((s (make-session connection-end/client))
                  (c (make-certificate-credentials)))
              (set-session-credentials! s c)
              (set-session-transport-port! s (socket AF_INET SOCK_STREAM 0)))
            (loop (+ i 1))))
        (gc) (gc)
        #t))
    (let-values (((c s)
                  (tls-pair
                   #:client-body
                   (lambda (s)
                     ;; Only the record port is kept: it keeps the session,
                     ;; credentials and transport alive.
                     (let ((p (session-record-port s)))
                       (set! s #f)
                       (gc) (gc)
                       (display "still\n" p)
                       (force-output p)
                       (read-line p)))
                   #:server-body echo-line)))
      (test-equal "record port keeps its session alive" "echo still" c)))

  (remove-cert-dir))
