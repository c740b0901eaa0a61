;;; Record ports' buffers, against a real TLS peer on loopback:
;;; - a port that streams sends whole records (its write buffer grows to one)
;;;   and gives the large buffer back once its peer goes quiet;
;;; - request/reply traffic keeps the small buffer;
;;; - C writes (display) and Scheme writes (suspendable put-bytevector) mixed
;;;   on a grown buffer keep every byte in order;
;;; - a record port's reads take what the socket holds at once (read-ahead),
;;;   and what they took counts as input for char-ready? and (net socket)'s
;;;   select; a session's own reads leave later records in the socket, for a
;;;   program that polls the descriptor between records;
;;; - a read after a read that waited (it waits first) still times out;
;;; - a thread reading the port keeps its read-ahead buffer, a task parked in
;;;   a read under (net scheduler) holds none.

(use-modules (tests harness)
             (tests tls-common)
             (net socket)
             (net tls)
             (srfi srfi-1)
             (srfi srfi-11)
             (srfi srfi-64)
             (ice-9 rdelim)
             (ice-9 binary-ports)
             (ice-9 suspendable-ports)
             (net scheduler)
             (ice-9 threads)
             ((ice-9 ports internal)
              #:select (port-write-buffer port-buffer-bytevector))
             (rnrs bytevectors))

(define (prefix->string bv n)
  (let ((head (make-bytevector n)))
    (bytevector-copy! bv 0 head 0 n)
    (utf8->string head)))

(define (make-signal)
  "A one-shot signal between two threads: a pipe."
  (pipe))

(define (signal! sig)
  (write-char #\! (cdr sig))
  (force-output (cdr sig)))

(define (wait-signal sig)
  "Wait (at most 10 s) until SIG is given, then close it; true if it was."
  (let ((given (and (pair? (car (select (list (car sig)) '() '() 10)))
                    (char=? (read-char (car sig)) #\!))))
    (close-port (car sig))
    (close-port (cdr sig))
    given))

(define (run-own-scheduler thunk)
  "Run THUNK and the tasks it spawns in a scheduler of their own, at most
10 s; then close it, and uninstall the suspendable ports that making it
installed: this file's other cases run without them."
  (let ((sched (make-scheduler)))
    (run-scheduler thunk #:scheduler sched #:timeout 10)
    (scheduler-close! sched)
    (uninstall-suspendable-ports!)))

(define (write-buffer-size port)
  (bytevector-length (port-buffer-bytevector (port-write-buffer port))))

(define (line-of i)
  (string-append "line " (number->string i) " "
                 (make-string (+ 40 (modulo i 17)) #\x)))

(define* (write-lines port from to #:key flush-each?)
  "Write lines FROM to TO (exclusive) to PORT, flushing after each when
FLUSH-EACH? (one record per line)."
  (do ((i from (+ i 1))) ((= i to))
    (display (line-of i) port)
    (newline port)
    (when flush-each? (force-output port))))

(define (lines-to-eof port)
  "Read PORT's lines to the end of file: how many, and how many were the
lines written, in order."
  (let loop ((i 0) (good 0))
    (let ((line (read-line port)))
      (if (eof-object? line)
          (list i good)
          (loop (+ i 1) (if (equal? line (line-of i)) (+ good 1) good))))))

(define (intact-lines port from to)
  "Read lines FROM to TO from PORT: how many were the lines written."
  (let loop ((i from) (good 0))
    (if (= i to)
        good
        (loop (+ i 1) (if (equal? (read-line port) (line-of i)) (+ good 1) good)))))

;; A transport for SESSION over socket CONN that keeps every byte read
;; from the wire; return a thunk giving them as one bytevector.
(define (log-transport! session conn)
  (let* ((chunks '())
         (port (make-custom-binary-input/output-port
                "wire log"
                (lambda (bv start count)
                  (let ((n (get-bytevector-some! conn bv start count)))
                    (if (eof-object? n)
                        0
                        (let ((copy (make-bytevector n)))
                          (bytevector-copy! bv start copy 0 n)
                          (set! chunks (cons copy chunks))
                          n))))
                (lambda (bv start count)
                  (put-bytevector conn bv start count)
                  (force-output conn)
                  count)
                #f #f #f)))
    (set-session-transport-port! session port)
    (lambda ()
      (let* ((all (reverse chunks))
             (out (make-bytevector (apply + (map bytevector-length all)))))
        (let loop ((all all) (at 0))
          (unless (null? all)
            (bytevector-copy! (car all) 0 out at (bytevector-length (car all)))
            (loop (cdr all) (+ at (bytevector-length (car all))))))
        out))))

(define (tls-records bv n)
  "The TLS records whose header lies in the first N bytes of BV, in order:
a list of (TYPE LENGTH END), END the offset just past the record (beyond N
if it is cut)."
  (let loop ((at 0) (acc '()))
    (if (> (+ at 5) n)
        (reverse acc)
        (let* ((len (bytevector-u16-ref bv (+ at 3) (endianness big)))
               (end (+ at 5 len)))
          (loop end (cons (list (bytevector-u8-ref bv at) len end) acc))))))

(define (application-record-lengths wire)
  "The lengths of the application-data records (type 23) in WIRE."
  (filter-map (lambda (r) (and (= (car r) 23) (cadr r)))
              (tls-records wire (bytevector-length wire))))

(define (queued-records sock)
  "How many whole TLS records the receive queue of socket SOCK holds
(peeked, nothing taken)."
  (let* ((bv (make-bytevector 65536))
         (n (or (false-if-exception
                 (recv! sock bv (logior MSG_PEEK MSG_DONTWAIT)))
                0)))
    (count (lambda (r) (<= (caddr r) n)) (tls-records bv n))))

(define line-count 3000)

(run-tests "tls-port-buffers"

  ;; Streaming: the wire carries records of about 16 KiB, not 2,000 bytes.
  (let ((wire #f))
    (let-values (((client server)
                   (tls-pair
                    #:server-body
                    (lambda (s)
                      (let ((tls (session-record-port s)))
                        (write-lines tls 0 line-count)
                        (close-port tls)
                        'sent))
                    #:client-setup
                    (lambda (s)
                      (set! wire (log-transport! s (session-transport-port s))))
                    #:client-body
                    (lambda (s)
                      (lines-to-eof (session-record-port s))))))
      (test-equal "streamed lines arrive, every one intact"
        (list line-count line-count) client)
      (test-equal "the streaming side finished" 'sent server)
      (let* ((lengths (application-record-lengths (wire)))
             (big (filter (lambda (n) (> n 8192)) lengths)))
        (test-assert "the stream was sent in whole records of about 16 KiB"
          (and (pair? big) (> (apply max lengths) 16000)))
        (test-assert "most of the stream went in records over 8 KiB"
          (> (apply + big) (* 0.8 (apply + lengths)))))))

  ;; The large buffer goes once the peer is quiet; request/reply keeps the
  ;; small one.
  (let-values (((client server)
                 (tls-pair
                  #:server-body
                  (lambda (s)
                    (let ((tls (session-record-port s)))
                      (write-lines tls 0 1000)
                      (let ((grown (write-buffer-size tls)))
                        (display "end\n" tls)
                        ;; The client answers only once it has read everything:
                        ;; this read waits.
                        (let* ((request (read-line tls))
                               (rested (write-buffer-size tls)))
                          ;; Now request/reply: 1,500-byte answers, each flushed.
                          (let loop ((n 0))
                            (let ((line (read-line tls)))
                              (unless (eof-object? line)
                                (display (make-string 1500 #\r) tls)
                                (newline tls)
                                (force-output tls)
                                (loop (+ n 1)))))
                          (list grown request rested (write-buffer-size tls))))))
                  #:client-body
                  (lambda (s)
                    (let ((tls (session-record-port s)))
                      (let loop ()
                        (unless (equal? (read-line tls) "end") (loop)))
                      (display "next\n" tls)
                      (force-output tls)
                      (let loop ((i 0) (good 0))
                        (if (= i 50)
                            (begin (close-port tls) good)
                            (begin
                              (display "request\n" tls)
                              (force-output tls)
                              (loop (+ i 1)
                                    (if (equal? (read-line tls) (make-string 1500 #\r))
                                        (+ good 1)
                                        good))))))))))
    (test-equal "every reply of the request/reply phase arrived" 50 client)
    (test-equal "the streaming port's write buffer grew to a record"
      16384 (and (pair? server) (car server)))
    (test-equal "the request after the stream was read" "next"
      (and (pair? server) (cadr server)))
    (test-equal "a read that waited gave the large buffer back"
      2000 (and (pair? server) (caddr server)))
    (test-equal "request/reply with flushed 1,500-byte answers keeps it small"
      2000 (and (pair? server) (cadddr server))))

  ;; A buffer size the program set with setvbuf is never changed.
  (let-values (((client server)
                 (tls-pair
                  #:server-body
                  (lambda (s)
                    (let ((tls (session-record-port s)))
                      (write-lines tls 0 1000)           ; grows the port's own
                      (setvbuf tls 'block 8000)
                      (write-lines tls 1000 2000)
                      (let ((streamed (write-buffer-size tls)))
                        (display "end\n" tls)
                        (let* ((request (read-line tls))  ; waits for the client
                               (after (write-buffer-size tls)))
                          (close-port tls)
                          (list streamed request after)))))
                  #:client-body
                  (lambda (s)
                    (let* ((tls (session-record-port s))
                           (good (intact-lines tls 0 2000)))
                      (read-line tls)                    ; "end"
                      (display "next\n" tls)
                      (force-output tls)
                      (read-line tls)                    ; the end of file
                      good)))))
    (test-equal "lines written through a setvbuf'd buffer arrive intact"
      2000 client)
    (test-equal "a setvbuf'd buffer keeps its size, streaming and after a wait"
      '(8000 "next" 8000) server))

  ;; Reads take what the socket holds; it still counts as input.
  (define burst-sent (make-signal))
  (let-values (((client server)
                 (tls-pair
                  ;; No session tickets: the burst's 50 records are then
                  ;; all the records that follow the handshake.
                  #:server-setup
                  (lambda (s)
                    (set-session-priorities!
                     s (string-append (%default-priority-string) ":%NO_TICKETS")))
                  #:server-body
                  (lambda (s)
                    (let ((tls (session-record-port s)))
                      (write-lines tls 0 50 #:flush-each? #t)
                      (signal! burst-sent)
                      (let ((answer (read-line tls)))
                        (close-port tls)
                        answer)))
                  #:client-body
                  (lambda (s)
                    (let* ((tls (session-record-port s))
                           (sock (session-transport-port s)))
                      ;; The whole burst is sent; loopback may still be handing
                      ;; its last segments to our socket under load
                      ;; (sanitizers): wait until the socket holds all 50
                      ;; records, then read it all at once.
                      (define all-queued
                        (and (wait-signal burst-sent)
                             (wait-until (lambda () (>= (queued-records sock) 50)))
                             (queued-records sock)))
                      ;; Read line by line until the port holds input its socket
                      ;; does not (read ahead): then ask char-ready? and select.
                      (let loop ((i 0) (good 0))
                        (define (ahead?)
                          (null? (car (select (list sock) '() '() 0))))
                        (cond
                         ((= i 49)
                          (list good 'never-ahead #f #f all-queued))
                         (else
                          (let ((good (if (equal? (read-line tls) (line-of i))
                                          (+ good 1)
                                          good)))
                            (if (not (ahead?))
                                (loop (+ i 1) good)
                                (let* ((ready (char-ready? tls))
                                       (selected (car (select (list tls) '() '() 2)))
                                       (rest (intact-lines tls (+ i 1) 50)))
                                  (display "done\n" tls)
                                  (force-output tls)
                                  (list (+ good rest) #t ready
                                        (equal? selected (list tls))
                                        all-queued))))))))))))
    (test-equal "the socket held the whole burst, its 50 records, before the reads"
      50 (and (pair? client) (list-ref client 4)))
    (test-equal "a burst of records read through the record port, intact"
      50 (and (pair? client) (car client)))
    (test-equal "a read took more than one record of what the socket held"
      #t (and (pair? client) (cadr client)))
    (test-assert "char-ready? sees the input read ahead"
      (and (pair? client) (caddr client)))
    (test-assert "select sees the input read ahead"
      (and (pair? client) (cadddr client)))
    (test-equal "the server heard back" "done" server))

  ;; A session's own reads (guile-gnutls style) leave later records in the
  ;; socket.
  (define three-sent (make-signal))
  (let-values (((client server)
                 (tls-pair
                  #:server-body
                  (lambda (s)
                    (record-send s (string->utf8 "one"))
                    (record-send s (string->utf8 "two"))
                    (record-send s (string->utf8 "three"))
                    (signal! three-sent)
                    (let ((buf (make-bytevector 16)))
                      (prefix->string buf (record-receive! s buf))))
                  #:client-body
                  (lambda (s)
                    (let ((sock (session-transport-port s))
                          (buf (make-bytevector 65536)))
                      (wait-signal three-sent)      ; all three are in the socket
                      (let* ((first (prefix->string buf (record-receive! s buf)))
                             (more (car (select (list (fileno sock)) '() '() 1)))
                             (second (prefix->string buf (record-receive! s buf)))
                             (third (prefix->string buf (record-receive! s buf))))
                        (record-send s (string->utf8 "thanks"))
                        (list first (pair? more) second third)))))))
    (test-equal "record-receive! reads one record at a time"
      '("one" #t "two" "three") client)
    (test-equal "the session's peer got its answer" "thanks" server))

  ;; Waiting first after a read that waited still times out.
  (let-values (((client server)
                 (tls-pair
                  #:server-body
                  (lambda (s)
                    (let ((tls (session-record-port s)))
                      (read-line tls)
                      (display "reply\n" tls)
                      (force-output tls)
                      (read-line tls)                ; the second request: no answer
                      (let ((r (capture (lambda () (read-line tls)))))
                        'quiet)))
                  #:client-body
                  (lambda (s)
                    (let ((tls (session-record-port s)))
                      (display "first\n" tls)
                      (force-output tls)
                      (let ((reply (read-line tls))) ; waits for the server
                        (display "second\n" tls)
                        (force-output tls)
                        (set-session-timeout! s 0.4)
                        (let* ((t0 (get-internal-real-time))
                               (r (capture (lambda () (read-line tls))))
                               (secs (/ (- (get-internal-real-time) t0)
                                        internal-time-units-per-second 1.)))
                          (list reply (net-timeout-error? r) (< 0.3 secs 3)))))))))
    (test-equal "a read after one that waited times out at its limit"
      '("reply" #t #t) client))

  ;; One thread reads the port while another writes it (auto-flush off):
  ;; both directions stream at once, every line intact.
  (let ()
    (define (duplex s)
      "Write LINE-COUNT lines on S's record port from a thread of their own
while reading as many here: the lines read intact, and how the writer
ended."
      (let ((tls (session-record-port s)))
        (set-tls-record-port-auto-flush! tls #f)
        (let ((writer (call-with-new-thread
                       (lambda ()
                         (write-lines tls 0 line-count)
                         (force-output tls)
                         'written))))
          (let ((got (intact-lines tls 0 line-count)))
            (list got (join-thread writer (+ (current-time) 20) 'stuck))))))
    (let-values (((client server)
                   (tls-pair #:timeout 20 #:server-body duplex #:client-body duplex)))
      (test-equal "a reader and a writer thread on one port: the client's side"
        (list line-count 'written) client)
      (test-equal "... and the server's" (list line-count 'written) server)))

  ;; Under suspendable ports: C writes grow the buffer, Scheme writes fill
  ;; it; the byte stream stays exact.
  (let ((pieces (map (lambda (i)
                       (if (even? i)
                           (string-append (line-of i) "\n")
                           (make-bytevector (+ 1 (* 37 i)) (modulo i 256))))
                     (iota 400))))
    (define expected
      (call-with-values open-bytevector-output-port
        (lambda (out get)
          (for-each (lambda (p)
                      (put-bytevector out (if (string? p) (string->utf8 p) p)))
                    pieces)
          (get))))
    (install-suspendable-ports!)
    (let-values (((client server)
                   (tls-pair
                    #:server-body
                    (lambda (s)
                      (let ((tls (session-record-port s)))
                        (for-each (lambda (p)
                                    (if (string? p)
                                        (display p tls)
                                        (put-bytevector tls p)))
                                  pieces)
                        (close-port tls)
                        'sent))
                    #:client-body
                    (lambda (s)
                      (let ((tls (session-record-port s)))
                        (get-bytevector-all tls))))))
      (uninstall-suspendable-ports!)
      (test-assert "display and put-bytevector mixed: every byte in order"
        (and (bytevector? client) (bytevector=? client expected)))
      (test-equal "the mixed writer finished" 'sent server)))

  ;; Big records are read as GnuTLS asks, without the read-ahead buffer: a
  ;; port that had one for small records lets it go at its first read of
  ;; the socket after a big record.
  (let ((long-line (make-string 10000 #\x)))
    (let-values (((client server)
                   (tls-pair
                    #:server-body
                    (lambda (s)
                      (let ((tls (session-record-port s)))
                        (display "short\n" tls)
                        (force-output tls)
                        ;; Larger than the write buffer: each written at
                        ;; once, one record.
                        (put-bytevector tls (string->utf8
                                             (string-append long-line "\n")))
                        (put-bytevector tls (string->utf8
                                             (string-append long-line "\n")))
                        (force-output tls)
                        (read-line tls)))
                    #:client-body
                    (lambda (s)
                      (let* ((tls (session-record-port s))
                             (short (read-line tls))
                             (held-small (%session-read-ahead-held? s))
                             (long1 (read-line tls))
                             (long2 (read-line tls))
                             (held-big (%session-read-ahead-held? s)))
                        (display "thanks\n" tls)
                        (force-output tls)
                        (list short held-small
                              (equal? (list long1 long2) (list long-line long-line))
                              held-big))))))
      (test-equal "a short record keeps the read-ahead buffer, 10 kB ones drop it"
        '("short" #t #t #f) client)
      (test-equal "the big records' sender heard back" "thanks" server)))

  ;; The manual (Scheduler): over a socket in blocking mode a record port
  ;; blocks its thread, with every task in it.  The reader's timeout ends
  ;; its read; the task spawned after it runs only then.
  (let-values (((client server)
                 (tls-pair
                  #:server-body
                  (lambda (s)
                    (read-line (session-record-port s)))
                  #:client-body
                  (lambda (s)
                    (let ((tls (session-record-port s))
                          (result #f)
                          (reader-done-when-other-ran 'never))
                      (set-session-timeout! s 0.3)
                      (run-own-scheduler
                       (lambda ()
                         (spawn (lambda ()
                                  (set! result (capture (lambda () (read-line tls))))))
                         (spawn (lambda ()
                                  (set! reader-done-when-other-ran (and result #t))))))
                      (display "bye\n" tls)
                      (force-output tls)
                      (list (net-timeout-error? result) reader-done-when-other-ran))))))
    (test-equal "a blocking socket's record port blocks the scheduler's thread until its timeout"
      '(#t #t) client)
    (test-equal "... and the session still works after it" "bye" server))

  ;; Memory: a thread reading the port keeps its read-ahead buffer; a task
  ;; of (net scheduler) whose read is parked holds none.  The server sends
  ;; its second line only when a second task has looked, while the reader
  ;; is parked.
  (let ((looked (make-signal)))
    (let-values (((client server)
                   (tls-pair
                    #:server-body
                    (lambda (s)
                      (let ((tls (session-record-port s)))
                        (display "one\n" tls)
                        (force-output tls)
                        (wait-signal looked)
                        (display "two\n" tls)
                        (force-output tls)
                        (read-line tls)))
                    #:client-body
                    (lambda (s)
                      (let* ((tls (session-record-port s))
                             (first (read-line tls))
                             (held-by-thread (%session-read-ahead-held? s))
                             (second #f)
                             (held-while-parked 'not-looked)
                             (sock (session-transport-port s)))
                        ;; Tasks suspend on non-blocking sockets (a blocking
                        ;; one blocks its thread, as in Guile and fibers).
                        (fcntl sock F_SETFL (logior O_NONBLOCK (fcntl sock F_GETFL)))
                        (run-own-scheduler
                         (lambda ()
                           (spawn (lambda () (set! second (read-line tls))))
                           (spawn (lambda ()
                                    (unless second ; the reader is parked
                                      (set! held-while-parked
                                            (%session-read-ahead-held? s)))
                                    (signal! looked)))))
                        (display "bye\n" tls)
                        (force-output tls)
                        (list first held-by-thread second held-while-parked))))))
      (test-equal "a thread reading the port keeps a read-ahead buffer"
        '("one" #t) (and (pair? client) (list-head client 2)))
      (test-equal "a task parked in a read under (net scheduler) holds none"
        '("two" #f) (and (pair? client) (list-tail client 2)))
      (test-equal "the server heard the last line" "bye" server))))
