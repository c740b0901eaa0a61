;;; https-server.scm CERT KEY -- serve a greeting over HTTPS on a port the
;;; kernel picks (printed), with Guile's run-server and the 'https server.
(use-modules (web server) (web request) (web uri))
(define (hello request body)
  (values '((content-type . (text/plain)))
          (string-append "Hello over HTTPS! You asked for " (uri-path (request-uri request)) "\n")))
(run-server hello 'https
  `(#:port 0 #:certificate ,(cadr (command-line)) #:private-key ,(caddr (command-line))
    #:ready ,(lambda (port) (format #t "listening on port ~a~%" port) (force-output))))
