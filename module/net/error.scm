;;; (net error) -- the conditions Guile-Net raises.
;;;
;;; The hierarchy:
;;;
;;;   &net-error                      anything this library raises of its own
;;;     &net-timeout                  an operation ran out of time
;;;     &host-not-found               a name did not resolve
;;;     &connection-refused           nothing listens there (ECONNREFUSED)
;;;     &connection-reset             the peer went away (ECONNRESET, EPIPE,
;;;                                   ECONNABORTED)
;;;     &net-state-error              the object is not in a state that
;;;                                   allows the call (handshake not done,
;;;                                   no transport, ...)
;;;     &tls-error                    TLS failed (below, for (net tls))
;;;       &tls-verification-error     the peer's certificate was refused
;;;       &tls-priority-error         a priority string GnuTLS rejects
;;;       &tls-file-error             a certificate, key, trust or CRL
;;;                                   file could not be read
;;;     &dtls-message-too-large       a datagram would have been cut
;;;
;;; Each is a Guile exception type, so `guard' and `with-exception-handler'
;;; see them.  Failed system calls stay Guile `system-error's carrying errno,
;;; exactly as Guile's built-in socket procedures raise them, so `catch'
;;; keeps working; those with a meaning of their own above are raised as a
;;; compound of that condition and the `system-error', and likewise
;;; host-not-found is also a `getaddrinfo-error'.  A &net-state-error is
;;; also of Guile's throw kind `misc-error', which those calls raised before
;;; the condition existed.
;;;
;;; Every condition raised here has an origin, the procedure the user
;;; called (a symbol), and a message that is the whole text, so that
;;; `exception-message' and `exception-origin' are what a user reads; the
;;; REPL and uncaught-exception reports print them as "In procedure
;;; ORIGIN: MESSAGE", as Guile prints its own errors.

(define-module (net error)
  #:use-module (ice-9 exceptions)
  #:export (&net-error
            net-error?
            &net-timeout
            make-net-timeout-error
            net-timeout-error?
            net-timeout-operation
            net-timeout-object
            &host-not-found
            host-not-found-error?
            host-not-found-name
            &connection-refused
            connection-refused-error?
            &connection-reset
            connection-reset-error?
            &net-state-error
            make-net-state-error
            net-state-error?
            net-state-error-object
            net-error-errno
            %raise-timeout
            %raise-state-error
            %raise-system-error
            %raise-getaddrinfo-error))

(define-exception-type &net-error &error
  make-net-error net-error?)

(define-exception-type &net-timeout &net-error
  make-net-timeout-error net-timeout-error?
  (operation net-timeout-operation)   ; a symbol: connect, accept, read, ...
  (object net-timeout-object))        ; the socket or session that timed out

(define-exception-type &host-not-found &net-error
  make-host-not-found-error host-not-found-error?
  (name host-not-found-name))         ; the name that did not resolve

(define-exception-type &connection-refused &net-error
  make-connection-refused-error connection-refused-error?)

(define-exception-type &connection-reset &net-error
  make-connection-reset-error connection-reset-error?)

(define-exception-type &net-state-error &net-error
  make-net-state-error net-state-error?
  (object net-state-error-object))    ; the session, server or socket, or #f

