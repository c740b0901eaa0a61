;;; tcp-echo.scm -- a TCP echo exchange on localhost with (net socket).
;;; Run: ./pre-inst-env guile examples/tcp-echo.scm

(use-modules (net socket)
             (ice-9 rdelim)
             (ice-9 threads))

(define server (socket PF_INET SOCK_STREAM 0))
(bind server AF_INET INADDR_LOOPBACK 0)          ; port 0: the kernel picks
(listen server 8)
(format #t "server: listening on ~a~%" server)

(define echo
  (call-with-new-thread
   (lambda ()
     (let* ((conn (accept server))
            (client (car conn)))
       (format #t "server: connection from ~a:~a~%"
               (inet-ntop AF_INET (sockaddr:addr (cdr conn)))
               (sockaddr:port (cdr conn)))
       (let loop ()
         (let ((line (read-line client)))
           (unless (eof-object? line)
             (format client "echo: ~a~%" line)
             (loop))))
       (close-port client)))))

(define client (socket PF_INET SOCK_STREAM 0))
(connect client (getsockname server))
(for-each (lambda (text)
            (format client "~a~%" text)
            (format #t "client: sent ~s, got ~s~%" text (read-line client)))
          '("hello" "from Guile-Net"))
(shutdown client SHUT_WR)
(join-thread echo)
(close-port client)
(close-port server)
(display "demo: done\n")
