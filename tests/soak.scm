;;; Soak: open and close many connections, plain and TLS, server and
;;; clients in this one process (threads), with a share of abrupt resets,
;;; and check that descriptors come back to their starting count and that
;;; resident memory stops growing once warmed up.  Run by `make
;;; check-soak', not by `make check': it takes minutes.
;;;
;;;   SOAK_CONNECTIONS   how many connections in all (default 100000)
;;;   SOAK_TLS_PERCENT   the share that is TLS, in percent (default 30)
;;;
;;; One connection in ten ends abruptly: the client closes with SO_LINGER
;;; 0 (the server sees a reset), a plain one right after its byte, a TLS
;;; one in turn mid-handshake (after part of a ClientHello) or mid-record
;;; (after part of an application data record).
;;;
;;; Ephemeral ports: 100,000 connections in a few minutes would need far
;;; more client ports (32768-60999 here) than there are if each one sat
;;; 60 s in TIME_WAIT on the client side.  Here the server closes first, so
;;; TIME_WAIT is on the server side, under the listener's address, and does
;;; not hold the client's ephemeral port; resets leave no TIME_WAIT at all.
;;; Clients also rotate over four listeners, on 127.0.0.1 to 127.0.0.4,
;;; so even server-side TIME_WAIT entries are spread over four times as
;;; many address pairs.
;;;
;;; Every wait is bounded: sessions and sockets have timeouts, server
;;; threads poll a stop flag, joins have time limits.

(use-modules (tests harness)
             (tests tls-common)
             (srfi srfi-1)
             (srfi srfi-64)
             (rnrs bytevectors)
             (ice-9 binary-ports)
             (ice-9 rdelim)
             (ice-9 threads)
             (ice-9 format)
             (ice-9 exceptions)
             (net socket)
             (net tls)
             (net error))

(define (env-number name default)
  (let ((v (getenv name)))
    (or (and v (string->number v)) default)))

(define total (env-number "SOAK_CONNECTIONS" 100000))
(define tls-percent (env-number "SOAK_TLS_PERCENT" 30))
(define client-threads 2)
(define servers-per-listener 1)

(define (now)
  (/ (get-internal-real-time) 1. internal-time-units-per-second))

