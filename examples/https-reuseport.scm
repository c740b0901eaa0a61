;;; https-reuseport.scm CERT KEY [PORT] -- one of several processes serving
;;; HTTPS on one port, each on one core: start the first with no PORT (or
;;; 0), it prints the port the kernel picked; start the others with that
;;; PORT.  With #:reuse-port? every process binds the port with
;;; SO_REUSEPORT, and the kernel spreads new connections among them.
(use-modules (web server))
(define args (cdr (command-line)))
(define (hello request body)
  (values '((content-type . (text/plain)))
          (format #f "Hello from process ~a\n" (getpid))))
(run-server hello 'https
  `(#:port ,(if (= (length args) 3) (string->number (caddr args)) 0)
    #:reuse-port? #t
    #:certificate ,(car args) #:private-key ,(cadr args)
    #:ready ,(lambda (port)
               (format #t "process ~a listening on port ~a~%" (getpid) port)
               (force-output))))
