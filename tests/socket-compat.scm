;;; Code written for Guile's built-in sockets runs unchanged with (net
;;; socket) imported.  Each snippet below is plain Guile socket code; it is
;;; evaluated once in a module with only Guile's core bindings and once in
;;; a module that also imports (net socket), and both must give the same
;;; result (and the second must really have used our procedures).

(use-modules (tests harness)
             (srfi srfi-64)
             (ice-9 popen)
             (ice-9 rdelim)
             (ice-9 textual-ports))

(define (fresh-module with-net-socket?)
  (let ((m (make-fresh-user-module)))
    (eval '(use-modules (ice-9 rdelim) (ice-9 threads) (rnrs bytevectors)
                        (ice-9 binary-ports))
          m)
    (when with-net-socket?
      (eval '(use-modules (net socket)) m))
    m))

(define core-env (fresh-module #f))
(define net-env (fresh-module #t))

(define snippets
  `(("tcp echo with a thread"
     (let ((server (socket PF_INET SOCK_STREAM 0)))
       (setsockopt server SOL_SOCKET SO_REUSEADDR 1)
       (bind server AF_INET INADDR_LOOPBACK 0)
       (listen server 5)
       (let ((t (call-with-new-thread
                 (lambda ()
                   (let* ((client (car (accept server)))
                          (line (read-line client)))
                     (display (string-upcase line) client)
                     (newline client)
                     (close-port client))))))
         (let ((s (socket PF_INET SOCK_STREAM 0)))
           (connect s AF_INET INADDR_LOOPBACK (sockaddr:port (getsockname server)))
           (display "hello world\n" s)
           (let ((reply (read-line s)))
             (join-thread t)
             (close-port s)
             (close-port server)
             reply)))))

    ("s-expressions with write and read, buffered"
     (let ((pair (socketpair PF_UNIX SOCK_STREAM 0)))
       (setvbuf (car pair) 'block 4096)
       (write '(hello "world" 42 #(1 2)) (car pair))
       (force-output (car pair))
       (let ((v (read (cdr pair))))
         (close-port (car pair)) (close-port (cdr pair))
         v)))

    ("udp with sendto and recvfrom!"
     (let ((a (socket PF_INET SOCK_DGRAM 0))
           (b (socket PF_INET SOCK_DGRAM 0))
           (buf (make-bytevector 16 0)))
       (bind a AF_INET INADDR_LOOPBACK 0)
       (sendto b (string->utf8 "datagram") AF_INET INADDR_LOOPBACK
               (sockaddr:port (getsockname a)))
       (let ((r (recvfrom! a buf)))
         (close-port a) (close-port b)
         (list (car r) (utf8->string (bytevector-copy buf)) (sockaddr:fam (cdr r))))))

    ("getaddrinfo then connect"
     (let* ((server (socket PF_INET SOCK_STREAM 0)))
       (bind server AF_INET INADDR_LOOPBACK 0)
       (listen server 1)
       (let* ((port (number->string (sockaddr:port (getsockname server))))
              (ai (car (getaddrinfo "127.0.0.1" port AI_NUMERICHOST AF_INET SOCK_STREAM)))
              (s (socket (addrinfo:fam ai) (addrinfo:socktype ai) (addrinfo:protocol ai))))
         (connect s (addrinfo:addr ai))
         (let ((peer (cdr (accept server))))
           (close-port s) (close-port server)
           (list (sockaddr:fam peer) (sockaddr:addr peer))))))

    ("non-blocking accept with fcntl and select"
     (let ((server (socket PF_INET SOCK_STREAM 0)))
       (bind server AF_INET INADDR_LOOPBACK 0)
       (listen server 5)
       (fcntl server F_SETFL (logior O_NONBLOCK (fcntl server F_GETFL)))
       (let ((before (accept server))
             (s (socket PF_INET SOCK_STREAM 0)))
         (connect s (getsockname server))
         (let* ((ready (select (list server) '() '() 5))
                (after (accept server)))
           (close-port (car after)) (close-port s) (close-port server)
           (list before (length (car ready)) (pair? after))))))

    ("addresses and conversions"
     (let ((a (make-socket-address AF_INET (inet-pton AF_INET "192.0.2.7") 8080))
           (b (make-socket-address AF_INET6 (inet-pton AF_INET6 "2001:db8::1") 443)))
       (list (inet-ntop AF_INET (sockaddr:addr a)) (sockaddr:port a)
             (inet-ntop AF_INET6 (sockaddr:addr b)) (sockaddr:port b)
             (sockaddr:flowinfo b) (sockaddr:scopeid b))))

    ("options"
     (let ((s (socket PF_INET SOCK_STREAM 0)))
       (setsockopt s SOL_SOCKET SO_REUSEADDR 1)
       (setsockopt s SOL_SOCKET SO_LINGER '(1 . 3))
       (setsockopt s IPPROTO_TCP TCP_NODELAY 1)
       (let ((r (list (getsockopt s SOL_SOCKET SO_REUSEADDR)
                      (getsockopt s SOL_SOCKET SO_LINGER)
                      (getsockopt s IPPROTO_TCP TCP_NODELAY)
                      (getsockopt s SOL_SOCKET SO_TYPE))))
         (close-port s)
         r)))

    ("connection refused is the same system-error"
     (let* ((probe (socket PF_INET SOCK_STREAM 0)))
       (bind probe AF_INET INADDR_LOOPBACK 0)
       (let ((port (sockaddr:port (getsockname probe)))
             (s (socket PF_INET SOCK_STREAM 0)))
         (close-port probe)
         (catch 'system-error
           (lambda () (connect s AF_INET INADDR_LOOPBACK port) 'connected)
           (lambda (key subr msg args rest)
             (close-port s)
             (list key subr (car rest)))))))

    ("wrong type is the same error key"
     (catch #t
       (lambda () (recv! (socket PF_INET SOCK_STREAM 0) "not a bytevector"))
       (lambda (key . args) key)))

    ("shutdown, end of file and recv!"
     (let ((pair (socketpair PF_UNIX SOCK_STREAM 0))
           (buf (make-bytevector 4 0)))
       (send (car pair) (string->utf8 "abc"))
       (shutdown (car pair) 1)
       (let* ((n (recv! (cdr pair) buf))
              (m (recv! (cdr pair) buf))
              (eof (eof-object? (read-char (cdr pair)))))
         (close-port (car pair)) (close-port (cdr pair))
         (list n m eof))))

    ("descriptors"
     (let* ((s (socket PF_INET SOCK_STREAM 0))
            (fd (fileno s)))
       (let ((r (list (integer? fd) (= fd (port->fdes s)) (input-port? s)
                      (output-port? s) (port? s))))
         (close-port s)
         r)))))

(run-tests "socket-compat"
  (test-assert "(net socket) replaces the core procedures"
    (and (eq? (eval 'socket net-env) (@ (net socket) socket))
         (eq? (eval 'select net-env) (@ (net socket) select))
         (not (eq? (eval 'socket core-env) (@ (net socket) socket)))))

  (for-each
   (lambda (snippet)
     (let ((name (car snippet)) (code (cadr snippet)))
       (test-equal name (eval code core-env) (eval code net-env))))
   snippets)

  (test-equal "importing prints no override warning" ""
    (let* ((p (open-pipe* OPEN_READ "sh" "-c"
                          "guile --no-auto-compile -c '(use-modules (net socket))' 2>&1"))
           (out (get-string-all p)))
      (close-pipe p)
      out)))
