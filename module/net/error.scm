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

;;; ---- TLS conditions (for (net tls)) -------------------------------------
;;;
;;; A TLS failure is a &tls-error carrying the GnuTLS error code (a negative
;;; integer, e.g. -110), its name (a symbol, e.g.
;;; GNUTLS_E_PREMATURE_TERMINATION), GnuTLS's message, the alert received
;;; from the peer (a symbol such as `unknown-ca', or #f) and whether it is
;;; fatal.  A failed certificate verification is the subtype
;;; &tls-verification-error, which also says why: REASONS is a list of
;;; symbols (expired, not-yet-valid, host-name-mismatch, untrusted-issuer,
;;; revoked, insecure-algorithm, purpose-mismatch, ...) and WORDS the same
;;; reasons as English sentences.
;;;
;;; The raised exception also has the throw kind `gnutls-error' with
;;; arguments (CODE PROCEDURE-NAME MESSAGE), as guile-gnutls throws, so
;;; `(catch 'gnutls-error ...)' written for (gnutls) still catches it.

(use-modules (ice-9 format))

(export &tls-error make-tls-error tls-error?
        tls-error-code tls-error-name tls-error-message
        tls-error-alert tls-error-fatal?
        tls-premature-termination?
        &tls-verification-error make-tls-verification-error
        tls-verification-error?
        tls-verification-reasons tls-verification-words
        tls-verification-host tls-verification-status
        %raise-tls-error %raise-tls-verification-error)

(define-exception-type &tls-error &net-error
  make-tls-error tls-error?
  (code tls-error-code)           ; GnuTLS error code, a negative integer
  (name tls-error-name)           ; e.g. GNUTLS_E_FATAL_ALERT_RECEIVED
  (message tls-error-message)     ; GnuTLS's description
  (alert tls-error-alert)         ; alert received (symbol) or #f
  (fatal? tls-error-fatal?))      ; #f for e.g. GNUTLS_E_AGAIN

(define-exception-type &tls-verification-error &tls-error
  make-tls-verification-error tls-verification-error?
  (reasons tls-verification-reasons)   ; list of symbols
  (words tls-verification-words)       ; list of strings
  (host tls-verification-host)         ; host name checked, or #f
  (status tls-verification-status))    ; gnutls_certificate_status_t bits

(define (tls-premature-termination? obj)
  "Return #t if OBJ is a TLS condition saying the peer closed the
connection without a TLS close_notify (a truncated connection)."
  (and (tls-error? obj)
       (eq? (tls-error-name obj) 'GNUTLS_E_PREMATURE_TERMINATION)))

;; Guile's core has the record type but (ice-9 exceptions) does not export
;; its constructor.
(define make-kind-and-args
  (record-constructor &exception-with-kind-and-args))

(define (tls-exception who code tls message)
  (make-exception (make-kind-and-args
                   'gnutls-error (list code who message))
                  tls
                  (make-exception-with-origin who)
                  (make-exception-with-message message)
                  (make-exception-with-irritants '())))

(define (%raise-tls-error who code name message alert fatal?)
  "Raise a TLS condition for GnuTLS error CODE in WHO.  Called from C."
  (let ((text (if alert
                  (format #f "~a (alert: ~a)" message alert)
                  message)))
    (raise-exception
     (tls-exception who code
                    (make-tls-error code name message alert fatal?)
                    text))))

(define (%raise-tls-verification-error who code name message reasons words
                                       host status)
  "Raise a verification condition: the peer's certificate failed for
REASONS.  Called from C."
  (let ((text (format #f "certificate verification failed~@[ for ~a~]: ~a"
                      host (string-join words "; "))))
    (raise-exception
     (tls-exception who code
                    (make-tls-verification-error code name text #f #t
                                                 reasons words host status)
                    text))))

;; How the REPL and uncaught-exception reports show the `gnutls-error'
;; kind (after their own "In procedure handshake:" line): the message.
(set-exception-printer!
 'gnutls-error
 (lambda (port key args default-printer)
   (if (and (= (length args) 3) (string? (caddr args)))
       (display (caddr args) port)
       (default-printer))))
