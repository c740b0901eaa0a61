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
;;;   still catches, with guile-gnutls's arguments (CODE PROCEDURE-NAME);
;;;   error codes are integers, e.g. `error/again';
;;; - the constants of guile-gnutls's enum families are symbols where they
;;;   describe a session (cipher/aes-256-gcm is the symbol AES-256-GCM
;;;   that session-cipher returns) and GnuTLS's integers where they are
;;;   options or flags (libguile-net/tls-names.c).

(define-module (net tls)
  #:use-module (net config)
  #:use-module (net error)
  #:use-module (net socket)
  #:use-module (net wait)
  #:use-module (oop goops)
  #:use-module ((ice-9 binary-ports) #:select (get-bytevector-all))
  #:use-module ((rnrs bytevectors) #:select (bytevector?))
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
            rehandshake reauthenticate
            session-time-left
            session-side
            record-send record-receive!
            record-check-pending record-get-direction
            session-record-port tls-record-port? record-port-session
            set-session-record-port-close!
            set-tls-record-port-auto-flush!
            alert-get alert-send
            ;; information
            session-protocol session-cipher session-mac session-kx
            session-group session-description session-resumed?
            session-peer-certificate-chain peer-certificate-status
            session-our-certificate-chain
            session-data set-session-data!
            session-authentication-type session-server-authentication-type
            session-client-authentication-type
            session-certificate-type session-compression-method
            ;; GnuTLS's log
            set-log-procedure! set-log-level!
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
            set-certificate-credentials-verify-flags!
            set-certificate-credentials-verify-limits!
            ;; OpenPGP: gone from GnuTLS; these raise
            openpgp-certificate? openpgp-private-key? openpgp-keyring?
            import-openpgp-certificate import-openpgp-private-key
            import-openpgp-keyring
            openpgp-certificate-id openpgp-certificate-id!
            openpgp-certificate-fingerprint openpgp-certificate-fingerprint!
            openpgp-certificate-name openpgp-certificate-names
            openpgp-certificate-algorithm openpgp-certificate-version
            openpgp-certificate-usage openpgp-keyring-contains-key-id?
            set-certificate-credentials-openpgp-keys!
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
            x509-certificate-version x509-certificate-serial
            x509-certificate-dn-oid x509-certificate-issuer-dn-oid
            x509-certificate-key-id x509-certificate-subject-key-id
            x509-certificate-authority-key-id
            x509-certificate-subject-alternative-name
            x509-certificate-key-usage x509-certificate-key-purposes
            x509-certificate-public-key-algorithm
            x509-certificate-signature-algorithm
            x509-certificate-ca-status
            import-x509-private-key pkcs8-import-x509-private-key
            x509-private-key?
            make-self-signed-certificate
            load-x509-certificate load-x509-private-key
            ;; X.509: making certificates and keys
            generate-x509-private-key export-x509-private-key
            pkcs8-export-x509-private-key
            make-x509-certificate
            set-x509-certificate-version! set-x509-certificate-serial!
            set-x509-certificate-dn-by-oid!
            set-x509-certificate-activation-time!
            set-x509-certificate-expiration-time!
            set-x509-certificate-key! set-x509-certificate-key-usage!
            set-x509-certificate-ca-status!
            set-x509-certificate-subject-key-id!
            add-x509-certificate-subject-alternative-name!
            add-x509-certificate-key-purpose!
            sign-x509-certificate!
            ;; The constants, FAMILY->string, error/ codes, error->string,
            ;; fatal-error?, gnutls-version, cipher-suite->string, and
            ;; X.509's families of values (pk-algorithm/, sign-algorithm/,
            ;; digest/, key-usage/, x509-subject-alternative-name/,
            ;; privkey/, oid/, their ->string, oid->string,
            ;; x509-certificate-format->string): from the tables of
            ;; libguile-net/tls-names.c, tls-errors.c and tls-x509-names.c,
            ;; exported below.
            ;; internal, for (web server https)
            %set-session-read-ahead! %session-input-buffered?
            ;; internal, for tests
            %session-read-ahead-held?))

;; Loaded at expansion time too, so the compiler sees the primitives.
(eval-when (expand load eval)
  (load-guile-net-extension "scm_init_guile_net_tls"))

;; Every constant of guile-gnutls's enum families and error codes, and
;; their FAMILY->string procedures, defined by the extension from its
;; tables.
(eval-when (expand load eval)
  (module-export! (current-module) (%tls-name-bindings)))

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

(define (alert-send session level description)
  ;; What was written to the record port goes first, as with bye; not a
  ;; deferred handshake, though: an alert may be what refuses a peer.
  (let ((port (%session-open-record-port session)))
    (when (and port (not (%record-port-before-io port)))
      (force-output port)))
  (perform-operation (%alert-send session level description)
                     (%session-operation session 'alert)))

(define (bye session how)
  ;; What was written to the record port goes before close_notify, and a
  ;; deferred handshake before both.
  (let ((port (%session-open-record-port session)))
    (when port
      (run-before-io port)
      (force-output port)))
  (perform-operation (%bye session how) (%session-operation session 'bye)))

(define (rehandshake session)
  ;; What the record port buffered goes first, under the old keys.
  (let ((port (%session-open-record-port session)))
    (when port (force-output port)))
  (perform-operation (%rehandshake session)
                     (%session-operation session 'rehandshake)))

(define (reauthenticate session)
  (let ((port (%session-open-record-port session)))
    (when port (force-output port)))
  (perform-operation (%reauthenticate session)
                     (%session-operation session 'reauthenticate)))

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
          (list handshake bye rehandshake reauthenticate alert-send
                record-send record-receive!)
          (list %handshake %bye %rehandshake %reauthenticate %alert-send
                %record-send %record-receive!))

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

;;; A self-signed certificate, made with the generation procedures.

(define (ip-address? text)
  (or (false-if-exception (inet-pton AF_INET text))
      (false-if-exception (inet-pton AF_INET6 text))))

(define* (make-self-signed-certificate host #:optional (days 30))
  "Make a new ECDSA P-256 key and a self-signed certificate for HOST (a
DNS name or an IP address), valid from a minute ago for DAYS days (default
30), for servers and clients.  Return two values, the certificate and the
key (PKCS #8), both PEM bytevectors.  For development and tests: a peer
trusts it only when given it as trust."
  (define who "make-self-signed-certificate")
  (unless (string? host)
    (scm-error 'wrong-type-arg who "Wrong type argument in position ~A: ~S"
               (list 1 host) (list host)))
  (when (or (string-null? host) (string-index host #\nul))
    (scm-error 'out-of-range who
               "Argument ~A out of range (a host name or address): ~S"
               (list 1 host) (list host)))
  (unless (exact-integer? days)
    (scm-error 'wrong-type-arg who "Wrong type argument in position ~A: ~S"
               (list 2 days) (list days)))
  (unless (<= 1 days 36500)
    (scm-error 'out-of-range who
               "Argument ~A out of range (1 to 36500 days): ~S"
               (list 2 days) (list days)))
  (let ((key (generate-x509-private-key pk-algorithm/ecdsa 256))
        (cert (make-x509-certificate))
        (now (current-time)))
    (set-x509-certificate-version! cert 3)
    (set-x509-certificate-activation-time! cert (- now 60))
    (set-x509-certificate-expiration-time! cert (+ now (* days 86400)))
    (set-x509-certificate-dn-by-oid! cert oid/x520-common-name host)
    (add-x509-certificate-subject-alternative-name!
     cert (if (ip-address? host)
              x509-subject-alternative-name/ipaddress
              x509-subject-alternative-name/dnsname)
     host)
    (set-x509-certificate-ca-status! cert #f)
    (set-x509-certificate-key-usage! cert (list key-usage/digital-signature))
    (add-x509-certificate-key-purpose! cert 'tls-www-server)
    (add-x509-certificate-key-purpose! cert 'tls-www-client)
    (set-x509-certificate-key! cert key)
    (sign-x509-certificate! cert cert key digest/sha256)
    (values (export-x509-certificate cert x509-certificate-format/pem)
            (pkcs8-export-x509-private-key key x509-certificate-format/pem))))


(define* (pkcs8-import-x509-private-key data format #:optional password
                                       (encrypted? (and password #t)))
  "As in guile-gnutls: import the PKCS #8 private key in bytevector DATA,
of FORMAT (x509-certificate-format/pem or /der), decrypting it with
PASSWORD when ENCRYPTED? (by default, when a password is given)."
  (import-x509-private-key data format (and encrypted? password)))

;;; OpenPGP.  guile-gnutls still has these names, but GnuTLS dropped
;;; OpenPGP certificates in 3.6: each raises a &tls-error whose code is
;;; error/unimplemented-feature (after checking what it can of its
;;; arguments); the predicates answer #f, since no such object exists.

(define (openpgp-unsupported who)
  (%raise-tls-error who error/unimplemented-feature
                    'GNUTLS_E_UNIMPLEMENTED_FEATURE
                    "GnuTLS no longer supports OpenPGP certificates (removed in GnuTLS 3.6); use X.509"
                    #f #t))

(define (check-openpgp-data who data format)
  (unless (bytevector? data)
    (scm-error 'wrong-type-arg (symbol->string who)
               "Wrong type argument in position ~A: ~S"
               (list 1 data) (list data)))
  (openpgp-certificate-format->string format))   ; wrong-type-arg if not one

(define-syntax-rule (define-openpgp (name arg ...) doc check ...)
  (define (name arg ...)
    doc
    check ...
    (openpgp-unsupported 'name)))

(define (openpgp-certificate? obj)
  "Return #f: there are no OpenPGP certificates (GnuTLS dropped them)."
  #f)
(define (openpgp-private-key? obj)
  "Return #f: there are no OpenPGP private keys (GnuTLS dropped them)."
  #f)
(define (openpgp-keyring? obj)
  "Return #f: there are no OpenPGP keyrings (GnuTLS dropped them)."
  #f)

(define* (import-openpgp-certificate data format)
  "Raise a &tls-error (error/unimplemented-feature): GnuTLS no longer
imports OpenPGP certificates.  DATA must be a bytevector and FORMAT an
openpgp-certificate-format/ value."
  (check-openpgp-data 'import-openpgp-certificate data format)
  (openpgp-unsupported 'import-openpgp-certificate))

(define* (import-openpgp-private-key data format #:optional password)
  "Raise a &tls-error (error/unimplemented-feature): GnuTLS no longer
imports OpenPGP private keys.  DATA must be a bytevector and FORMAT an
openpgp-certificate-format/ value."
  (check-openpgp-data 'import-openpgp-private-key data format)
  (openpgp-unsupported 'import-openpgp-private-key))

(define (import-openpgp-keyring data format)
  "Raise a &tls-error (error/unimplemented-feature): GnuTLS no longer
imports OpenPGP keyrings.  DATA must be a bytevector and FORMAT an
openpgp-certificate-format/ value."
  (check-openpgp-data 'import-openpgp-keyring data format)
  (openpgp-unsupported 'import-openpgp-keyring))

(define (set-certificate-credentials-openpgp-keys! cred pub sec)
  "Raise a &tls-error (error/unimplemented-feature): GnuTLS credentials
no longer hold OpenPGP keys.  CRED must be certificate credentials."
  (unless (certificate-credentials? cred)
    (scm-error 'wrong-type-arg "set-certificate-credentials-openpgp-keys!"
               "Wrong type argument in position ~A: ~S"
               (list 1 cred) (list cred)))
  (openpgp-unsupported 'set-certificate-credentials-openpgp-keys!))

(define-openpgp (openpgp-certificate-id key)
  "Raise a &tls-error (error/unimplemented-feature): there are no
OpenPGP certificates.")
(define-openpgp (openpgp-certificate-id! key id)
  "Raise a &tls-error (error/unimplemented-feature): there are no
OpenPGP certificates.")
(define-openpgp (openpgp-certificate-fingerprint key)
  "Raise a &tls-error (error/unimplemented-feature): there are no
OpenPGP certificates.")
(define-openpgp (openpgp-certificate-fingerprint! key fpr)
  "Raise a &tls-error (error/unimplemented-feature): there are no
OpenPGP certificates.")
(define-openpgp (openpgp-certificate-name key index)
  "Raise a &tls-error (error/unimplemented-feature): there are no
OpenPGP certificates.")
(define-openpgp (openpgp-certificate-names key)
  "Raise a &tls-error (error/unimplemented-feature): there are no
OpenPGP certificates.")
(define-openpgp (openpgp-certificate-algorithm key)
  "Raise a &tls-error (error/unimplemented-feature): there are no
OpenPGP certificates.")
(define-openpgp (openpgp-certificate-version key)
  "Raise a &tls-error (error/unimplemented-feature): there are no
OpenPGP certificates.")
(define-openpgp (openpgp-certificate-usage key)
  "Raise a &tls-error (error/unimplemented-feature): there are no
OpenPGP certificates.")
(define-openpgp (openpgp-keyring-contains-key-id? keyring id)
  "Raise a &tls-error (error/unimplemented-feature): there are no
OpenPGP keyrings.")
