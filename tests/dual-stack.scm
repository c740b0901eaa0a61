;;; Dual-stack fallback by name: "dualhost.test" resolves to ::1 first and
;;; 127.0.0.1 second, and only 127.0.0.1 has a listener, so a client must
;;; try the next address when the first refuses.  The name comes from a
;;; hosts file of the test's own, through nss_wrapper (Debian's
;;; libnss-wrapper): the file re-executes itself under it, so no resolver
;;; outside this machine is asked anything.  With nothing listening, the
;;; error names both addresses; an unknown name's error names the host.

(define nss-wrapper "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so")

(unless (getenv "NSS_WRAPPER_HOSTS")
  (when (file-exists? nss-wrapper)
    (let ((hosts (string-append (or (getenv "TMPDIR") "/tmp")
                                "/guile-net-hosts-" (number->string (getpid)))))
      (call-with-output-file hosts
        (lambda (port)
          (display "::1 dualhost.test\n127.0.0.1 dualhost.test\n" port)))
      ;; After what is preloaded already: under --enable-sanitizers the
      ;; ASan runtime must stay first.
      (setenv "LD_PRELOAD" (let ((old (getenv "LD_PRELOAD")))
                             (if (and old (not (string-null? old)))
                                 (string-append old ":" nss-wrapper)
                                 nss-wrapper)))
      (setenv "NSS_WRAPPER_PASSWD" "/etc/passwd")
      (setenv "NSS_WRAPPER_GROUP" "/etc/group")
      (setenv "NSS_WRAPPER_HOSTS" hosts)
      (execlp "guile" "guile" "--no-auto-compile"
              "-L" (or (getenv "abs_top_srcdir") ".")
              (car (command-line))))))   ; this script

(use-modules (tests harness)
             (net socket)
             (net tcp)
             (net https)
             (net error)
             (ice-9 exceptions)
             (srfi srfi-64)
             (srfi srfi-11)
             (ice-9 rdelim)
             (ice-9 threads))

(define hosts (getenv "NSS_WRAPPER_HOSTS"))

(define (serve-one listener)
  (call-with-new-thread
   (lambda ()
     (let-values (((in out) (tcp-accept listener)))
       (let ((line (read-line in)))
         (close-port in) (close-port out)
         line)))))

(run-tests "dual-stack"
  (if (not hosts)
      (begin
        (test-skip 1)
        (test-assert "libnss-wrapper is not installed" #f))
      (begin
        (test-equal "the name resolves to ::1 first, then 127.0.0.1"
          '("::1" "127.0.0.1")
          (map (lambda (ai) (inet-ntop (addrinfo:fam ai) (sockaddr:addr (addrinfo:addr ai))))
               (getaddrinfo "dualhost.test" "80" 0 AF_UNSPEC SOCK_STREAM)))
        (let* ((l (tcp-listen 0 10 "127.0.0.1"))     ; IPv4 only
               (t (serve-one l)))
          (let-values (((in out) (tcp-connect (format #f "dualhost.test:~a"
                                                      (tcp-listener-port l)))))
            (test-equal "tcp-connect falls back to IPv4" "127.0.0.1"
              (call-with-values (lambda () (tcp-addresses in)) (lambda (local remote) remote)))
            (display "via fallback\n" out) (force-output out)
            (test-equal "and the connection works" "via fallback" (join-thread t))
            (close-port in) (close-port out))
          (let* ((t (serve-one l))
                 (s (make-client-socket "dualhost.test" (tcp-listener-port l))))
            (test-equal "make-client-socket falls back too" AF_INET
              (sockaddr:fam (getpeername s)))
            (display "again\n" s) (force-output s)
            (join-thread t)
            (close-port s))
          (tcp-close l))
        ;; Issue 14: a failure names each address tried, and a name that
        ;; does not resolve names the host (nss_wrapper answers from the
        ;; hosts file alone: no resolver is asked).
        (let ((free (let* ((l (tcp-listen 0 1 "127.0.0.1"))
                           (p (tcp-listener-port l)))
                      (tcp-close l)
                      p)))
          (define (message thunk)
            (guard (e ((exception-with-message? e) (exception-message e)))
              (thunk)
              #f))
          (define expected
            (format #f "dualhost.test: tried [::1]:~a (Connection refused) and 127.0.0.1:~a (Connection refused)"
                    free free))
          (test-equal "tcp-connect: both addresses, and why" expected
            (message (lambda () (tcp-connect "dualhost.test" free))))
          (test-equal "make-client-tls-socket: both addresses" expected
            (message (lambda () (make-client-tls-socket "dualhost.test" free))))
          (test-equal "https-get: both addresses" expected
            (message (lambda () (https-get (format #f "https://dualhost.test:~a/" free)))))
          (test-assert "still &connection-refused, errno ECONNREFUSED"
            (guard (e ((connection-refused-error? e) (= (net-error-errno e) ECONNREFUSED)))
              (tcp-connect/tls "dualhost.test" free)
              #f)))
        (let ((e (guard (e (#t e)) (https-get "https://nohost.test/") #f)))
          (test-assert "https-get of an unknown host: &host-not-found, a getaddrinfo-error"
            (and (host-not-found-error? e) (eq? (exception-kind e) 'getaddrinfo-error)))
          (test-assert "its message names the host"
            (string-contains (exception-message e) "nohost.test"))
          (test-assert "and so does what Guile prints"
            (string-contains (call-with-output-string
                               (lambda (port)
                                 (print-exception port #f (exception-kind e)
                                                  (exception-args e))))
                             "nohost.test"))
          (test-equal "a (key code) handler still works" 'caught
            (catch 'getaddrinfo-error
              (lambda () (https-get "https://nohost.test/"))
              (lambda (key code) (and (integer? code) 'caught)))))
        (delete-file hosts))))