(define (rss-kib)
  "Resident set size, from /proc/self/statm, in KiB."
  (let* ((line (call-with-input-file "/proc/self/statm" read-line))
         (pages (string->number (cadr (string-split line #\space)))))
    (quotient (* pages 4096) 1024)))

(define (time-wait-count)
  "Sockets in TIME_WAIT, machine-wide, from /proc/net/sockstat."
  (let ((text (call-with-input-file "/proc/net/sockstat" get-string-all*)))
    (let ((m (string-contains text " tw ")))
      (and m (string->number
              (car (string-split (substring text (+ m 4)) #\space)))))))

(define (get-string-all* port)
  (let loop ((lines '()))
    (let ((l (read-line port)))
      (if (eof-object? l)
          (string-join (reverse lines) "\n")
          (loop (cons l lines))))))

;;; Which connection is what: index I of the whole run.

(define (tls? i) (< (modulo (* i 37) 100) tls-percent))  ; spread evenly
(define (reset? i) (= (modulo i 10) 9))                    ; one in ten

;;; Listeners: plain and TLS, on 127.0.0.1 to 127.0.0.4.

(define addresses
  (map (lambda (k) (+ INADDR_LOOPBACK k)) '(0 1 2 3)))

(define (listener-on addr)
  (let ((s (socket AF_INET SOCK_STREAM 0)))
    (setsockopt s SOL_SOCKET SO_REUSEADDR 1)
    (bind s AF_INET addr 0)
    (listen s 1024)
    ;; So that server threads wake up to see the stop flag.
    (set-socket-timeout! s 'accept 0.2)
    s))

(define plain-listeners '())            ; made once descriptors are counted
(define tls-listeners '())

(define stop? #f)

;;; Counters, each under its own lock.

(define lock (make-mutex))
(define counts (make-hash-table))
(define (count! key)
  (with-mutex lock (hashq-set! counts key (+ 1 (hashq-ref counts key 0)))))
(define (tally key) (with-mutex lock (hashq-ref counts key 0)))
(define errors-seen '())
(define (note-error! who e)
  (with-mutex lock
    (when (< (length errors-seen) 10)
      (set! errors-seen (cons (list who e) errors-seen)))))

(define (expected-failure? e)
  "What a reset or truncated connection may raise on the server side."
  (or (connection-reset-error? e)
      (tls-error? e)                    ; premature termination, bad record
      (net-timeout-error? e)))

;;; Servers: accept, read a byte, send it back, close first.

(define server-creds #f)
(define client-creds #f)

(define (serve-plain conn)
  (set-socket-timeout! conn 'read 10)
  (set-socket-timeout! conn 'write 10)
  (let ((b (get-u8 conn)))
    (unless (eof-object? b)
      (put-u8 conn b)
      (force-output conn))))

(define (serve-tls conn)
  ;; As (net tcp) and the 'https server do.  Without it Nagle holds the
  ;; close_notify behind the echo until the client's delayed ACK (40 ms):
  ;; 50 TLS connections a second instead of 650.
  (setsockopt conn IPPROTO_TCP TCP_NODELAY 1)
  (let ((s (make-session connection-end/server)))
    (set-session-timeout! s 10)
    (set-session-credentials! s server-creds)
    (set-session-transport-port! s conn)
    (handshake s)
    (let* ((p (session-record-port s))
           (b (get-u8 p)))
      (unless (eof-object? b)
        (put-u8 p b)
        (force-output p))
      (close-port p))))                 ; close_notify, then the socket

(define (server-loop listener serve kind)
  (let loop ()
    (unless stop?
      (let ((conn (catch #t
                    (lambda () (car (accept listener)))
                    (lambda (key . args)
                      (if (and (eq? key '%exception)
                               (net-timeout-error? (car args)))
                          #f
                          (begin (note-error! 'accept (cons key args)) #f))))))
        (when conn
          (with-exception-handler
              (lambda (e)
                (count! (if (expected-failure? e) 'server-cut 'server-error))
                (unless (expected-failure? e) (note-error! kind e)))
            (lambda () (serve conn) (count! 'served))
            #:unwind? #t)
          (close-port conn))
        (loop)))))

;;; Clients.

(define (connect-to listener)
  (let ((s (socket AF_INET SOCK_STREAM 0)))
    (set-socket-timeout! s 'connect 10)
    (set-socket-timeout! s 'read 10)
    (set-socket-timeout! s 'write 10)
    (connect s (getsockname listener))
    (setsockopt s IPPROTO_TCP TCP_NODELAY 1)
    s))

(define (linger-close! s)
  (setsockopt s SOL_SOCKET SO_LINGER (cons 1 0))
  (close-port s))

(define (plain-client listener i)
  (let ((s (connect-to listener)))
    (put-u8 s (logand i 255))
    (force-output s)
    (if (reset? i)
        (begin (linger-close! s) 'reset)
        (let* ((b (get-u8 s))
               (end (get-u8 s)))        ; the server closes first
          (close-port s)
          (if (and (eqv? b (logand i 255)) (eof-object? end))
              'ok
              (list 'bad-echo b end))))))

(define partial-client-hello #vu8(22 3 1 2 0 1 0 1 252 3 3 0 0 0 0))
(define partial-record #vu8(23 3 3 3 232 1 2 3 4 5 6 7 8 9 10))

(define (tls-client listener i)
  (let ((s (connect-to listener)))
    (if (and (reset? i) (even? (quotient i 10)))
        ;; Mid-handshake: part of a ClientHello, then a reset.
        (begin
          (send s partial-client-hello)
          (linger-close! s)
          'reset)
        (let ((session (make-session connection-end/client)))
          (set-session-timeout! session 10)
          (set-session-credentials! session client-creds)
          (set-session-server-name! session server-name-type/dns "localhost")
          (set-session-transport-port! session s)
          (handshake session)
          (if (reset? i)
              ;; Mid-record: part of an application data record, then a
              ;; reset.
              (begin
                (send s partial-record)
                (linger-close! s)
                'reset)
              (let ((p (session-record-port session)))
                (put-u8 p (logand i 255))
                (force-output p)
                (let* ((b (get-u8 p))
                       (end (get-u8 p)))  ; the server's close_notify
                  (close-port p)
                  (if (and (eqv? b (logand i 255)) (eof-object? end))
                      'ok
                      (list 'bad-echo b end)))))))))

(define done 0)                         ; connections finished, all threads

(define (client-loop k)
  "Client thread K of CLIENT-THREADS: connections K, K+n, K+2n, ..."
  (let loop ((i k))
    (when (< i total)
      (let* ((a (modulo (quotient i client-threads) (length addresses)))
             (result
              (catch #t
                (lambda ()
                  (if (tls? i)
                      (tls-client (list-ref tls-listeners a) i)
                      (plain-client (list-ref plain-listeners a) i)))
                (lambda (key . args)
                  (note-error! (list 'client i) (cons key args))
                  'client-error))))
        (count! (cond ((eq? result 'ok) (if (tls? i) 'tls-ok 'plain-ok))
                      ((eq? result 'reset) 'reset)
                      (else (note-error! (list 'client i) result)
                            'client-error)))
        (with-mutex lock (set! done (+ done 1)))
        (loop (+ i client-threads))))))

;;; The run.

(define (expected-ok tls)
  (count (lambda (i) (and (eq? (tls? i) tls) (not (reset? i)))) (iota total)))

(run-tests "soak"
  (set! server-creds (server-credentials))
  (set! client-creds (client-credentials))
  (raise-fd-limit! 4096)
  (gc)
  (let* ((fds-before (open-fd-count))
         (tw-before (time-wait-count))
         (made (begin (set! plain-listeners (map listener-on addresses))
                      (set! tls-listeners (map listener-on addresses))))
         (servers
          (append-map
           (lambda (listener)
             (append
              (map (lambda (n)
                     (call-with-new-thread
                      (lambda () (server-loop listener serve-plain 'plain))))
                   (iota servers-per-listener))
              '()))
           plain-listeners))
         (tls-servers
          (append-map
           (lambda (listener)
             (map (lambda (n)
                    (call-with-new-thread
                     (lambda () (server-loop listener serve-tls 'tls))))
                  (iota servers-per-listener)))
           tls-listeners))
         (start (now))
         (clients (map (lambda (k)
                         (call-with-new-thread (lambda () (client-loop k))))
                       (iota client-threads)))
         (marks (map (lambda (q) (quotient (* q total) 4)) '(1 2 3 4)))
         (rss '()))
    (format #t "# soak: ~a connections, ~a% TLS, one in ten reset, ~a client threads~%"
            total tls-percent client-threads)
    (force-output)
    ;; Sample resident memory as the run passes 25, 50, 75 and 100%.
    (let wait ((marks marks) (deadline (+ (now) 280)))
      (unless (or (null? marks) (> (now) deadline))
        (let ((d (with-mutex lock done)))
          (if (>= d (car marks))
              (begin
                (gc)
                (set! rss (append rss (list (rss-kib))))
                (format #t "# ~a%: ~a connections in ~,1f s, RSS ~a KiB~%"
                        (* 25 (length rss)) d (- (now) start) (last rss))
                (force-output)
                (wait (cdr marks) deadline))
              (begin (usleep 50000) (wait marks deadline))))))
    (for-each (lambda (t) (join-thread t (+ (current-time) 30))) clients)
    (let ((elapsed (- (now) start)))
      (set! stop? #t)
      (for-each (lambda (t) (join-thread t (+ (current-time) 10)))
                (append servers tls-servers))
      (for-each close-port (append plain-listeners tls-listeners))
      (let ((fds-after (let loop ((i 0))
                         (gc)
                         (let ((n (open-fd-count)))
                           (if (or (<= n fds-before) (= i 10))
                               n
                               (begin (usleep 100000) (loop (+ i 1)))))))
            (growth (and (= (length rss) 4)
                         (* 100. (/ (- (list-ref rss 3) (list-ref rss 1))
                                    (list-ref rss 1))))))
        (format #t "# ~a connections in ~,1f s: ~,0f connections/s~%"
                (with-mutex lock done) elapsed
                (/ (with-mutex lock done) elapsed))
        (format #t "# plain ok ~a, TLS ok ~a, reset ~a, client errors ~a~%"
                (tally 'plain-ok) (tally 'tls-ok) (tally 'reset)
                (tally 'client-error))
        (format #t "# server: served ~a, cut by the peer ~a, unexpected errors ~a~%"
                (tally 'served) (tally 'server-cut) (tally 'server-error))
        (format #t "# descriptors before ~a, after ~a~%" fds-before fds-after)
        (format #t "# RSS at 25/50/75/100%: ~{~a~^ / ~} KiB; growth over the second half ~,2f%~%"
                rss (or growth 0))
        (format #t "# TIME_WAIT sockets (machine-wide) before ~a, after ~a~%"
                tw-before (time-wait-count))
        (for-each (lambda (e) (format #t "#   error: ~s~%" e)) errors-seen)
        (force-output)
        (test-equal "every connection finished" total (with-mutex lock done))
        (test-equal "no client errors" 0 (tally 'client-error))
        (test-equal "no unexpected server errors" 0 (tally 'server-error))
        (test-equal "every plain exchange echoed" (expected-ok #f) (tally 'plain-ok))
        (test-equal "every TLS exchange echoed" (expected-ok #t) (tally 'tls-ok))
        (test-equal "descriptors back to their starting count" fds-before fds-after)
        (test-assert "resident memory grows less than 5% over the second half"
          (and growth (< growth 5))))))
  (remove-cert-dir))
