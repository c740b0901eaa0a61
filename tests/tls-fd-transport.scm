;;; guile-gnutls-style sessions on descriptors under a scheduler.
;;;
;;; A program written for guile-gnutls gives its sessions a descriptor
;;; (set-session-transport-fd!).  Under suspendable ports and the (tests
;;; fd-scheduler) scheduler, sessions on NON-BLOCKING descriptors must wait
;;; in the waiters: 50 connections (socketpairs and loopback TCP) handshake
;;; and echo 20 messages each -- 1,000 TLS echoes on one thread, through
;;; record-send / record-receive! and through the record port, all tasks
;;; interleaved.  guile-gnutls's own behaviour stays where it is asked for:
;;; a session made with connection-flag/nonblock raises error/again from
;;; handshake instead of waiting, and so does a non-blocking descriptor
;;; without suspendable ports.

(use-modules (tests harness)
             (tests tls-common)
             (tests fd-scheduler)
             (net socket)
             (net tls)
             (net error)
             (srfi srfi-1)
             (srfi srfi-64)
             (rnrs bytevectors)
             (ice-9 binary-ports)
             (ice-9 exceptions)
             (ice-9 rdelim)
             (ice-9 suspendable-ports))

(install-suspendable-ports!)
(sigaction SIGPIPE SIG_IGN)

(cert-dir)
(define server-cred (server-credentials))
(define client-cred (client-credentials))

(define connections 50)
(define echoes 20)
(define tcp-connections 10)             ; the others are socketpairs

(define to-close '())
(define (keep! port) (set! to-close (cons port to-close)) port)
(define (close-kept!)
  (for-each (lambda (p) (unless (port-closed? p) (false-if-exception (close-port p))))
            to-close)
  (set! to-close '()))

(define (non-blocking-pair tcp?)
  "Two connected non-blocking socket ports, kept to be closed at the end."
  (let ((p (if tcp?
               (connected-pair)
               (socketpair AF_UNIX (logior SOCK_STREAM SOCK_NONBLOCK) 0))))
    (cons (keep! (non-blocking! (car p))) (keep! (non-blocking! (cdr p))))))

(define* (fd-session end fd #:key (flags 0))
  (let ((s (if (zero? flags) (make-session end) (make-session end flags))))
    (set-session-transport-fd! s fd)
    (if (= end connection-end/server)
        (set-session-credentials! s server-cred)
        (begin
          (set-session-credentials! s client-cred)
          (set-session-server-name! s server-name-type/dns "localhost")))
    s))

(define (message i j)
  (string-append (format #f "connection ~a echo ~a " i j)
                 (make-string (modulo (* 31 (+ i j)) 700) (integer->char (+ 97 (modulo j 26))))))

(define (outcome-of thunk)
  (with-exception-handler (lambda (e) e) thunk #:unwind? #t))

(run-tests "tls-fd-transport"
  (test-group "1,000 echoes on one thread over non-blocking descriptors"
    (let ((good 0) (bad 0)
          (handshakes 0)
          (handshakes-when-first-done #f)
          (tasks '()))
      (for-each
       (lambda (i)
         (let* ((p (non-blocking-pair (< i tcp-connections)))
                (client (fd-session connection-end/client (fileno (car p))))
                (server (fd-session connection-end/server (fileno (cdr p))))
                (record-port? (odd? i)))
           ;; The server echoes every record until the client's close_notify.
           (set! tasks
                 (cons
                  (spawn (lambda ()
                           (handshake server)
                           (let ((buf (make-bytevector 16384)))
                             (let loop ((k 0))
                               (let ((n (record-receive! server buf)))
                                 (when (and (> n 0) (< k (* 2 echoes)))
                                   (let ((out (make-bytevector n)))
                                     (bytevector-copy! buf 0 out 0 n)
                                     (record-send server out))
                                   (loop (+ k 1))))))
                           (bye server close-request/wr))
                         (format #f "server ~a" i))
                  tasks))
           (set! tasks
                 (cons
                  (spawn (lambda ()
                           (handshake client)
                           (set! handshakes (+ handshakes 1))
                           (let ((port (and record-port? (session-record-port client)))
                                 (buf (make-bytevector 16384)))
                             (let loop ((j 0))
                               (when (< j echoes)
                                 (let ((text (message i j)))
                                   (if record-port?
                                       (begin
                                         (display text port) (newline port)
                                         (force-output port)
                                         (if (equal? text (read-line port))
                                             (set! good (+ good 1))
                                             (set! bad (+ bad 1))))
                                       (let ((bv (string->utf8 text)))
                                         (record-send client bv)
                                         (let ((n (record-receive! client buf)))
                                           (if (and (= n (bytevector-length bv))
                                                    (equal? bv (let ((got (make-bytevector n)))
                                                                 (bytevector-copy! buf 0 got 0 n)
                                                                 got)))
                                               (set! good (+ good 1))
                                               (set! bad (+ bad 1)))))))
                                 (loop (+ j 1)))))
                           (unless handshakes-when-first-done
                             (set! handshakes-when-first-done handshakes))
                           (bye client close-request/wr))
                         (format #f "client ~a" i))
                  tasks))))
       (iota connections))
      (let ((finished (run-scheduler #:limit 60)))
        (close-kept!)
        (let ((failed (filter task-error tasks)))
          (unless (null? failed)
            (format #t "# ~a of ~a tasks failed; the first: ~a: ~s~%"
                    (length failed) (length tasks)
                    (task-name (car failed)) (task-error (car failed))))
          (test-assert "the scheduler finishes" finished)
          (test-equal "no task failed" 0 (length failed))
          (test-equal "every message echoed intact" (* connections echoes) good)
          (test-equal "no mismatch" 0 bad)
          (test-assert "the tasks were interleaved: others had handshaken before the first client was done"
            (and handshakes-when-first-done (> handshakes-when-first-done 1)))))))

  (test-group "guile-gnutls's error/again where it is asked for"
    (let* ((p (non-blocking-pair #f))
           (s (fd-session connection-end/client (fileno (car p))
                          #:flags connection-flag/nonblock))
           (outcome 'not-run)
           (task (spawn (lambda () (set! outcome (outcome-of (lambda () (handshake s)))))
                        "nonblock handshake")))
      (let ((finished (run-scheduler #:limit 3)))
        (test-assert "connection-flag/nonblock under suspendable ports: handshake returns at once"
          finished)
        (test-assert "... raising error/again"
          (and (tls-error? outcome) (= error/again (tls-error-code outcome))))
        (test-equal "... without waiting in a waiter" 0 (task-waits task))
        (close-kept!))))

  (test-group "without suspendable ports"
    (uninstall-suspendable-ports!)
    (let* ((p (non-blocking-pair #f))
           (s (fd-session connection-end/client (fileno (car p))))
           ;; should it wait instead, it times out rather than hang
           (outcome (begin (set-session-timeout! s 2)
                           (outcome-of (lambda () (handshake s))))))
      (test-assert "a non-blocking descriptor: handshake raises error/again"
        (and (tls-error? outcome) (= error/again (tls-error-code outcome))))
      (close-kept!))
    (install-suspendable-ports!))

  (remove-cert-dir))
