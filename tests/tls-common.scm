;;; (tests tls-common) -- what the TLS tests share: certificates made at
;;; test time, loopback listeners on kernel-chosen ports, an in-process
;;; server and client pair, and external peers started and killed by PID.

(define-module (tests tls-common)
  #:use-module (net socket)
  #:use-module (net tls)
  #:use-module (net error)
  #:use-module (ice-9 threads)
  #:use-module (ice-9 exceptions)
  #:use-module (ice-9 rdelim)
  #:use-module (ice-9 popen)
  #:use-module (ice-9 match)
  #:use-module (srfi srfi-11)
  #:export (cert-dir cert-file remove-cert-dir
            server-credentials client-credentials
            loopback-listener listener-port connect-loopback
            capture
            tls-pair serve-one-tls
            spawn-peer kill-peer peer-wait-port peer-output peer-wait-exit
            shell-quote
            peer-wait-output
            free-port
            program-available?))

(define %dir #f)
(define %dir-lock (make-mutex))

(define (cert-dir)
  "The directory of certificates made by tests/tls-certs.sh, once per run
(threads may ask at once)."
  (with-mutex %dir-lock (make-cert-dir)))

(define (make-cert-dir)
  (unless %dir
    (let* ((tmp (or (getenv "TMPDIR") "/tmp"))
           (dir (mkdtemp (string-append tmp "/guile-net-tls-XXXXXX")))
           (script (string-append (or (getenv "abs_top_srcdir") ".")
                                  "/tests/tls-certs.sh")))
      (unless (zero? (system* "sh" script dir))
        (error "certificate generation failed" script))
      (set! %dir dir)))
  %dir)

(define (remove-cert-dir)
  "Remove the certificates (and peer logs) of this run."
  (when %dir
    (system* "rm" "-rf" %dir)
    (set! %dir #f)))

(define (cert-file name)
  (string-append (cert-dir) "/" name ".pem"))

(define* (server-credentials #:optional (cert "server") #:key trust)
  (let ((c (make-certificate-credentials)))
    (set-certificate-credentials-x509-key-files! c (cert-file cert)
                                                 (cert-file "key"))
    (when trust
      (set-certificate-credentials-x509-trust-file! c (cert-file trust)))
    c))

(define* (client-credentials #:key (trust "ca") cert crl)
  (let ((c (make-certificate-credentials)))
    (when trust
      (set-certificate-credentials-x509-trust-file! c (cert-file trust)))
    (when crl
      (set-certificate-credentials-x509-crl-file! c (cert-file crl)))
    (when cert
      (set-certificate-credentials-x509-key-files! c (cert-file cert)
                                                   (cert-file "key")))
    c))

(define (loopback-listener)
  (let ((s (socket AF_INET SOCK_STREAM 0)))
    (setsockopt s SOL_SOCKET SO_REUSEADDR 1)
    (bind s AF_INET INADDR_LOOPBACK 0)
    (listen s 16)
    s))

(define (listener-port s) (sockaddr:port (getsockname s)))

(define (connect-loopback port)
  (let ((s (socket AF_INET SOCK_STREAM 0)))
    (connect s AF_INET INADDR_LOOPBACK port)
    s))

(define (free-port)
  "A port number the kernel just gave out and released, for programs that
cannot be told to pick one themselves."
  (let* ((s (loopback-listener)) (p (listener-port s)))
    (close-port s)
    p))

(define (capture thunk)
  "Call THUNK; return its value, or the exception it raised."
  (with-exception-handler (lambda (e) e)
    thunk
    #:unwind? #t))

(define* (serve-one-tls #:key
                        (server-cert "server")
                        (server-creds #f)
                        (server-setup (lambda (s) #t))
                        (server-body (lambda (s) #t))
                        (server-handshake? #t)
                        (timeout 5))
  "Serve one TLS connection on a loopback listener in a thread: its
session gets SERVER-CREDS (by default the credentials of SERVER-CERT) and
TIMEOUT, then SERVER-SETUP, a handshake unless SERVER-HANDSHAKE? is #f,
and SERVER-BODY.  Return two values: the listener's port number, and a
thunk that waits for the server (at most twice TIMEOUT), closes the
listener and returns what SERVER-BODY returned or the exception raised."
  (let* ((listener (loopback-listener))
         (creds (or server-creds (server-credentials server-cert)))
         (server
          (call-with-new-thread
           (lambda ()
             (capture
              (lambda ()
                (let* ((conn (car (accept listener)))
                       (s (make-session connection-end/server)))
                  (set-session-timeout! s timeout)
                  (set-session-credentials! s creds)
                  (set-session-transport-port! s conn)
                  (server-setup s)
                  (dynamic-wind
                    (lambda () #t)
                    (lambda ()
                      (when server-handshake? (handshake s))
                      (server-body s))
                    (lambda () (close-port conn))))))))))
    (values (listener-port listener)
            (lambda ()
              (let ((result (join-thread server (+ (current-time) (* 2 timeout))
                                         'server-thread-timed-out)))
                (close-port listener)
                result)))))

(define* (tls-pair #:key
                   (server-setup (lambda (s) #t))
                   (client-setup (lambda (s) #t))
                   (server-body (lambda (s) #t))
                   (client-body (lambda (s) #t))
                   (server-cert "server")
                   (server-name "localhost")
                   (client-creds #f)
                   (server-creds #f)
                   (timeout 5))
  "Run a TLS server in a thread and a client here over loopback; return
two values, what CLIENT-BODY and SERVER-BODY returned after the handshake
(or the exception either side raised).  Each side's session gets TIMEOUT."
  (call-with-values
      (lambda ()
        (serve-one-tls #:server-cert server-cert #:server-creds server-creds
                       #:server-setup server-setup #:server-body server-body
                       #:timeout timeout))
    (lambda (port finish)
      (let ((client
             (capture
              (lambda ()
                (let ((conn (connect-loopback port))
                      (s (make-session connection-end/client)))
                  (set-session-timeout! s timeout)
                  ;; 'none: leave the session's default credentials
                  (unless (eq? client-creds 'none)
                    (set-session-credentials! s (or client-creds
                                                    (client-credentials))))
                  (when server-name
                    (set-session-server-name! s server-name-type/dns
                                              server-name))
                  (set-session-transport-port! s conn)
                  (client-setup s)
                  (dynamic-wind
                    (lambda () #t)
                    (lambda () (handshake s) (client-body s))
                    (lambda () (close-port conn))))))))
        (values client (finish))))))

;;; External peers.

(define (program-available? name)
  (zero? (system (string-append "command -v " name " >/dev/null 2>&1"))))

;; A peer is (PID . OUTPUT-FILE): its stdout and stderr go to a file we
;; read, so a chatty peer never blocks on a full pipe.  A shell starts it
;; in the background and tells us its PID (forking Guile itself while
;; threads run is unsafe).
(define (shell-quote s)
  (string-append "'" (string-join (string-split s #\') "'\\''") "'"))

(define (spawn-peer program . args)
  (let* ((out (string-append (cert-dir) "/peer-"
                             (number->string (random 1000000000)) ".log"))
         (cmd (string-append "exec " (string-join (map shell-quote
                                                       (cons program args))
                                                  " ")
                             " </dev/null >" (shell-quote out) " 2>&1"))
         (pipe (open-pipe* OPEN_READ "sh" "-c"
                           (string-append "(" cmd ") & echo $!")))
         (pid (string->number (read-line pipe))))
    (close-pipe pipe)
    (cons pid out)))

(define (peer-alive? peer)
  (and (false-if-exception (begin (kill (car peer) 0) #t))
       ;; a zombie is gone for our purposes
       (let ((stat (false-if-exception
                    (call-with-input-file
                        (string-append "/proc/" (number->string (car peer))
                                       "/stat")
                      read-line))))
         (not (and stat (string-contains stat ") Z "))))))

(define (peer-output peer)
  (if (file-exists? (cdr peer))
      (call-with-input-file (cdr peer) (lambda (p) (read-string p)))
      ""))

(define* (peer-wait-output peer regexp-string #:optional (seconds 5))
  "Wait until PEER's output matches REGEXP-STRING; return the match or #f."
  (let ((rx (make-regexp regexp-string))
        (end (+ (get-internal-real-time)
                (* seconds internal-time-units-per-second))))
    (let loop ()
      (or (regexp-exec rx (peer-output peer))
          (and (< (get-internal-real-time) end)
               (begin (usleep 20000) (loop)))))))

(define (kill-peer peer)
  "Stop PEER, by its PID only."
  (false-if-exception (kill (car peer) SIGTERM))
  (let loop ((n 0))
    (when (peer-alive? peer)
      (if (< n 100)
          (begin (usleep 20000) (loop (+ n 1)))
          (false-if-exception (kill (car peer) SIGKILL))))))

(define* (peer-wait-exit peer #:optional (seconds 15))
  "Wait until PEER exits; return #t, or #f if it still runs after SECONDS."
  (let ((end (+ (get-internal-real-time)
                (* seconds internal-time-units-per-second))))
    (let loop ()
      (cond ((not (peer-alive? peer)) #t)
            ((> (get-internal-real-time) end) #f)
            (else (usleep 20000) (loop))))))

(define* (peer-wait-port port #:optional (seconds 5))
  "Wait until something accepts connections on loopback PORT."
  (let ((end (+ (get-internal-real-time)
                (* seconds internal-time-units-per-second))))
    (let loop ()
      (let ((s (socket AF_INET SOCK_STREAM 0)))
        (if (false-if-exception (connect s AF_INET INADDR_LOOPBACK port))
            (begin (close-port s) #t)
            (begin
              (close-port s)
              (and (< (get-internal-real-time) end)
                   (begin (usleep 20000) (loop)))))))))