(define (document! . procedures-and-docstrings)
  ;; define-exception-type makes procedures without docstrings.
  (let loop ((rest procedures-and-docstrings))
    (unless (null? rest)
      (set-procedure-property! (car rest) 'documentation (cadr rest))
      (loop (cddr rest)))))

(document!
 net-error? "Return #t if OBJ is a condition raised by Guile-Net."
 make-net-timeout-error "Make a timeout condition for OPERATION on OBJECT."
 net-timeout-error? "Return #t if OBJ is a timeout condition."
 net-timeout-operation "The operation (a symbol) that timed out."
 net-timeout-object "The socket or session on which the operation timed out."
 host-not-found-error? "Return #t if OBJ is a host-not-found condition."
 host-not-found-name "The name that did not resolve."
 connection-refused-error? "Return #t if OBJ is a connection-refused condition."
 connection-reset-error? "Return #t if OBJ is a connection-reset condition."
 make-net-state-error "Make a state-error condition about OBJECT (or #f)."
 net-state-error? "Return #t if OBJ says an object was not in a state that allows the call made on it."
 net-state-error-object "The session, server or socket whose state refused the call, or #f.")

(define (net-error-errno exn)
  "Return the errno of EXN if it is a system error or a &tls-file-error,
otherwise #f."
  (cond ((eq? (exception-kind exn) 'system-error)
         (let ((args (exception-args exn)))
           (and (= (length args) 4) (pair? (list-ref args 3))
                (car (list-ref args 3)))))
        ((tls-file-error? exn) (tls-file-error-errno exn))
        (else #f)))

(define (origin-symbol who)
  ;; The procedure WHO (a symbol, or a string from C) as an origin.
  (cond ((symbol? who) who)
        ((string? who) (string->symbol who))
        (else who)))

(define (%raise-system-error who errno)
  "Raise the system error ERRNO of procedure WHO (a string), as Guile's
`scm_syserror' would, compounded with our condition for ERRNO.  Called
from C for the errnos that have one.  Its exception-message is the text
of ERRNO, such as \"Connection refused\", and its exception-origin WHO
as a symbol; `catch' sees Guile's arguments, WHO a string."
  (let ((throw-exn (make-exception-from-throw
                    'system-error
                    (list who "~A" (list (strerror errno)) (list errno))))
        (ours (list (make-exception-with-origin (origin-symbol who))
                    (make-exception-with-message (strerror errno))
                    (make-exception-with-irritants '()))))
    (raise-exception
     (cond ((= errno ECONNREFUSED)
            (apply make-exception (make-connection-refused-error)
                   (append ours (list throw-exn))))
           ((memv errno (list ECONNRESET EPIPE ECONNABORTED))
            (apply make-exception (make-connection-reset-error)
                   (append ours (list throw-exn))))
           (else throw-exn)))))

(define (%raise-getaddrinfo-error code name)
  "Raise Guile's `getaddrinfo-error' with CODE, compounded with
&host-not-found when NAME does not exist.  Called from C.  The message
says what failed (\"host not found: NAME\", or gai-strerror's text) and
the origin is getaddrinfo."
  (let ((throw-exn (make-exception-from-throw 'getaddrinfo-error (list code)))
        (origin (make-exception-with-origin 'getaddrinfo)))
    (raise-exception
     (if (memv code (list EAI_NONAME EAI_NODATA EAI_FAIL EAI_ADDRFAMILY))
         (make-exception (make-host-not-found-error name)
                         origin
                         (make-exception-with-message
                          (format #f "host not found: ~a" name))
                         throw-exn)
         (make-exception origin
                         (make-exception-with-message
                          (let ((why (or (false-if-exception
                                          (gai-strerror code))
                                         (format #f "getaddrinfo error ~a"
                                                 code))))
                            (if name (format #f "~a: ~a" name why) why)))
                         throw-exn)))))

(define (%raise-timeout who operation object)
  "Raise a timeout condition: OPERATION (a symbol) on OBJECT did not
complete in time.  Called from C; WHO names the procedure."
  (raise-exception
   (make-exception (make-net-timeout-error operation object)
                   (make-exception-with-origin (origin-symbol who))
                   (make-exception-with-message
                    (format #f "~a timed out" operation))
                   (make-exception-with-irritants (list object)))))

;; Guile's core has the record type but (ice-9 exceptions) does not export
;; its constructor.
(define make-kind-and-args
  (record-constructor &exception-with-kind-and-args))

(define (format-escape text)
  ;; TEXT as a `format' string that prints TEXT.
  (string-join (string-split text #\~) "~~"))

(define (%raise-state-error who message object)
  "Raise a &net-state-error: WHO (a symbol, the procedure called) cannot
work on OBJECT in its present state, and MESSAGE (a string) says why in
full.  Called from C.  The exception is also of Guile's throw kind
`misc-error', with the arguments `scm_misc_error' gives it, so that
`(catch 'misc-error ...)' written before this condition existed still
catches it."
  (let ((text (if (string? message) message (format #f "~a" message)))
        (subr (cond ((symbol? who) (symbol->string who))
                    ((string? who) who)
                    (else #f))))
    (raise-exception
     (make-exception (make-kind-and-args
                      'misc-error (list subr (format-escape text) '() #f))
                     (make-net-state-error object)
                     (make-exception-with-origin (origin-symbol who))
                     (make-exception-with-message text)
                     (make-exception-with-irritants
                      (if object (list object) '()))))))

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
;;; reasons as English sentences.  A priority string GnuTLS rejects is
;;; the subtype &tls-priority-error (code GNUTLS_E_INVALID_REQUEST, not
;;; fatal), which also holds the string and the index where it went wrong.
;;;
;;; The raised exception also has the throw kind `gnutls-error' with
;;; exactly guile-gnutls's arguments (CODE PROCEDURE-NAME): CODE the
;;; integer of an error/ constant, PROCEDURE-NAME a symbol.  So
;;; `(catch 'gnutls-error ...)' written for (gnutls), whose handlers are
;;; `(lambda (key err proc) ...)', still catches it and sees what it
;;; expects; everything else is in the condition.

(use-modules (ice-9 format) (ice-9 match))

(export &tls-error make-tls-error tls-error?
        tls-error-code tls-error-name tls-error-message
        tls-error-alert tls-error-fatal?
        tls-premature-termination?
        &tls-verification-error make-tls-verification-error
        tls-verification-error?
        tls-verification-reasons tls-verification-words
        tls-verification-host tls-verification-status
        &tls-priority-error make-tls-priority-error tls-priority-error?
        tls-priority-error-string tls-priority-error-position
        &tls-file-error make-tls-file-error tls-file-error?
        tls-file-error-file tls-file-error-errno
        %raise-tls-error %raise-tls-verification-error
        %raise-tls-priority-error %raise-tls-file-error)

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

(define-exception-type &tls-priority-error &tls-error
  make-tls-priority-error tls-priority-error?
  (string tls-priority-error-string)      ; the priority string given
  (position tls-priority-error-position)) ; index of the first bad character

(define-exception-type &tls-file-error &tls-error
  make-tls-file-error tls-file-error?
  (file tls-file-error-file)              ; the file name, a string
  (errno tls-file-error-errno))           ; why: an errno, e.g. ENOENT

(define (tls-premature-termination? obj)
  "Return #t if OBJ is a TLS condition saying the peer closed the
connection without a TLS close_notify (a truncated connection)."
  (and (tls-error? obj)
       (eq? (tls-error-name obj) 'GNUTLS_E_PREMATURE_TERMINATION)))

;; The report of an uncaught `gnutls-error' has only its arguments, the
;; code and the procedure, to go by: it shows GnuTLS's message for the
;; code.  The whole message (why a certificate was refused, which file
;; could not be read) is kept here for the exceptions whose arguments
;; the report receives unchanged (Guile's report of an uncaught exception,
;; print-exception given exception-args), and for the last one this
;; thread raised (the REPL's report, whose catch handler gets a copy).
(define full-messages (make-weak-key-hash-table))
(define last-raised (make-thread-local-fluid #f))

(define* (tls-exception who code tls message #:optional (irritants '()))
  (let* ((who (origin-symbol who))
         (args (list code who)))
    (hashq-set! full-messages args message)
    (fluid-set! last-raised (cons args message))
    (make-exception (make-kind-and-args 'gnutls-error args)
                    tls
                    (make-exception-with-origin who)
                    (make-exception-with-message message)
                    (make-exception-with-irritants irritants))))

(define (gnutls-error-text args)
  ;; What to print for a `gnutls-error' with ARGS (CODE PROC).
  (or (hashq-ref full-messages args)
      (let ((last (fluid-ref last-raised)))
        (and last (equal? (car last) args) (cdr last)))
      (let ((code (car args)))
        (or (false-if-exception
             ((module-ref (resolve-interface '(net tls)) 'error->string) code))
            (format #f "GnuTLS error ~s" code)))))

(define (%raise-tls-error who code name message alert fatal?)
  "Raise a TLS condition for GnuTLS error CODE in WHO.  Called from C.
MESSAGE is GnuTLS's description of CODE, or a sentence saying what is
wrong with what WHO was given (credentials, certificates, keys)."
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

(define (%raise-tls-file-error who code name file errno)
  "Raise a &tls-file-error: WHO could not read FILE, for the reason
ERRNO.  CODE is GnuTLS's GNUTLS_E_FILE_ERROR, named NAME.  Called from
C.  The message names the file and the reason, as in \"cannot read
/etc/x.pem: No such file or directory\"; FILE is the irritant."
  (let ((text (format #f "cannot read ~a: ~a" file
                      (or (false-if-exception (strerror errno))
                          (format #f "error ~a" errno)))))
    (raise-exception
     (tls-exception who code
                    (make-tls-file-error code name text #f #t file errno)
                    text (list file)))))

(define (%raise-tls-priority-error who code name string position)
  "Raise a &tls-priority-error: GnuTLS rejected the priority STRING from
character POSITION on, with error CODE (GNUTLS_E_INVALID_REQUEST) named
NAME.  Called from C.  It is not fatal: the session keeps the priorities
it had."
  (let* ((rest (if (and (string? string) (exact-integer? position)
                        (<= 0 position (string-length string)))
                   (substring string position)
                   string))
         (text (format #f "invalid priority string at ~s" rest)))
    (raise-exception
     (tls-exception who code
                    (make-tls-priority-error code name text #f #f
                                             string position)
                    text))))

;; How the REPL and uncaught-exception reports show the `gnutls-error'
;; kind: "In procedure handshake: MESSAGE", as Guile prints its own
;; errors.  (Their line before it names the innermost frame, which may be
;; a primitive of ours such as %handshake; this line names the procedure
;; the user called.)
(set-exception-printer!
 'gnutls-error
 (lambda (port key args default-printer)
   (match args
     (((? exact-integer? code) (? symbol? proc))
      (format port "In procedure ~a: " proc)
      (display (gnutls-error-text args) port))
     (_ (default-printer)))))

;; Conditions of ours that are no throw (timeouts, messages too large)
;; print the same way; other exceptions as Guile prints them.
(let ((guile-printer
       (false-if-exception
        (module-ref (resolve-module '(ice-9 exceptions)) 'exception-printer))))
  (set-exception-printer!
   '%exception
   (lambda (port key args default-printer)
     (let ((e (and (pair? args) (null? (cdr args)) (car args))))
       (cond ((and e (net-error? e) (exception-with-message? e))
              (when (and (exception-with-origin? e) (exception-origin e))
                (format port "In procedure ~a: " (exception-origin e)))
              (display (exception-message e) port))
             (guile-printer (guile-printer port key args default-printer))
             (else (default-printer)))))))

(document!
 make-tls-error "Make a TLS condition: CODE NAME MESSAGE ALERT FATAL?."
 tls-error? "Return #t if OBJ is a TLS condition."
 tls-error-code "GnuTLS's error code, a negative integer."
 tls-error-name "The name of the GnuTLS error code, a symbol."
 tls-error-message "GnuTLS's description of the error."
 tls-error-alert "The alert the peer sent (a symbol), or #f."
 tls-error-fatal? "#t if the error ends the session."
 make-tls-verification-error "Make a certificate verification condition."
 tls-verification-error? "Return #t if OBJ is a certificate verification failure."
 tls-verification-reasons "Why verification failed: a list of symbols."
 tls-verification-words "Why verification failed: a list of English sentences."
 tls-verification-host "The host name the certificate was checked against, or #f."
 tls-verification-status "GnuTLS's verification status bits."
 make-tls-priority-error "Make a priority-string condition: CODE NAME MESSAGE ALERT FATAL? STRING POSITION."
 tls-priority-error? "Return #t if OBJ says GnuTLS rejected a priority string."
 tls-priority-error-string "The priority string GnuTLS rejected."
 tls-priority-error-position "The index in the priority string of the first character GnuTLS rejected."
 make-tls-file-error "Make a file condition: CODE NAME MESSAGE ALERT FATAL? FILE ERRNO."
 tls-file-error? "Return #t if OBJ says a certificate, key, trust or CRL file could not be read."
 tls-file-error-file "The file that could not be read."
 tls-file-error-errno "Why the file could not be read: an errno such as ENOENT.")

;;; ---- DTLS (for (net dtls)) ------------------------------------------------
;;;
;;; Datagrams are never cut: a message larger than a DTLS session can send
;;; in one datagram, or than the buffer given to receive it, is refused with
;;; this condition (a received one is kept for the next call).

(export &dtls-message-too-large make-dtls-message-too-large-error
        dtls-message-too-large? dtls-message-size dtls-message-limit
        dtls-message-session
        %raise-dtls-message-too-large)

(define-exception-type &dtls-message-too-large &net-error
  make-dtls-message-too-large-error dtls-message-too-large?
  (size dtls-message-size)        ; bytes in the message
  (limit dtls-message-limit)      ; bytes that fit
  (session dtls-message-session)) ; the DTLS session

(define (%raise-dtls-message-too-large who size limit session)
  "Raise a &dtls-message-too-large condition.  Called from C."
  (raise-exception
   (make-exception (make-dtls-message-too-large-error size limit session)
                   (make-exception-with-origin (origin-symbol who))
                   (make-exception-with-message
                    (format #f "a message of ~a bytes does not fit in ~a bytes"
                            size limit))
                   (make-exception-with-irritants (list size limit)))))

(document!
 make-dtls-message-too-large-error "Make a DTLS message-too-large condition: SIZE LIMIT SESSION."
 dtls-message-too-large? "Return #t if OBJ says a DTLS message was too large to send or receive."
 dtls-message-size "The size of the DTLS message refused, in bytes."
 dtls-message-limit "How many bytes would have fit: the data MTU, or the room in the buffer."
 dtls-message-session "The DTLS session the message was for.")
