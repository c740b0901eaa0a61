;;; (net tcp): CHICKEN's TCP API over IPv4 and IPv6, its parameters, and
;;; timeouts on every blocking operation.  Loopback only, port 0 only.

(use-modules (tests harness)
             (net tcp)
             (net error)
             (net socket)
             (srfi srfi-64)
             (srfi srfi-11)
             (rnrs bytevectors)
             (ice-9 exceptions)
             (ice-9 rdelim)
             (ice-9 binary-ports)
             (ice-9 threads))

(define (timeout-of thunk)
  "The (operation . object-is-port?) of the timeout THUNK raises, or #f."
  (guard (e ((net-timeout-error? e)
             (cons (net-timeout-operation e) (port? (net-timeout-object e)))))
    (thunk)
    #f))

(define (with-connection listener proc)
  "Connect to LISTENER in a thread, accept, and call PROC with the server's
ports and the client's ports."
  (let* ((port (tcp-listener-port listener))
         (client (call-with-new-thread
                  (lambda ()
                    (call-with-values (lambda () (tcp-connect "127.0.0.1" port))
                      list)))))
    (let-values (((in out) (tcp-accept listener)))
      (let ((c (join-thread client)))
        (proc in out (car c) (cadr c))))))

(define (close-all . ports) (for-each close-port ports))

(run-tests "tcp"
  (test-group "listeners"
    (let ((l (tcp-listen 0)))
      (test-assert "tcp-listener?" (tcp-listener? l))
      (test-assert "not a listener" (not (tcp-listener? 42)))
      (test-assert "kernel-chosen port" (> (tcp-listener-port l) 0))
      (test-assert "fileno" (integer? (tcp-listener-fileno l)))
      (test-assert "nothing waiting" (not (tcp-accept-ready? l)))
      (let ((c (socket AF_INET SOCK_STREAM 0)))
        (connect c (make-socket-address AF_INET INADDR_LOOPBACK (tcp-listener-port l)))
        (test-assert "a connection waits"
          (let loop ((i 0))
            (or (tcp-accept-ready? l) (and (< i 100) (begin (usleep 10000) (loop (+ i 1)))))))
        (close-port c))
      (tcp-close l)
      (test-assert "closed listener socket" (port-closed? (tcp-listener-socket l))))
    (let ((l (tcp-listen 0 10 "127.0.0.1")))
      (test-equal "host restricts the address" "127.0.0.1"
        (inet-ntop AF_INET (vector-ref (getsockname (tcp-listener-socket l)) 1)))
      (tcp-close l)))

  (test-group "connections"
    (let ((l (tcp-listen 0)))
      (with-connection l
        (lambda (sin sout cin cout)
          (test-assert "input and output ports"
            (and (input-port? sin) (output-port? sout)
                 (not (output-port? sin)) (not (input-port? sout))))
          (display "hello\n" cout)
          (force-output cout)
          (test-equal "client to server" "hello" (read-line sin))
          (display "world\n" sout)
          (force-output sout)
          (test-equal "server to client" "world" (read-line cin))
          (let-values (((local remote) (tcp-addresses sin)))
            (test-equal "local address" "127.0.0.1" local)
            (test-equal "remote address" "127.0.0.1" remote))
          (let-values (((local remote) (tcp-port-numbers sin))
                       ((clocal cremote) (tcp-port-numbers cout)))
            (test-equal "server's local port is the listener's" (tcp-listener-port l) local)
            (test-equal "port numbers match across" (list local remote) (list cremote clocal)))
          (close-port cout)
          (test-assert "closing the output port sends end of file"
            (eof-object? (read-line sin)))
          (display "still open\n" sout)
          (force-output sout)
          (test-equal "the other direction still works" "still open" (read-line cin))
          ;; The two descriptors themselves, not a count of all the
          ;; process's: a finalizer may close another meanwhile.
          (let ((fds (list (fileno sin) (fileno cin))))
            (close-all sin sout cin)
            (test-equal "closing both ports releases the descriptor"
              '()
              (filter (lambda (fd)
                        (file-exists? (format #f "/proc/self/fd/~a" fd)))
                      fds)))))
      (tcp-close l)))

  (test-group "connecting"
    (let ((l (tcp-listen 0)))       ; dual stack: [::] takes IPv4 too
      (for-each
       (lambda (target)
         (let ((t (call-with-new-thread (lambda () (call-with-values (lambda () (tcp-accept l)) list)))))
           (let-values (((in out) (tcp-connect target)))
             (display "x" out) (force-output out)
             (let ((server (join-thread t)))
               (test-equal (string-append "connect " target) #\x (read-char (car server)))
               (apply close-all in out server)))))
       (list (format #f "127.0.0.1:~a" (tcp-listener-port l))
             (format #f "[::1]:~a" (tcp-listener-port l))
             (format #f "localhost:~a" (tcp-listener-port l))))
      (tcp-close l))
    (test-equal "parse host:port" '("example.org" "443")
      (call-with-values (lambda () (parse-host-and-port "example.org:443")) list))
    (test-equal "parse [v6]:service" '("::1" "http")
      (call-with-values (lambda () (parse-host-and-port "[::1]:http")) list))
    (test-equal "parse bare v6" '("::1" #f)
      (call-with-values (lambda () (parse-host-and-port "::1")) list))
    (test-equal "a service name is resolved (discard is port 9)" 'resolved
      (guard (e ((connection-refused-error? e) 'resolved))
        (call-with-values (lambda () (tcp-connect "127.0.0.1:discard"))
          (lambda (in out)
            (let-values (((local remote) (tcp-port-numbers in)))
              (close-all in out)
              (and (= remote 9) 'resolved))))))
    (let ((free (let ((l (tcp-listen 0 1 "127.0.0.1")))
                  (let ((p (tcp-listener-port l))) (tcp-close l) p))))
      (test-assert "refused is &connection-refused"
        (guard (e ((connection-refused-error? e) #t))
          (tcp-connect "127.0.0.1" free) #f))
      (test-equal "and still a system-error for catch" ECONNREFUSED
        (catch 'system-error
          (lambda () (tcp-connect "127.0.0.1" free) #f)
          (lambda (key subr msg args rest) (car rest))))
      (test-equal "refused is a &net-error" #t
        (guard (e ((net-error? e) #t)) (tcp-connect "127.0.0.1" free) #f)))
    ;; Dual-stack fallback: the first address refuses, the second answers.
    (let ((l (tcp-listen 0 10 "127.0.0.1")))
      (let ((t (call-with-new-thread (lambda () (call-with-values (lambda () (tcp-accept l)) list)))))
        (let ((s (connect-to-addresses
                  (list (make-socket-address AF_INET6 1 (tcp-listener-port l))
                        (make-socket-address AF_INET INADDR_LOOPBACK (tcp-listener-port l)))
                  #:timeout 5)))
          (test-equal "falls back from ::1 (nothing there) to 127.0.0.1"
            AF_INET (vector-ref (getsockname s) 0))
          (close-port s)
          (apply close-all (join-thread t))))
      (tcp-close l)))

  (test-group "a non-blocking listener (for a scheduler), used without one"
    (let ((l (tcp-listen 0 10 "127.0.0.1")))
      (fcntl (tcp-listener-socket l) F_SETFL
             (logior O_NONBLOCK (fcntl (tcp-listener-socket l) F_GETFL)))
      (test-equal "tcp-accept still waits, within tcp-accept-timeout" '(accept . #t)
        (timeout-of (lambda () (parameterize ((tcp-accept-timeout 200)) (tcp-accept l)))))
      (let ((t (call-with-new-thread
                (lambda ()
                  (usleep 200000)
                  (call-with-values (lambda () (tcp-connect "127.0.0.1" (tcp-listener-port l)))
                    list)))))
        (let-values (((in out) (parameterize ((tcp-accept-timeout 5000)) (tcp-accept l))))
          (test-assert "and takes the connection when it comes, non-blocking"
            (logtest O_NONBLOCK (fcntl in F_GETFL)))
          (apply close-all in out (join-thread t))))
      (tcp-close l)))

  (test-group "host not found"
    (test-assert "&host-not-found, also a getaddrinfo-error"
      (guard (e ((host-not-found-error? e)
                 (and (equal? "no such host" (host-not-found-name e))
                      (eq? 'getaddrinfo-error (exception-kind e)))))
        (getaddrinfo "no such host" #f AI_NUMERICHOST)
        #f)))

  (test-group "timeouts"
    (let ((l (tcp-listen 0)))
      (parameterize ((tcp-accept-timeout 100))
        (test-equal "accept" '(accept . #t) (timeout-of (lambda () (tcp-accept l)))))
      (parameterize ((tcp-read-timeout 100))
        (with-connection l
          (lambda (sin sout cin cout)
            (test-equal "read" '(read . #t) (timeout-of (lambda () (read-line sin))))
            (display "late line\n" cout)
            (force-output cout)
            (test-equal "after a read timeout nothing is lost" "late line" (read-line sin))
            ;; Bytes no read procedure has returned survive a timeout.
            (display "abc" cout) (force-output cout)
            (test-equal "a read gets what is there" #\a (read-char sin))
            (test-equal "peek at the rest" #\b (peek-char sin))
            (test-equal "a read of more than there is times out" '(read . #t)
              (timeout-of (lambda () (get-bytevector-n sin 100))))
            (display "def\n" cout) (force-output cout)
            (test-equal "the connection is still usable" "def" (read-line sin))
            (close-all sin sout cin cout))))
      (parameterize ((tcp-write-timeout 100))
        (with-connection l
          (lambda (sin sout cin cout)
            (test-equal "write to a peer that never reads" '(write . #t)
              (timeout-of (lambda ()
                            (let loop ((i 0))
                              (when (< i 10000)
                                (display (make-string 65536 #\a) sout)
                                (loop (+ i 1)))))))
            (close-all sin sout cin cout))))
      (tcp-close l))
    (let* ((target (full-backlog-listener))
           (full (car target)))
      (parameterize ((tcp-connect-timeout 200))
        (test-equal "connect to a full backlog" '(connect . #t)
          (timeout-of (lambda ()
                        (tcp-connect "127.0.0.1" (vector-ref (getsockname full) 2))))))
      (for-each close-port target)))

  (test-group "parameters"
    ;; Issue 14: procedure-documentation (what `help' and ,describe show)
    ;; said #f for all six.
    (for-each (lambda (name parameter)
                (test-assert (format #f "~a has a docstring" name)
                  (let ((doc (procedure-documentation parameter)))
                    (and (string? doc) (string-prefix? "Parameter: " doc)
                         (string-contains doc (if (eq? name 'tcp-buffer-size)
                                                  "buffer" "illiseconds"))))))
              '(tcp-buffer-size tcp-read-timeout tcp-write-timeout
                tcp-connect-timeout tcp-accept-timeout tcp-handshake-timeout)
              (list tcp-buffer-size tcp-read-timeout tcp-write-timeout
                    tcp-connect-timeout tcp-accept-timeout tcp-handshake-timeout))
    (test-equal "read timeout default" 60000 (tcp-read-timeout))
    (test-equal "write timeout default" 60000 (tcp-write-timeout))
    (test-equal "connect timeout default" #f (tcp-connect-timeout))
    (test-equal "accept timeout default" #f (tcp-accept-timeout))
    (test-equal "buffer size default" #f (tcp-buffer-size))
    (let ((l (tcp-listen 0)))
      (parameterize ((tcp-buffer-size 1024))
        (with-connection l
          (lambda (sin sout cin cout)
            (display "buffered" cout)
            (test-equal "with a buffer size, output waits for force-output" EAGAIN
              (catch 'system-error
                (lambda () (recv! sin (make-bytevector 8) MSG_DONTWAIT) #f)
                (lambda (key subr msg args rest) (car rest))))
            (force-output cout)
            (test-equal "then it is sent" "buffered"
              (utf8->string (get-bytevector-n sin 8)))
            (close-all sin sout cin cout))))
      (with-connection l
        (lambda (sin sout cin cout)
          (tcp-abandon-port sout)
          (close-port sout)
          (parameterize ()
            (set-socket-timeout! cin 'read 0.2)
            (test-equal "an abandoned port closes without end of file" '(read . #t)
              (timeout-of (lambda () (read-char cin)))))
          (close-all sin cin cout)))
      (tcp-close l)))

  (test-group "bad input"
    (test-equal "tcp-listen port type" 'wrong-type-arg (error-key (tcp-listen "80")))
    (test-equal "tcp-listen port range" 'out-of-range (error-key (tcp-listen 70000)))
    (test-equal "tcp-connect host type" 'wrong-type-arg (error-key (tcp-connect 42 80)))
    (test-equal "tcp-connect port range" 'out-of-range (error-key (tcp-connect "127.0.0.1" 99999)))
    (test-equal "tcp-connect without port" 'misc-error (error-key (tcp-connect "127.0.0.1")))
    (test-equal "tcp-accept non-listener" 'wrong-type-arg (error-key (tcp-accept 'x)))
    (test-equal "tcp-addresses non-port" 'wrong-type-arg (error-key (tcp-addresses "p")))
    (test-equal "negative timeout" 'wrong-type-arg (error-key (tcp-read-timeout -5)))
    (test-equal "bad buffer size" 'wrong-type-arg (error-key (tcp-buffer-size 'big)))))
