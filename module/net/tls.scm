;;; (net tls) -- TLS sessions over GnuTLS, secure by default.
;;;
;;; Where guile-gnutls's (gnutls) has a procedure or constant, this module
;;; gives it the same name and arguments, so code written for (gnutls)
;;; runs with (net tls) in its place.  What differs:
;;;
;;; - a client verifies the server during `handshake' (certificate chain
;;;   against the system trust store or the trust given, host name given
;;;   with `set-session-server-name!', key purpose); a failure raises a
;;;   &tls-verification-error that says why.  `set-session-verify-peer!'
;;;   turns that off, explicitly;
;;; - sessions start with secure priorities: TLS 1.2 and 1.3 only;
;;; - the record port is buffered (2,000 bytes), suspendable on a non-blocking
;;;   transport, and closing it sends close_notify;
;;; - session information is right under TLS 1.3 too, and returned as
;;;   symbols such as TLS1.3 or AES-256-GCM;
;;; - ALPN, SNI on both sides, client certificates and resumption;
;;; - anonymous, PSK and SRP credentials bring their key exchanges into the
;;;   default priorities (an explicit priority string is taken as given);
;;; - errors are (net error) conditions that `(catch 'gnutls-error ...)'
;;;   still catches, with arguments (CODE PROCEDURE-NAME MESSAGE); error
;;;   codes are integers, e.g. `error/again'.

(define-module (net tls)
  #:use-module (net config)
  #:use-module (net error)
  #:use-module (net socket)
  #:use-module (net wait)
  #:use-module (oop goops)
  #:use-module ((ice-9 binary-ports) #:select (get-bytevector-all))
  #:re-export (&tls-error tls-error? tls-error-code tls-error-name
               tls-error-message tls-error-alert tls-error-fatal?
               tls-premature-termination?
               &tls-verification-error tls-verification-error?
               tls-verification-reasons tls-verification-words
               tls-verification-host tls-verification-status
               &tls-priority-error tls-priority-error?
               tls-priority-error-string tls-priority-error-position
               &net-timeout net-timeout-error?)
  #:export (;; sessions
            make-session session?
            connection-end/client connection-end/server
            connection-flag/datagram connection-flag/nonblock
            connection-flag/no-extensions
            set-session-transport-fd! set-session-transport-port!
            session-transport-port
            set-session-credentials! session-credentials
            set-session-priorities! set-session-default-priority!
            %default-priority-string
            set-session-server-name! session-server-name
            server-name-type/dns
            set-session-server-name-handler!
            set-session-verify-peer! session-verify-peer?
            set-session-client-certificate-request!
            set-server-session-certificate-request!
            certificate-request/ignore certificate-request/request
            certificate-request/require
            set-session-timeout!
            set-session-alpn-protocols! session-alpn-protocol
            handshake bye close-request/rdwr close-request/wr
            session-time-left
            session-side
            record-send record-receive!
            record-check-pending record-get-direction
            session-record-port tls-record-port? record-port-session
            set-tls-record-port-auto-flush!
            alert-get
            ;; information
            session-protocol session-cipher session-mac session-kx
            session-group session-description session-resumed?
            session-peer-certificate-chain peer-certificate-status
            session-data set-session-data!
            protocol->string cipher->string mac->string kx->string
            alert-description->string
            ;; credentials
            make-certificate-credentials certificate-credentials?
            set-certificate-credentials-x509-key-files!
            set-certificate-credentials-x509-key-data!
            set-certificate-credentials-x509-trust-file!
            set-certificate-credentials-x509-trust-data!
            set-certificate-credentials-system-trust!
            set-certificate-credentials-x509-crl-file!
            set-certificate-credentials-x509-crl-data!
            x509-certificate-format/pem x509-certificate-format/der
            set-certificate-credentials-x509-keys!
            ;; anonymous, PSK and SRP credentials
            make-anonymous-client-credentials
            make-anonymous-server-credentials
            anonymous-client-credentials? anonymous-server-credentials?
            set-anonymous-server-dh-parameters!
            make-psk-client-credentials make-psk-server-credentials
            psk-client-credentials? psk-server-credentials?
            set-psk-client-credentials! set-psk-server-credentials-file!
            server-session-psk-username
            psk-key-format/raw psk-key-format/hex psk-key-format->string
            make-srp-client-credentials make-srp-server-credentials
            srp-client-credentials? srp-server-credentials?
            set-srp-client-credentials! set-srp-server-credentials-files!
            server-session-srp-username
            srp-base64-encode srp-base64-decode
            ;; Diffie-Hellman parameters
            make-dh-parameters dh-parameters?
            pkcs3-import-dh-parameters pkcs3-export-dh-parameters
            set-session-dh-prime-bits!
            set-certificate-credentials-dh-parameters!
            params/dh params/rsa-export params->string
            ;; X.509
            import-x509-certificate export-x509-certificate
            x509-certificate?
            x509-certificate-dn x509-certificate-issuer-dn
            x509-certificate-subject-alternative-names
            x509-certificate-activation-time
            x509-certificate-expiration-time
            x509-certificate-fingerprint
            x509-certificate-matches-hostname?
            import-x509-private-key pkcs8-import-x509-private-key
            x509-private-key?
            make-self-signed-certificate
            load-x509-certificate load-x509-private-key
            ;; errors
            error->string
            error/again error/interrupted error/premature-termination
            error/certificate-verification-error
            error/fatal-alert-received error/warning-alert-received
            error/unexpected-packet-length error/decryption-failed
            error/no-certificate-found error/certificate-required
            error/invalid-session
            ;; internal, for (web server https)
            %set-session-read-ahead! %session-input-buffered?))

;; Loaded at expansion time too, so the compiler sees the primitives.
(eval-when (expand load eval)
  (load-guile-net-extension "scm_init_guile_net_tls"))

;;; How a session prints at the REPL: side, protocol, cipher, peer.

(define (print-session session port)
  (let ((protocol (false-if-exception (session-protocol session)))
        (peer (false-if-exception (session-server-name session))))
    (format port "#<session ~a ~a~a>"
            (session-side session)
            (if protocol
                (format #f "~a ~a" protocol
                        (false-if-exception (session-cipher session)))
                "(no handshake yet)")
            (if peer (string-append " peer " peer) ""))))

(let ((<session> (class-of (make-session connection-end/client))))
  (define-method (write (session <session>) port)
    (print-session session port))
  (define-method (display (session <session>) port)
    (print-session session port)))

;;; How credentials, certificates and keys print: what they hold.
;;;
;;;   #<certificate-credentials chain ("CN=localhost" "CN=Test CA"), trusting 1 certificate>
;;;   #<x509-certificate "CN=localhost" expires 2027-01-15 10:00:00 UTC>
;;;   #<x509-private-key EC/ECDSA 256 bits>

(define (plural n word)
  (format #f "~a ~a~a" n word (if (= n 1) "" "s")))

(define (utc-time t)
  (strftime "%Y-%m-%d %H:%M:%S UTC" (gmtime t)))

(define (credentials-description cred)
  ;; The words after #<certificate-credentials.
  (let* ((summary (%certificate-credentials-summary cred))
         (get (lambda (key) (assq-ref summary key)))
         (trusted (get 'trusted))
         (system (get 'system))
         (system-trusted (get 'system-trusted))
         (trust (cond ((and (> trusted 0) system)
                       (format #f "trusting ~a and the system store (~a)"
                               (plural trusted "certificate")
                               (plural system-trusted "certificate")))
                      ((> trusted 0)
                       (string-append "trusting " (plural trusted "certificate")))
                      (system
                       (format #f "trusting the system store (~a)"
                               (plural system-trusted "certificate")))
                      (else
                       "no trust given (the system store at the first handshake)")))
         (parts (append (if (get 'default?) '("default") '())
                        (map (lambda (chain) (format #f "chain ~s" chain))
                             (get 'chains))
                        (list trust)
                        (if (> (get 'crls) 0)
                            (list (plural (get 'crls) "CRL"))
                            '()))))
    (string-join parts ", ")))

(define (print-credentials cred port)
  (format port "#<certificate-credentials ~a>" (credentials-description cred)))

(define (print-certificate cert port)
  (let ((dn (false-if-exception (x509-certificate-dn cert)))
        (end (false-if-exception (x509-certificate-expiration-time cert))))
    (format port "#<x509-certificate ~s~a>" (or dn "?")
            (if end
                (format #f " ~a ~a" (if (< end (current-time)) "expired" "expires")
                        (utc-time end))
                ""))))

(define (print-private-key key port)
  (let ((info (%x509-private-key-info key)))
    (format port "#<x509-private-key ~a ~a>" (car info)
            (plural (cdr info) "bit"))))

(let ((<certificate-credentials> %certificate-credentials-type)
      (<x509-certificate> %x509-certificate-type)
      (<x509-private-key> %x509-private-key-type))
  (define-method (write (cred <certificate-credentials>) port)
    (print-credentials cred port))
  (define-method (display (cred <certificate-credentials>) port)
    (print-credentials cred port))
  (define-method (write (cert <x509-certificate>) port)
    (print-certificate cert port))
  (define-method (display (cert <x509-certificate>) port)
    (print-certificate cert port))
  (define-method (write (key <x509-private-key>) port)
    (print-private-key key port))
  (define-method (display (key <x509-private-key>) port)
    (print-private-key key port)))

;;; How anonymous, PSK and SRP credentials and DH parameters print: who
;;; and which files, never a key or a password.
;;;
;;;   #<psk-client-credentials user "alice">
;;;   #<srp-server-credentials files "/etc/tpasswd" "/etc/tpasswd.conf">
;;;   #<dh-parameters 2048 bits>

(define (print-kind-credentials cred port)
  (let* ((summary (%credentials-kind-summary cred))
         (get (lambda (key) (assq-ref summary key)))
         (files (get 'files))
         (parts (append (if (get 'user)
                            (list (format #f "user ~s" (get 'user)))
                            '())
                        (if (pair? files)
                            (list (string-join
                                   (cons (if (null? (cdr files)) "file" "files")
                                         (map (lambda (f) (format #f "~s" f))
                                              files))
                                   " "))
                            '())
                        (if (get 'dh?) '("DH parameters") '()))))
    (format port "#<~a~a>" (get 'type)
            (if (null? parts) "" (string-append " " (string-join parts ", "))))))

(define (print-dh-parameters params port)
  (let ((bits (%dh-parameters-bits params)))
    (format port "#<dh-parameters~a>"
            (if bits (string-append " " (plural bits "bit")) ""))))

(for-each (lambda (<credentials>)
            (define-method (write (cred <credentials>) port)
              (print-kind-credentials cred port))
            (define-method (display (cred <credentials>) port)
              (print-kind-credentials cred port)))
          %credentials-kind-types)

(let ((<dh-parameters> %dh-parameters-type))
  (define-method (write (params <dh-parameters>) port)
    (print-dh-parameters params port))
  (define-method (display (params <dh-parameters>) port)
    (print-dh-parameters params port)))

;;; What waits: handshake, bye, record-send, record-receive! and the record
;;; port.  On a blocking transport the C primitives wait themselves.  On a
;;; non-blocking one under suspendable ports they return %would-block and
;;; (net wait)'s loop waits in the current read or write waiter, so a
;;; scheduler such as fibers suspends there; sessions made with
;;; connection-flag/nonblock, and non-blocking descriptors without
;;; suspendable ports, raise the non-fatal error/again, as guile-gnutls does.

(define (raw-handshake session)
  (perform-operation (%handshake session)
                     (%session-operation session 'handshake)))

(define (handshake session)
  ;; A deferred handshake (defer-handshake! below) runs with its timeouts
  ;; and checks; any other handshake is the session's own.
  (let ((port (%session-open-record-port session)))
    (if (and port (%record-port-before-io port))
        (run-before-io port)
        (raw-handshake session))))

(define (bye session how)
  ;; What was written to the record port goes before close_notify, and a
  ;; deferred handshake before both.
  (let ((port (%session-open-record-port session)))
    (when port
      (run-before-io port)
      (force-output port)))
  (perform-operation (%bye session how) (%session-operation session 'bye)))

(define (record-send session bv)
  (perform-operation (%record-send session bv)
                     (%session-operation session 'write)))

(define (record-receive! session bv)
  (perform-operation (%record-receive! session bv)
                     (%session-operation session 'read)))

(define suspendable-note "
Under suspendable ports, a session on a non-blocking transport waits in the
current read or write waiter instead of raising error/again, unless it was
made with connection-flag/nonblock.")

(for-each (lambda (wrapper primitive)
            (set-procedure-property!
             wrapper 'documentation
             (string-append (procedure-documentation primitive)
                            suspendable-note)))
          (list handshake bye record-send record-receive!)
          (list %handshake %bye %record-send %record-receive!))

;;; A deferred handshake.  An accept loop that did each handshake itself
;;; would wait for every client in turn, and one client that connects and
;;; says nothing would hold up all the others for the whole handshake
;;; timeout.  So the one-call servers (socket-accept on a TLS server socket,
;;; tcp-accept/tls) return the record port at once and leave the handshake
;;; to its first read or write, or to an explicit `handshake' of its
;;; session, in the thread or task that uses the port, as Go's TLS listener
;;; does.  The port a caller reads from is still verified, or fails with the
;;; handshake's error: that read raises it, and so does every later read,
;;; write or handshake of the port.
;;;
;;; The C port runs the thunk before its reads and writes (tls-port.c);
;;; under suspendable ports the hooks below run it here first, so that it
;;; may suspend.

(define (run-before-io port)
  (let ((thunk (%record-port-before-io port)))
    (when thunk (thunk))))

(define (defer-handshake! port start)
  "Internal, for (net socket) and (net tcp): make record PORT call START,
the handshake with its timeouts and checks, before its first read or
write or on an explicit `handshake' of its session.  A failure of START
is raised again by every later read, write or handshake of PORT."
  (%set-record-port-before-io!
   port
   (lambda ()
     ;; Cleared first: START handshakes, and may write the port (a
     ;; verifier's refusal says goodbye, which flushes it).
     (%set-record-port-before-io! port #f)
     (with-exception-handler
         (lambda (e)
           (%set-record-port-before-io! port (lambda () (raise-exception e)))
           (raise-exception e))
       start))))

;; Guile's suspendable reads and writes call these for record ports.
(%set-record-port-scm-io!
 (lambda (port bv start count)
   (run-before-io port)
   (when (%record-port-auto-flush? port)
     (force-output port))
   (perform-operation (%record-port-read! port bv start count)
                      (%session-operation (record-port-session port)
                                          'port-read)))
 (lambda (port bv start count)
   (run-before-io port)
   (perform-operation (%record-port-write! port bv start count)
                      (%session-operation (record-port-session port)
                                          'port-write))))

(define (set-server-session-certificate-request! session request)
  "guile-gnutls's name for @code{set-session-client-certificate-request!}:
REQUEST is one of the @code{certificate-request/} constants."
  (set-session-client-certificate-request! session request))

;;; X.509 from files.

(define (file-bytevector file)
  (call-with-input-file file get-bytevector-all #:binary #t))

(define* (load-x509-certificate file #:optional
                                (format x509-certificate-format/pem))
  "Return the X.509 certificate in FILE, PEM by default or FORMAT."
  (import-x509-certificate (file-bytevector file) format))

(define* (load-x509-private-key file #:optional
                                (format x509-certificate-format/pem) password)
  "Return the private key in FILE, PEM by default or FORMAT; PASSWORD, a
string, decrypts an encrypted PKCS #8 key."
  (import-x509-private-key (file-bytevector file) format password))

;; Session information is symbols; these give guile-gnutls's
;; `protocol->string' and friends something to convert.
(define (protocol->string p) "Return protocol P's name." (symbol->string p))
(define (cipher->string c) "Return cipher C's name." (symbol->string c))
(define (mac->string m) "Return MAC M's name." (symbol->string m))
(define (kx->string k) "Return key exchange K's name." (symbol->string k))
(define (alert-description->string a)
  "Return alert A's name, e.g. \"unknown-ca\"."
  (symbol->string a))

(define* (pkcs8-import-x509-private-key data format #:optional password
                                       (encrypted? (and password #t)))
  "As in guile-gnutls: import the PKCS #8 private key in bytevector DATA,
of FORMAT (x509-certificate-format/pem or /der), decrypting it with
PASSWORD when ENCRYPTED? (by default, when a password is given)."
  (import-x509-private-key data format (and encrypted? password)))
