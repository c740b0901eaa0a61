;;; Batched datagram I/O: recvmmsg! and sendmmsg over IPv4, IPv6 and
;;; AF_UNIX datagram sockets; partial batches; lengths, truncation and
;;; addresses updated in place; timeouts, non-blocking sockets and bad
;;; input.

(use-modules (tests harness)
             (net socket)
             (net error)
             (rnrs bytevectors)
             (srfi srfi-1)
             (srfi srfi-34)
             (srfi srfi-64))

(define (udp family address)
  (let ((s (socket family SOCK_DGRAM 0)))
    (bind s family address 0)
    s))

(define (datagrams n)
  "N bytevectors, the Ith of 10 + I bytes all I."
  (list->vector (map (lambda (i) (make-bytevector (+ 10 i) i)) (iota n))))

(define (buffers n size)
  (list->vector (map (lambda (i) (make-bytevector size 255)) (iota n))))

(define (error-key thunk)
  (catch #t (lambda () (thunk) 'no-error) (lambda (key . args) key)))

(define (errno-of thunk)
  (catch 'system-error (lambda () (thunk) #f)
    (lambda args (system-error-errno args))))

(define (exchange family address)
  "Send 5 datagrams of distinct sizes in one sendmmsg, receive them with
one recvmmsg!; return what a test looks at."
  (let* ((a (udp family address))
         (b (udp family address))
         (to (getsockname b))
         (sent (sendmmsg a (datagrams 5) #f (make-vector 5 to)))
         (bufs (buffers 8 64))
         (sizes (make-vector 8 'untouched))
         (from (make-vector 8 #f))
         (got (recvmmsg! b bufs sizes from)))
    (let ((result (list sent got (vector->list sizes)
                        (every (lambda (i)
                                 (let ((bv (vector-ref bufs i)))
                                   (every (lambda (j) (= i (bytevector-u8-ref bv j)))
                                          (iota (+ 10 i)))))
                               (iota 5))
                        (and (vector? (vector-ref from 0))
                             (equal? (sockaddr:port (vector-ref from 0))
                                     (sockaddr:port (getsockname a)))))))
      (close-port a) (close-port b)
      result)))

(run-tests "socket-mmsg"
  (test-group "a batch each way"
    (for-each
     (lambda (name family address)
       (let ((r (exchange family address)))
         (test-equal (string-append name ": all 5 sent in one call") 5 (first r))
         (test-equal (string-append name ": all 5 received in one call") 5 (second r))
         (test-equal (string-append name ": each length, the rest untouched")
           '(10 11 12 13 14 untouched untouched untouched) (third r))
         (test-assert (string-append name ": each datagram's bytes") (fourth r))
         (test-assert (string-append name ": each sender's address") (fifth r))))
     '("IPv4" "IPv6")
     (list AF_INET AF_INET6)
     (list INADDR_LOOPBACK 1)))

  (test-group "AF_UNIX datagrams"
    (let* ((p (socketpair AF_UNIX SOCK_DGRAM 0))
           (bufs (buffers 4 32))
           (sizes (make-vector 4 #f)))
      (test-equal "connected: no addresses needed" 3
        (sendmmsg (car p) (datagrams 3)))
      (test-equal "received" 3 (recvmmsg! (cdr p) bufs sizes))
      (test-equal "lengths" '(10 11 12 #f) (vector->list sizes))
      (test-equal "counts send part of each bytevector" 2
        (sendmmsg (car p) (datagrams 2) (vector 1 2)))
      (test-equal "... and only that part arrives" '(1 2)
        (begin (recvmmsg! (cdr p) bufs sizes)
               (list (vector-ref sizes 0) (vector-ref sizes 1))))
      (close-port (car p)) (close-port (cdr p))))

  (test-group "partial batches"
    (let* ((a (udp AF_INET INADDR_LOOPBACK))
           (b (udp AF_INET INADDR_LOOPBACK))
           (to (make-vector 10 (getsockname b)))
           (bufs (buffers 4 64)))
      (sendmmsg a (datagrams 10) #f to)
      (test-equal "more queued than buffers: a full batch" 4 (recvmmsg! b bufs))
      (test-equal "then the next" 4 (recvmmsg! b bufs))
      (test-equal "then what is left, without waiting for more" 2
        (recvmmsg! b bufs))
      (set-socket-timeout! b 'read 0.2)
      (test-assert "nothing left: the read timeout holds"
        (guard (e ((net-timeout-error? e) (eq? 'read (net-timeout-operation e))))
          (recvmmsg! b bufs) #f))
      (test-equal "an empty batch is 0, at once" 0 (recvmmsg! b (vector)))
      (test-equal "an empty send is 0" 0 (sendmmsg a (vector)))
      (close-port a) (close-port b)))

  (test-group "truncation and addresses in place"
    (let* ((a (udp AF_INET INADDR_LOOPBACK))
           (b (udp AF_INET INADDR_LOOPBACK))
           (to (make-vector 2 (getsockname b)))
           (small (buffers 2 4))
           (sizes (make-vector 2 #f))
           (from (vector (make-socket-address AF_INET 0 0) #f)))
      (sendmmsg a (datagrams 2) #f to)
      (let ((kept (vector-ref from 0)))
        (test-equal "both received" 2 (recvmmsg! b small sizes from))
        (test-equal "cut to the bytevector, as recvfrom! cuts" '(4 4)
          (vector->list sizes))
        (test-assert "an IPv4 address already there is updated in place"
          (and (eq? kept (vector-ref from 0))
               (= (sockaddr:port kept) (sockaddr:port (getsockname a)))))
        (test-assert "#f is replaced by a new address"
          (vector? (vector-ref from 1))))
      (close-port a) (close-port b)))

  (test-group "non-blocking sockets"
    (let* ((a (socket AF_INET (logior SOCK_DGRAM SOCK_NONBLOCK) 0))
           (b (udp AF_INET INADDR_LOOPBACK)))
      (bind a AF_INET INADDR_LOOPBACK 0)
      (test-equal "nothing queued: EAGAIN, as recv!" EAGAIN
        (errno-of (lambda () (recvmmsg! a (buffers 2 8)))))
      (test-equal "MSG_DONTWAIT on a blocking socket: EAGAIN too" EAGAIN
        (errno-of (lambda () (recvmmsg! b (buffers 2 8) #f #f MSG_DONTWAIT))))
      (close-port a) (close-port b))
    ;; AF_UNIX datagram sockets have flow control (UDP on loopback drops
    ;; at the receiver instead): towards a peer that never reads, a
    ;; non-blocking sendmmsg sends what fits and says how many, then
    ;; raises EAGAIN; a blocking one with a write timeout times out.
    (let* ((p (socketpair AF_UNIX SOCK_DGRAM 0))
           (w (car p))
           (big (list->vector (map (lambda (i) (make-bytevector 1024 1))
                                   (iota 1024)))))
      (fcntl w F_SETFL (logior O_NONBLOCK (fcntl w F_GETFL)))
      (let ((first (sendmmsg w big)))
        (test-assert "a full queue: a partial batch" (< 0 first 1024))
        (test-equal "then EAGAIN" EAGAIN (errno-of (lambda () (sendmmsg w big)))))
      (fcntl w F_SETFL (logand (lognot O_NONBLOCK) (fcntl w F_GETFL)))
      (set-socket-timeout! w 'write 0.2)
      (test-assert "blocking, full: the write timeout holds"
        (guard (e ((net-timeout-error? e) (eq? 'write (net-timeout-operation e))))
          (sendmmsg w big) #f))
      (close-port (car p)) (close-port (cdr p)))
    (let ((a (udp AF_INET INADDR_LOOPBACK)) (b (udp AF_INET INADDR_LOOPBACK)))
      (close-port a) (close-port b)))

  (test-group "bad input"
    (let ((s (udp AF_INET INADDR_LOOPBACK)))
      (test-equal "buffers not a vector" 'wrong-type-arg
        (error-key (lambda () (recvmmsg! s (list (make-bytevector 4))))))
      (test-equal "an element not a bytevector" 'wrong-type-arg
        (error-key (lambda () (recvmmsg! s (vector "x")))))
      (test-equal "sizes of another length" 'out-of-range
        (error-key (lambda () (recvmmsg! s (buffers 2 4) (make-vector 3)))))
      (test-equal "addresses not a vector" 'wrong-type-arg
        (error-key (lambda () (recvmmsg! s (buffers 2 4) #f 'x))))
      (test-equal "more than 1,024 datagrams" 'out-of-range
        (error-key (lambda () (recvmmsg! s (buffers 1025 1)))))
      (test-equal "flags not an integer" 'wrong-type-arg
        (error-key (lambda () (recvmmsg! s (buffers 1 1) #f #f 'x))))
      (test-equal "not a socket" 'wrong-type-arg
        (error-key (lambda () (sendmmsg 'x (datagrams 1)))))
      (test-equal "a count beyond its bytevector" 'out-of-range
        (error-key (lambda () (sendmmsg s (datagrams 1) (vector 100)
                                        (vector (getsockname s))))))
      (test-equal "a count not an integer" 'wrong-type-arg
        (error-key (lambda () (sendmmsg s (datagrams 1) (vector 'x)
                                        (vector (getsockname s))))))
      (test-equal "an address not a socket address" 'wrong-type-arg
        (error-key (lambda () (sendmmsg s (datagrams 1) #f (vector 5)))))
      (test-equal "no address on an unconnected socket: the system's error"
        'system-error
        (error-key (lambda () (sendmmsg s (datagrams 1)))))
      (close-port s)
      (test-equal "a closed socket" 'wrong-type-arg
        (error-key (lambda () (recvmmsg! s (buffers 1 1))))))))
