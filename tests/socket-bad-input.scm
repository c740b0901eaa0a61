;;; Bad input to (net socket): one row per case.  Each row names the call,
;;; the error key it must raise, and for wrong-type-arg and out-of-range the
;;; procedure and argument position the error must name.  Nothing crashes,
;;; and after the table the process still makes a working connection with
;;; no descriptor leaked.

(use-modules (tests harness)
             (net socket)
             (srfi srfi-64)
             (rnrs bytevectors)
             (ice-9 rdelim))

(define (error-of thunk)
  "Return (KEY SUBR POSITION-OR-ERRNO) for the exception THUNK raises."
  (catch #t
    (lambda () (thunk) '(no-error))
    (lambda (key . args)
      (case key
        ((wrong-type-arg out-of-range)
         ;; (subr message format-args rest); Guile puts the position first
         ;; in the format arguments when it has one.
         (let ((subr (car args)) (fmt-args (caddr args)))
           (list key subr (and (pair? fmt-args) (integer? (car fmt-args))
                               (car fmt-args)))))
        ((system-error)
         (list key (car args) (car (list-ref args 3))))
        (else (list key))))))

(define tcp (socket AF_INET SOCK_STREAM 0))
(define udp (socket AF_INET SOCK_DGRAM 0))
(bind udp AF_INET INADDR_LOOPBACK 0)
(define closed (let ((s (socket AF_INET SOCK_STREAM 0))) (close-port s) s))
(define bv (make-bytevector 8 0))
(define listener (make-listener))
(define listener-port (sockaddr:port (getsockname listener)))

(define rows
  `(;; Wrong types, each naming the procedure and argument.
    ("socket family" ,(lambda () (socket 'inet SOCK_STREAM 0)) (wrong-type-arg "socket" 1))
    ("socket style" ,(lambda () (socket AF_INET "stream" 0)) (wrong-type-arg "socket" 2))
    ("socket proto" ,(lambda () (socket AF_INET SOCK_STREAM 0.5)) (wrong-type-arg "socket" 3))
    ("socketpair family" ,(lambda () (socketpair #f SOCK_STREAM 0)) (wrong-type-arg "socketpair" 1))
    ("bind non-port" ,(lambda () (bind 42 AF_INET INADDR_ANY 0)) (wrong-type-arg "bind" 1))
    ("bind address" ,(lambda () (bind tcp AF_INET "127.0.0.1" 0)) (wrong-type-arg "bind" 3))
    ("bind port" ,(lambda () (bind tcp AF_INET INADDR_ANY "80")) (wrong-type-arg "bind" 4))
    ("bind family symbol" ,(lambda () (bind tcp 'AF_INET INADDR_ANY 0)) (wrong-type-arg "bind" 2))
    ("bind short vector" ,(lambda () (bind tcp #(2 1))) (wrong-type-arg "bind" 2))
    ("connect unix path" ,(lambda () (connect tcp AF_UNIX 42)) (wrong-type-arg "connect" 3))
    ("listen backlog" ,(lambda () (listen tcp 'many)) (wrong-type-arg "listen" 2))
    ("accept non-port" ,(lambda () (accept "socket")) (wrong-type-arg "accept" 1))
    ("accept flags" ,(lambda () (accept listener 'nonblock)) (wrong-type-arg "accept" 2))
    ("recv! string buffer" ,(lambda () (recv! udp "buffer")) (wrong-type-arg "recv!" 2))
    ("recv! flags" ,(lambda () (recv! udp bv 'peek)) (wrong-type-arg "recv!" 3))
    ("send list" ,(lambda () (send udp '(1 2 3))) (wrong-type-arg "send" 2))
    ("recvfrom! start" ,(lambda () (recvfrom! udp bv 0 "1")) (wrong-type-arg "recvfrom!" 4))
    ("recvfrom! end" ,(lambda () (recvfrom! udp bv 0 0 'end)) (wrong-type-arg "recvfrom!" 5))
    ("sendto message" ,(lambda () (sendto udp "text" AF_INET INADDR_LOOPBACK 9)) (wrong-type-arg "sendto" 2))
    ("sendto flags" ,(lambda () (sendto udp bv AF_INET INADDR_LOOPBACK 9 'x)) (wrong-type-arg "sendto" 6))
    ("getsockopt level" ,(lambda () (getsockopt tcp 'socket SO_TYPE)) (wrong-type-arg "getsockopt" 2))
    ("getsockopt boolean level" ,(lambda () (getsockopt tcp #f #t)) (wrong-type-arg "getsockopt" 2))
    ("sendto unix flags" ,(lambda () (sendto udp bv AF_UNIX "/tmp/x" 'x)) (wrong-type-arg "sendto" 5))
    ("sendto inet6 flags" ,(lambda () (sendto udp bv AF_INET6 1 9 0 0 'x)) (wrong-type-arg "sendto" 8))
    ("sendto sockaddr flags" ,(lambda () (sendto udp bv (make-socket-address AF_INET INADDR_LOOPBACK 9) 'x)) (wrong-type-arg "sendto" 4))
    ("setsockopt value" ,(lambda () (setsockopt tcp SOL_SOCKET SO_REUSEADDR "yes")) (wrong-type-arg "setsockopt" 4))
    ("setsockopt linger not a pair" ,(lambda () (setsockopt tcp SOL_SOCKET SO_LINGER 1)) (wrong-type-arg "setsockopt" 4))
    ("membership not a pair" ,(lambda () (setsockopt udp IPPROTO_IP IP_ADD_MEMBERSHIP 1)) (wrong-type-arg "setsockopt" 4))
    ("shutdown how" ,(lambda () (shutdown tcp "both")) (wrong-type-arg "shutdown" 2))
    ("getsockname non-port" ,(lambda () (getsockname 'x)) (wrong-type-arg "getsockname" 1))
    ("getpeername string port" ,(lambda () (getpeername (open-input-string "x"))) (wrong-type-arg "getpeername" 1))
    ("make-socket-address addr" ,(lambda () (make-socket-address AF_INET "1.2.3.4" 80)) (wrong-type-arg "make-socket-address" 2))
    ("inet-pton address" ,(lambda () (inet-pton AF_INET 2130706433)) (wrong-type-arg "inet-pton" 2))
    ("inet-ntop address" ,(lambda () (inet-ntop AF_INET "127.0.0.1")) (wrong-type-arg "inet-ntop" 2))
    ("getaddrinfo name" ,(lambda () (getaddrinfo 'localhost)) (wrong-type-arg "getaddrinfo" 1))
    ("getaddrinfo service" ,(lambda () (getaddrinfo "localhost" 80)) (wrong-type-arg "getaddrinfo" 2))
    ("getaddrinfo flags" ,(lambda () (getaddrinfo "localhost" "80" 'passive)) (wrong-type-arg "getaddrinfo" 3))
    ("select element" ,(lambda () (select '(foo) '() '() 0)) (wrong-type-arg "select" #f))

    ;; Out of range.
    ("port 70000" ,(lambda () (bind tcp AF_INET INADDR_ANY 70000)) (out-of-range "bind" 4))
    ("negative port" ,(lambda () (connect tcp AF_INET INADDR_LOOPBACK -1)) (out-of-range "connect" 4))
    ("port 65536 in an address" ,(lambda () (make-socket-address AF_INET INADDR_ANY 65536)) (out-of-range "make-socket-address" 3))
    ("port in a vector" ,(lambda () (bind tcp #(2 0 99999))) (out-of-range "bind" 2))
    ("ipv4 address too big" ,(lambda () (make-socket-address AF_INET (expt 2 32) 80)) (out-of-range "make-socket-address" 2))
    ("ipv6 address too big" ,(lambda () (make-socket-address AF_INET6 (expt 2 128) 80)) (out-of-range "make-socket-address" 2))
    ("negative ipv6 address" ,(lambda () (inet-ntop AF_INET6 -1)) (out-of-range "inet-ntop" 2))
    ("unknown family" ,(lambda () (make-socket-address 99 1 80)) (out-of-range "make-socket-address" 1))
    ("inet-ntop family" ,(lambda () (inet-ntop 99 1)) (out-of-range "inet-ntop" 1))
    ("unix path too long" ,(lambda () (make-socket-address AF_UNIX (make-string 200 #\a))) (out-of-range "make-socket-address" 2))
    ("recvfrom! start past end" ,(lambda () (recvfrom! udp bv 0 9)) (out-of-range "recvfrom!" 4))
    ("recvfrom! end past length" ,(lambda () (recvfrom! udp bv 0 0 9)) (out-of-range "recvfrom!" 5))
    ("recvfrom! end before start" ,(lambda () (recvfrom! udp bv 0 5 2)) (out-of-range "recvfrom!" 5))
    ("unknown socket option" ,(lambda () (getsockopt tcp SOL_SOCKET 12345)) (out-of-range "getsockopt" 3))
    ("unknown option level" ,(lambda () (setsockopt tcp 9999 SO_REUSEADDR 1)) (out-of-range "setsockopt" 3))
    ("option value too big" ,(lambda () (setsockopt tcp SOL_SOCKET SO_RCVBUF (expt 2 40))) (out-of-range "setsockopt" 4))
    ("negative ipv6 interface" ,(lambda () (setsockopt (socket AF_INET6 SOCK_DGRAM 0) IPPROTO_IPV6 IPV6_JOIN_GROUP (cons 1 -1))) (out-of-range "setsockopt" 4))
    ("shutdown how 5" ,(lambda () (shutdown tcp 5)) (out-of-range "shutdown" 2))
    ("accept unknown flag" ,(lambda () (accept listener 4096)) (out-of-range "accept" 2))
    ("family too big" ,(lambda () (socket (expt 2 40) SOCK_STREAM 0)) (out-of-range "socket" 1))

    ;; Timeouts and split ports.
    ("set-socket-timeout! non-socket" ,(lambda () (set-socket-timeout! 7 'read 1)) (wrong-type-arg "set-socket-timeout!" 1))
    ("set-socket-timeout! kind type" ,(lambda () (set-socket-timeout! tcp "read" 1)) (wrong-type-arg "set-socket-timeout!" 2))
    ("set-socket-timeout! unknown kind" ,(lambda () (set-socket-timeout! tcp 'sleep 1)) (out-of-range "set-socket-timeout!" 2))
    ("set-socket-timeout! seconds type" ,(lambda () (set-socket-timeout! tcp 'read "1")) (wrong-type-arg "set-socket-timeout!" 3))
    ("set-socket-timeout! negative" ,(lambda () (set-socket-timeout! tcp 'read -1)) (out-of-range "set-socket-timeout!" 3))
    ("socket-timeout on a file port" ,(lambda () (socket-timeout (current-output-port) 'read)) (wrong-type-arg "socket-timeout" 1))
    ("socket-time-left unknown kind" ,(lambda () (socket-time-left tcp 'later)) (out-of-range "socket-time-left" 2))
    ("socket-time-left non-port" ,(lambda () (socket-time-left 'x 'read)) (wrong-type-arg "socket-time-left" 1))
    ("socket-port-split! closed" ,(lambda () (socket-port-split! closed)) (wrong-type-arg "socket-port-split!" 1))
    ("socket-port-abandon! non-socket" ,(lambda () (socket-port-abandon! 'x)) (wrong-type-arg "socket-port-abandon!" 1))

    ;; Closed ports are errors, never crashes.
    ("recv! on closed port" ,(lambda () (recv! closed bv)) (wrong-type-arg "recv!" 1))
    ("send on closed port" ,(lambda () (send closed bv)) (wrong-type-arg "send" 1))
    ("connect closed port" ,(lambda () (connect closed AF_INET INADDR_LOOPBACK 1)) (wrong-type-arg "connect" 1))
    ("getsockopt closed port" ,(lambda () (getsockopt closed SOL_SOCKET SO_TYPE)) (wrong-type-arg "getsockopt" 1))
    ("fileno closed port" ,(lambda () (fileno closed)) (wrong-type-arg "fileno" 1))
    ("read-line closed port" ,(lambda () (read-line closed)) (wrong-type-arg #f #f))

    ;; Failed system calls are system-errors with errno.
    ("address in use" ,(lambda ()
                         (let ((s (socket AF_INET SOCK_STREAM 0)))
                           (dynamic-wind
                             (const #t)
                             (lambda () (bind s AF_INET INADDR_LOOPBACK listener-port))
                             (lambda () (close-port s)))))
     (system-error "bind" ,EADDRINUSE))
    ("family not supported" ,(lambda () (socket 12345 SOCK_STREAM 0)) (system-error "socket" ,EAFNOSUPPORT))
    ("accept on a non-listening socket" ,(lambda () (accept tcp)) (system-error "accept" ,EINVAL))
    ("getpeername unconnected" ,(lambda () (getpeername tcp)) (system-error "getpeername" ,ENOTCONN))
    ("send unconnected udp" ,(lambda () (send udp bv)) (system-error "send" ,EDESTADDRREQ))
    ("non-blocking recv! on empty socket" ,(lambda () (recv! udp bv MSG_DONTWAIT)) (system-error "recv!" ,EAGAIN))
    ("inet-pton bad text" ,(lambda () (inet-pton AF_INET6 "::g")) (out-of-range "inet-pton" 2))
    ("getaddrinfo unknown numeric host" ,(lambda () (getaddrinfo "not an address" #f AI_NUMERICHOST)) (getaddrinfo-error))

    ;; Wrong numbers of arguments.
    ("make-socket-address inet without port" ,(lambda () (make-socket-address AF_INET 1)) (wrong-number-of-args))
    ("bind extra arguments" ,(lambda () (bind tcp AF_INET INADDR_ANY 0 99)) (wrong-number-of-args))
    ("sendto extra arguments" ,(lambda () (sendto udp bv AF_INET INADDR_LOOPBACK 9 0 0)) (wrong-number-of-args))))

(define (matches? expected actual)
  ;; #f in EXPECTED matches anything.
  (and (= (length expected) (length actual))
       (let loop ((e expected) (a actual))
         (or (null? e)
             (and (or (not (car e)) (equal? (car e) (car a)))
                  (loop (cdr e) (cdr a)))))))

(define fds-before (open-fd-count))

(run-tests "socket-bad-input"
  (for-each
   (lambda (row)
     (let ((name (car row)) (thunk (cadr row)) (expected (caddr row)))
       (test-assert name
         (let ((actual (error-of thunk)))
           (or (matches? expected (list-head actual (min (length expected) (length actual))))
               (begin (format #t "#   expected ~s, got ~s~%" expected actual) #f))))))
   rows)

  (test-assert "still connects and exchanges data afterwards"
    (let ((p (connected-pair)))
      (display "alive\n" (car p))
      (let ((line (read-line (cdr p))))
        (close-port (car p)) (close-port (cdr p))
        (equal? line "alive"))))

  (test-equal "no descriptor leaked by the failed calls" fds-before
    (begin (gc) (open-fd-count))))
