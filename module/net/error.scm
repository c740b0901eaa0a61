;;; (net error) -- the conditions Guile-Net raises.
;;;
;;; Failed system calls are Guile's own `system-error' exceptions, carrying
;;; errno exactly as Guile's built-in socket procedures raise them.  The
;;; conditions below are our own; each is a Guile exception type, so `guard',
;;; `catch' and `with-exception-handler' all see them.

(define-module (net error)
  #:use-module (ice-9 exceptions)
  #:export (&net-error
            net-error?
            &net-timeout
            make-net-timeout-error
            net-timeout-error?
            net-timeout-operation
            net-timeout-object
            %raise-timeout))

(define-exception-type &net-error &error
  make-net-error net-error?)

(define-exception-type &net-timeout &net-error
  make-net-timeout-error net-timeout-error?
  (operation net-timeout-operation)   ; a symbol: connect, accept, read, ...
  (object net-timeout-object))        ; the socket or session that timed out

(define (%raise-timeout who operation object)
  "Raise a timeout condition: OPERATION (a symbol) on OBJECT did not
complete in time.  Called from C; WHO names the procedure."
  (raise-exception
   (make-exception (make-net-timeout-error operation object)
                   (make-exception-with-origin who)
                   (make-exception-with-message
                    (format #f "~a timed out" operation))
                   (make-exception-with-irritants (list object)))))
