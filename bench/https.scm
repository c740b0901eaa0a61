;;; bench/https.scm MODE -- serve one small page on 127.0.0.1, port 0, until
;;; killed, for wrk and bench/tls-baseline's clients.  Prints "port N" once
;;; listening.
;;;
;;;   http          Guile's own 'http server (the baseline)
;;;   https         our 'https server through run-server, the same handler
;;;   https-direct  the same through run-https-server, which is now that
;;;                 very call (kept so that older command lines still work)
;;;
;;; The 'https server takes up to 20,000 connections here (the default
;;; #:max-connections is 512), for the rows with 500 connections and with
;;; thousands held idle.
;;;
;;; The certificate comes from $BENCH_CERTS (tests/tls-certs.sh).

(use-modules (web server)
             (web server https)
             ((guile) #:select ((socket . core-socket) (bind . core-bind)
                                (listen . core-listen)
                                (getsockname . core-getsockname))))

(define mode (cadr (command-line)))
(define certs (getenv "BENCH_CERTS"))

(define (handler request body)
  (values '((content-type . (text/plain))) "Hello from the benchmark.\n"))

(define (ready port)
  (format #t "port ~a~%" port)
  (force-output))

(define tls-options
  `(#:host "127.0.0.1" #:port 0
    #:certificate ,(string-append certs "/server.pem")
    #:private-key ,(string-append certs "/key.pem")
    #:max-connections 20000
    #:ready ,ready))

(alarm (string->number (or (getenv "BENCH_ALARM") "300")))

(cond
 ((string=? mode "http")
  ;; Guile's server takes a core socket; bind it ourselves to learn the port.
  (let ((s (core-socket PF_INET SOCK_STREAM 0)))
    (setsockopt s SOL_SOCKET SO_REUSEADDR 1)
    (core-bind s AF_INET INADDR_LOOPBACK 0)
    (core-listen s 1024)
    (ready (vector-ref (core-getsockname s) 2))
    (run-server handler 'http `(#:socket ,s))))
 ((string=? mode "https")
  (run-server handler 'https tls-options))
 ((string=? mode "https-direct")
  (run-https-server handler tls-options))
 (else
  (format (current-error-port) "usage: bench/https.scm http|https|https-direct~%")
  (exit 2)))
