;;; (tests https-common) -- what the HTTPS tests share: an 'https server
;;; run by run-server in a thread of the test, on a kernel-chosen loopback
;;; port, and external programs run to completion within a bound.

(define-module (tests https-common)
  #:use-module (tests tls-common)
  #:use-module ((tests harness) #:select (wait-until))
  #:use-module (web server)
  #:use-module (web request)
  #:use-module (web response)
  #:use-module (web uri)
  #:use-module (net socket)
  #:use-module (net tls)
  #:use-module (web server https)
  #:use-module (ice-9 threads)
  #:use-module (ice-9 popen)
  #:use-module (ice-9 textual-ports)
  #:export (start-https-server
            hello-handler
            run-program run-program/seconds
            run-with-input
            seen-sessions)
  ;; harness's, for the files that do not use (tests harness) themselves
  #:re-export (wait-until))

;; Path -> the TLS session that carried the request, so tests can see
;; which requests shared a connection.
(define seen-sessions (make-hash-table))

(define (hello-handler request body)
  "Answer \"hello PATH\", with the client certificate's DN when there is
one, and echo a POST body."
  (let* ((path (uri-path (request-uri request)))
         (session (https-request-session))
         (chain (and session (session-peer-certificate-chain session))))
    (hash-set! seen-sessions path session)
    (values '((content-type . (text/plain)))
            (string-append "hello " path "\n"
                           (if (and chain (pair? chain))
                               (string-append "client: "
                                              (x509-certificate-dn
                                               (import-x509-certificate
                                                (car chain)
                                                x509-certificate-format/der))
                                              "\n")
                               "")
                           (if (bytevector? body)
                               (string-append "body: " (utf8->string body) "\n")
                               "")))))

(define (utf8->string bv)
  ((@ (rnrs bytevectors) utf8->string) bv))
(define (bytevector? x)
  ((@ (rnrs bytevectors) bytevector?) x))

(define* (start-https-server #:key (handler hello-handler) (options '()))
  "Run HANDLER under (run-server handler 'https ...) in a new thread, on
port 0 with the test certificates and OPTIONS; return the port number."
  (let ((port #f))
    (call-with-new-thread
     (lambda ()
       (run-server handler 'https
                   (append `(#:port 0
                             #:certificate ,(cert-file "server")
                             #:private-key ,(cert-file "key")
                             #:ready ,(lambda (p) (set! port p)))
                           options))))
    (wait-until (lambda () port) 10)))

(define (run-program program . args)
  "Run PROGRAM with ARGS, stdin from /dev/null; return its output (stdout
and stderr) once it exits, at most 30 s."
  (apply run-program/seconds 30 program args))

(define (run-program/seconds seconds program . args)
  "Like run-program, but wait at most SECONDS."
  (let ((peer (apply spawn-peer program args)))
    (unless (peer-wait-exit peer seconds)
      (kill-peer peer))
    (peer-output peer)))

(define (run-with-input input program . args)
  "Run PROGRAM with ARGS, INPUT (a string) on its stdin, at most 30 s;
return its output."
  (let* ((cmd (string-append "printf '%s' " (shell-quote input)
                             " | timeout 30 "
                             (string-join (map shell-quote (cons program args))
                                          " ")
                             " 2>&1"))
         (p (open-input-pipe cmd))
         (out (get-string-all p)))
    (close-pipe p)
    out))
