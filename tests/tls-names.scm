;;; guile-gnutls's constants and small procedures in (net tls): every enum
;;; family's values are distinct (but for guile-gnutls's and GnuTLS's
;;; aliases) and have a ->string; the symbols real sessions return are
;;; eq? to the constants (real handshakes between our client and server
;;; on loopback, certificates made by certtool); guile-gnutls's
;;; (lambda (key err proc) ...) handlers catch real failures; fatal-error?;
;;; alert-send seen by our peer and by gnutls-cli, and a fatal alert
;;; ending the peer's handshake; GnuTLS's log during a real handshake, and
;;; a log procedure that raises or escapes; verification flags and limits
;;; honoured by the handshake's verification; make-session's flags; the
;;; OpenPGP names.  Every wait is bounded.

(use-modules (tests harness)
             (tests tls-common)
             (srfi srfi-1)
             (srfi srfi-11)
             (srfi srfi-64)
             (ice-9 exceptions)
             (ice-9 match)
             (ice-9 popen)
             (ice-9 rdelim)
             (ice-9 regex)
             (ice-9 threads)
             (rnrs bytevectors)
             (net tls)
             (net error)
             (net socket))

(define tls-interface (resolve-interface '(net tls)))

(define tls1.2 (string-append (%default-priority-string) ":-VERS-TLS1.3"))

(define (family-names family)
  "The names FAMILY/... that (net tls) exports, sorted."
  (let ((prefix (string-append family "/")))
    (sort (filter (lambda (name)
                    (string-prefix? prefix (symbol->string name)))
                  (module-map (lambda (name var) name) tls-interface))
          (lambda (a b) (string<? (symbol->string a) (symbol->string b))))))

(define (value-of name) (module-ref tls-interface name))

(define (to-string-of family)
  (module-ref tls-interface (string->symbol (string-append family "->string"))))

(define (raised thunk)
  (with-exception-handler (lambda (e) e)
    (lambda () (thunk) #f)
    #:unwind? #t))

(define (error-kind e) (and (exception? e) (exception-kind e)))

;; Family, kind of its values, and the names that are aliases of another
;; (the same value), guile-gnutls's own.
(define families
  '(("alert-description" symbol ())
    ("alert-level" symbol ())
    ("certificate-status" symbol ())
    ("certificate-verify" integer
     ((allow-x509-v1-ca-certificate allow-x509-v1-ca-crt)
      (allow-any-x509-v1-ca-certificate allow-any-x509-v1-ca-crt)))
    ("cipher" symbol
     ((arcfour arcfour-128) (aes-128-cbc rijndael-128-cbc rijndael-cbc)
      (aes-256-cbc rijndael-256-cbc)))
    ("kx" symbol ())
    ("mac" symbol ())
    ("protocol" symbol ())
    ("compression-method" symbol ())
    ("certificate-type" symbol ())
    ("credentials" symbol ((anon anonymous)))
    ("handshake-description" symbol ())
    ("connection-flag" integer ())
    ("connection-end" integer ())
    ("close-request" integer ())
    ("certificate-request" integer ())
    ("server-name-type" integer ())
    ("openpgp-certificate-format" integer ())))

;; GnuTLS's aliases among its error codes (gnutls.h).
(define error-aliases
  '((insufficient-credentials insufficient-cred insuficient-cred
                              insuficient-credentials)
    (tls-packet-decoding-error unexpected-packet-length)
    (keyfile-error srp-pwd-error)
    (keyfile-parsing-error srp-pwd-parsing-error)
    (certificate-error x509-certificate-error)
    (already-registered crypto-already-registered)
    (incompatible-crypto-library incompatible-gcrypt-library)))

(define (same-value-groups names)
  "NAMES grouped by value, groups of more than one, as sorted lists of the
names after the slash."
  (let ((table (make-hash-table)))
    (for-each (lambda (name)
                (hash-set! table (value-of name)
                           (cons name (hash-ref table (value-of name) '()))))
              names)
    (sort (filter-map
           (lambda (group)
             (and (> (length group) 1)
                  (sort (map (lambda (n)
                               (string->symbol
                                (cadr (string-split (symbol->string n) #\/))))
                             group)
                        (lambda (a b)
                          (string<? (symbol->string a) (symbol->string b))))))
           (hash-map->list (lambda (k v) v) table))
          (lambda (a b) (string<? (symbol->string (car a))
                                  (symbol->string (car b)))))))

(define (sorted-groups groups)
  (sort (map (lambda (g)
               (sort g (lambda (a b)
                         (string<? (symbol->string a) (symbol->string b)))))
             groups)
        (lambda (a b) (string<? (symbol->string (car a))
                                (symbol->string (car b))))))

;;; A server in a thread for one connection, a client here.

(define* (one-connection #:key (server-cert "server")
                         (server-setup (lambda (s) #t))
                         (server-body (lambda (s) #t))
                         (server-handshake? #t)
                         client)
  "Serve one connection with SERVER-SETUP, a handshake (unless
SERVER-HANDSHAKE? is #f) and SERVER-BODY in a thread; call CLIENT here
with the port number.  Return two values: what CLIENT and the server
returned (or raised)."
  (call-with-values
      (lambda ()
        (serve-one-tls #:server-cert server-cert #:server-setup server-setup
                       #:server-body server-body
                       #:server-handshake? server-handshake?))
    (lambda (port finish)
      (let ((client-result (capture (lambda () (client port)))))
        (values client-result (finish))))))

(define* (client-session port #:key (verify? #t) (creds (client-credentials)))
  (let ((s (make-session connection-end/client))
        (conn (connect-loopback port)))
    (set-session-timeout! s 5)
    (set-session-credentials! s creds)
    (set-session-server-name! s server-name-type/dns "localhost")
    (unless verify? (set-session-verify-peer! s #f))
    (set-session-transport-port! s conn)
    s))

(run-tests "tls-names"

  (test-group "families"
    (for-each
     (match-lambda
       ((family kind aliases)
        (let* ((names (family-names family))
               (values (map value-of names))
               (->string (to-string-of family)))
          (test-assert (string-append family ": has values") (pair? names))
          (test-assert (string-append family ": values are "
                                      (symbol->string kind) "s")
            (every (if (eq? kind 'symbol) symbol? exact-integer?) values))
          (test-equal (string-append family ": distinct but for the aliases")
            (sorted-groups aliases)
            (same-value-groups names))
          (test-assert (string-append family "->string gives strings")
            (every (lambda (v) (string? (->string v))) values))
          (test-equal (string-append family "->string: aliases say the same")
            '()
            (filter (lambda (group)
                      (let ((strings
                             (map (lambda (n)
                                    (->string
                                     (value-of (symbol-append
                                                (string->symbol family) '/ n))))
                                  group)))
                        (not (every (lambda (s) (string=? s (car strings)))
                                    strings))))
                    aliases))
          (test-equal (string-append family "->string of a character: wrong-type-arg")
            'wrong-type-arg (error-kind (raised (lambda () (->string #\x)))))
          (test-equal (string-append family "->string of a stranger: out-of-range")
            'out-of-range
            (error-kind (raised (lambda ()
                                  (->string (if (eq? kind 'symbol)
                                                'no-such-value
                                                123456789)))))))))
     families)

    (test-equal "guile-gnutls's values as symbols"
      '(ARCFOUR-128 AES-128-CBC ANON-DH SHA1 MAC-NULL TLS1.0 SSL3.0 TLS1.3
        unknown-ca fatal untrusted-issuer x509 anon null client-hello)
      (list cipher/arcfour cipher/rijndael-cbc kx/anon-dh mac/sha1 mac/null
            protocol/tls-1.0 protocol/ssl-3 protocol/tls-1.3
            alert-description/unknown-ca alert-level/fatal
            certificate-status/signer-not-found certificate-type/x509
            credentials/anonymous compression-method/null
            handshake-description/client-hello))
    (test-equal "->string as guile-gnutls says"
      '("AES-128-CBC" "RSA_AES_128_CBC_SHA1" "signer-not-found" "X.509"
        "NULL" "anon" "datagram" "client" "rdwr" "require" "dns" "raw"
        "disable-ca-sign" "finished" "warning" "unknown-ca")
      (list (cipher->string cipher/aes-128-cbc)
            (cipher-suite->string kx/rsa cipher/aes-128-cbc mac/sha1)
            (certificate-status->string certificate-status/signer-not-found)
            (certificate-type->string certificate-type/x509)
            (compression-method->string compression-method/null)
            (credentials->string credentials/anon)
            (connection-flag->string connection-flag/datagram)
            (connection-end->string connection-end/client)
            (close-request->string close-request/rdwr)
            (certificate-request->string certificate-request/require)
            (server-name-type->string server-name-type/dns)
            (openpgp-certificate-format->string openpgp-certificate-format/raw)
            (certificate-verify->string certificate-verify/disable-ca-sign)
            (handshake-description->string handshake-description/finished)
            (alert-level->string alert-level/warning)
            (alert-description->string alert-description/unknown-ca)))
    (test-equal "cipher-suite->string of no suite" #f
      (cipher-suite->string kx/psk cipher/arcfour-40 mac/md2))
    (test-equal "cipher-suite->string of a character: wrong-type-arg"
      'wrong-type-arg
      (error-kind (raised (lambda () (cipher-suite->string #\x cipher/null
                                                           mac/null)))))

    (let* ((names (family-names "error"))
           (codes (map value-of names)))
      (test-assert "error/: GnuTLS's codes, at least guile-gnutls's 200"
        (>= (length names) 200))
      (test-assert "error/: integers, none positive"
        (every (lambda (c) (and (exact-integer? c) (<= c 0))) codes))
      (test-equal "error/: distinct but for GnuTLS's aliases"
        (sorted-groups error-aliases)
        (same-value-groups names))
      (test-assert "error->string of each: a string"
        (every (lambda (c) (string? (error->string c))) codes))
      (test-assert "fatal-error? of each: a boolean"
        (every (lambda (c) (boolean? (fatal-error? c))) codes))
      (test-equal "error/ values are GnuTLS's"
        '(-28 -52 -110 -348 -12 -16 0 -1251 -65000)
        (list error/again error/interrupted error/premature-termination
              error/certificate-verification-error error/fatal-alert-received
              error/warning-alert-received error/success error/int-ret-0
              error/application-error-max)))
    (test-equal "fatal-error?"
      '(#f #f #f #t #t #t)
      (map fatal-error?
           (list error/again error/interrupted error/warning-alert-received
                 error/fatal-alert-received error/decryption-failed
                 error/certificate-verification-error)))
    (test-equal "fatal-error? of a character: wrong-type-arg" 'wrong-type-arg
      (error-kind (raised (lambda () (fatal-error? #\x)))))
    (test-equal "error->string" "Resource temporarily unavailable, try again."
      (error->string error/again))
    (test-assert "gnutls-version: the library's"
      (string-match "^[0-9]+\\.[0-9]+" (gnutls-version))))

  (test-group "make-session's flags"
    (test-assert "every connection-flag/ alone, client and server"
      (every (lambda (name)
               (and (session? (make-session connection-end/client
                                            (value-of name)))
                    (session? (make-session connection-end/server
                                            (value-of name)))))
             (family-names "connection-flag")))
    (test-assert "all of them at once, combined and separately"
      (let ((flags (map value-of (family-names "connection-flag"))))
        (and (session? (make-session connection-end/client
                                     (apply logior flags)))
             (session? (apply make-session connection-end/server flags)))))
    (test-equal "an unknown bit: out-of-range, argument 2"
      '(out-of-range 2)
      (let ((e (raised (lambda () (make-session connection-end/client
                                                (ash 1 30))))))
        (list (error-kind e) (car (list-ref (exception-args e) 2)))))
    (test-equal "a connection-end given as a flag: out-of-range"
      'out-of-range
      (error-kind (raised (lambda () (make-session connection-end/client
                                                   connection-end/server)))))
    (test-equal "a symbol: wrong-type-arg" 'wrong-type-arg
      (error-kind (raised (lambda () (make-session connection-end/client
                                                   'datagram)))))
    (test-equal "a negative number: out-of-range" 'out-of-range
      (error-kind (raised (lambda () (make-session connection-end/client -4))))))

  (test-group "what real sessions return"
    (let-values (((c s)
                  (tls-pair
                   #:client-body
                   (lambda (s)
                     (list (session-protocol s)
                           (session-authentication-type s)
                           (session-server-authentication-type s)
                           (session-client-authentication-type s)
                           (session-certificate-type s)
                           (session-compression-method s)
                           (session-cipher s)
                           (session-kx s)
                           (session-mac s)
                           ;; the server's answer, once it is done too
                           (read-line (session-record-port s))))
                   #:server-body
                   (lambda (s)
                     (let ((p (session-record-port s)))
                       (display "done\n" p)
                       (force-output p)
                       (list (session-protocol s)
                             (session-authentication-type s)))))))
      (match c
        ((protocol auth server-auth client-auth type compression cipher kx
                   mac server-line)
         (test-eq "session-protocol is protocol/tls-1.3" protocol/tls-1.3
           protocol)
         (test-assert "... one of the protocol/ constants"
           (memq protocol (map value-of (family-names "protocol"))))
         (test-equal "... case on it works" 'tls13
           (case protocol
             ((TLS1.3) 'tls13)
             ((TLS1.2) 'tls12)
             (else 'other)))
         (test-eq "session-authentication-type is credentials/certificate"
           credentials/certificate auth)
         (test-eq "server authentication: credentials/certificate"
           credentials/certificate server-auth)
         (test-eq "client authentication: credentials/certificate"
           credentials/certificate client-auth)
         (test-eq "session-certificate-type is certificate-type/x509"
           certificate-type/x509 type)
         (test-eq "session-compression-method is compression-method/null"
           compression-method/null compression)
         (test-assert "session-cipher is a cipher/ constant"
           (memq cipher (map value-of (family-names "cipher"))))
         (test-assert "session-mac is mac/aead" (eq? mac mac/aead))
         (test-assert "kx->string of session-kx" (string? (kx->string kx)))
         (test-assert "cipher-suite->string of what the session says"
           (string? (cipher-suite->string kx cipher mac))))
        (_ (test-assert (format #f "client: ~s" c) #f)))
      (test-equal "the server says the same"
        (list protocol/tls-1.3 credentials/certificate) s))
    (let-values (((c s)
                  (tls-pair
                   #:client-setup
                   (lambda (s)
                     (set-session-priorities!
                      s (string-append (%default-priority-string)
                                       ":-VERS-TLS1.3")))
                   #:client-body session-protocol)))
      (test-eq "a TLS 1.2 session: protocol/tls-1.2" protocol/tls-1.2 c))
    (test-equal "before the handshake: #f"
      '(#f #f #f #f)
      (let ((s (make-session connection-end/client)))
        (list (session-authentication-type s)
              (session-server-authentication-type s)
              (session-client-authentication-type s)
              (session-certificate-type s))))
    (let-values (((c s)
                  (tls-pair #:server-cert "untrusted"
                            #:client-setup
                            (lambda (s) (set-session-verify-peer! s #f))
                            #:client-body peer-certificate-status)))
      (test-assert "an untrusted chain: memq certificate-status/signer-not-found"
        (and (list? c) (memq certificate-status/signer-not-found c) #t))
      (test-assert "... and certificate-status->string of each, as Guile's web client prints them"
        (member "signer-not-found" (map certificate-status->string c)))))

  (test-group "guile-gnutls's handlers"
    (let-values (((c s)
                  (one-connection
                   #:server-cert "selfsigned"
                   #:client
                   (lambda (port)
                     (let ((s (client-session port)))
                       (catch 'gnutls-error
                         (lambda () (handshake s) 'no-error)
                         (lambda (key err proc)
                           (list key err proc))))))))
      (match c
        ((key err proc)
         (test-eq "key gnutls-error" 'gnutls-error key)
         (test-eq "err eq? to error/certificate-verification-error"
           error/certificate-verification-error err)
         (test-assert "err is one of the error/ constants"
           (memq err (map value-of (family-names "error"))))
         (test-eq "proc is the procedure, a symbol" 'handshake proc)
         (test-assert "fatal" (fatal-error? err)))
        (_ (test-assert (format #f "client: ~s" c) #f)))
      (test-assert "the server got our fatal alert: error/fatal-alert-received, unknown-ca"
        (and (tls-error? s)
             (eqv? (tls-error-code s) error/fatal-alert-received)
             (eq? (tls-error-alert s) alert-description/unknown-ca))))
    (test-equal "the report of an error caught by such a handler keeps the whole message"
      "In procedure set-session-priorities!: invalid priority string at \"+BOGUS\""
      (catch 'gnutls-error
        (lambda ()
          (set-session-priorities! (make-session connection-end/client)
                                   "NORMAL:+BOGUS"))
        (lambda (key . args)
          (string-trim-right
           (call-with-output-string
             (lambda (port) (print-exception port #f key args)))))))
    (test-equal "a gnutls-error throw of our own: error->string of the code"
      (string-append "In procedure frob: " (error->string error/no-cipher-suites))
      (string-trim-right
       (call-with-output-string
         (lambda (port)
           (print-exception port #f 'gnutls-error
                            (list error/no-cipher-suites 'frob))))))
    (let* ((pipe (open-pipe* OPEN_READ "sh" "-c"
                             (string-append
                              "timeout 30 guile --no-auto-compile -c "
                              (shell-quote
                               "(use-modules (net tls)) (set-session-priorities! (make-session connection-end/client) \"NORMAL:+BOGUS\")")
                              " 2>&1")))
           (out (read-string pipe)))
      (close-pipe pipe)
      (test-assert "uncaught in a script: the report says what was wrong"
        (string-contains
         out "In procedure set-session-priorities!: invalid priority string at \"+BOGUS\""))))

  (test-group "alert-send"
    ;; A warning alert, under TLS 1.2: GnuTLS takes every alert but
    ;; close_notify as fatal under TLS 1.3 (RFC 8446, 6: the level is
    ;; implicit in the description).
    (let-values (((c s)
                  (one-connection
                   #:server-body
                   (lambda (s)
                     (alert-send s alert-level/warning
                                 alert-description/user-canceled)
                     (let ((p (session-record-port s)))
                       (display "after the alert\n" p)
                       (force-output p)
                       (read-line p)))
                   #:client
                   (lambda (port)
                     (let ((s (client-session port)))
                       (set-session-priorities! s tls1.2)
                       (handshake s)
                       (let* ((p (session-record-port s))
                              (line (read-line p)))
                         (display "bye\n" p)
                         (force-output p)
                         (list line (alert-get s))))))))
      (test-equal "a warning alert (TLS 1.2): the read goes on past it, alert-get sees it"
        (list "after the alert" alert-description/user-canceled) c)
      (test-equal "the server got the client's line" "bye" s))
    (let-values (((c s)
                  (one-connection
                   #:server-handshake? #f
                   #:server-body
                   (lambda (s)
                     (alert-send s alert-level/fatal
                                 alert-description/handshake-failure)
                     'sent)
                   #:client
                   (lambda (port)
                     (let ((s (client-session port)))
                       (catch 'gnutls-error
                         (lambda () (handshake s) 'no-error)
                         (lambda (key err proc)
                           (list err proc (alert-get s)))))))))
      (test-equal "a fatal alert ends the peer's handshake"
        (list error/fatal-alert-received 'handshake
              alert-description/handshake-failure)
        c)
      (test-eq "the sender returned" 'sent s))
    (let-values (((c s)
                  (one-connection
                   #:server-handshake? #f
                   #:server-body
                   (lambda (s)
                     (alert-send s alert-level/fatal
                                 alert-description/access-denied))
                   #:client
                   (lambda (port)
                     (handshake (client-session port))))))
      (test-assert "... as a condition: code and alert"
        (and (tls-error? c)
             (eqv? (tls-error-code c) error/fatal-alert-received)
             (eq? (tls-error-alert c) alert-description/access-denied))))
    (let ((s (make-session connection-end/client)))
      (test-equal "a level that is not one: out-of-range" 'out-of-range
        (error-kind (raised (lambda () (alert-send s 'severe
                                                   alert-description/unknown-ca)))))
      (test-equal "a description given as an integer: wrong-type-arg"
        'wrong-type-arg
        (error-kind (raised (lambda () (alert-send s alert-level/fatal 48)))))
      (test-assert "no transport: a state error"
        (net-state-error?
         (raised (lambda () (alert-send s alert-level/warning
                                        alert-description/user-canceled))))))
    (if (not (program-available? "gnutls-cli"))
        (test-skip 1)
        (let-values
            (((port finish)
              (serve-one-tls
               #:timeout 10
               #:server-body
               (lambda (s)
                 (alert-send s alert-level/warning
                             alert-description/user-canceled)
                 ;; Closing the port sends the line, then close_notify.
                 (let ((p (session-record-port s)))
                   (display "hello after the alert\n" p)
                   (close-port p))))))
          (define pipe (open-pipe* OPEN_READ "sh" "-c"
                                   (string-append
                                    "sleep 3 | timeout 15 gnutls-cli "
                                    "--priority NORMAL:-VERS-TLS1.3 --x509cafile "
                                    (shell-quote (cert-file "ca"))
                                    " -p " (number->string port)
                                    " localhost 2>&1")))
          (define out (read-string pipe))
          (close-pipe pipe)
          (finish)
          (test-assert "gnutls-cli saw our warning alert, then our data"
            (and (string-match "[Aa]lert.*(90|[Uu]ser canceled)" out)
                 (string-contains out "hello after the alert")
                 #t)))))

  (test-group "GnuTLS's log"
    (let* ((lock (make-mutex))
           (seen '())
           (log (lambda (level message)
                  (with-mutex lock
                    (set! seen (cons (list level message (current-thread))
                                     seen))))))
      (set-log-level! 9)
      (set-log-procedure! log)
      (let-values (((c s) (tls-pair #:client-body (lambda (s) 'done))))
        (set-log-level! 0)
        (set-log-procedure! #f)
        (test-eq "the handshake went through" 'done c)
        (test-assert "messages came during the handshake"
          (> (length seen) 10))
        (test-assert "each (level message): an integer of 1 to 9, a string"
          (every (match-lambda
                   ((level message thread)
                    (and (exact-integer? level) (<= 1 level 9)
                         (string? message))))
                 seen))
        (test-assert "some about the handshake"
          (any (match-lambda
                 ((level message thread) (string-contains message "HSK")))
               seen))
        (test-assert "delivered in the threads doing TLS, ours among them"
          (any (match-lambda
                 ((level message thread) (eq? thread (current-thread))))
               seen))))
    (let* ((errors (open-output-string))
           (calls 0)
           (results
            (parameterize ((current-error-port errors))
              (set-log-level! 5)
              (set-log-procedure! (lambda (level message)
                                    (set! calls (+ calls 1))
                                    (error "a log procedure that raises")))
              (call-with-values
                  (lambda ()
                    (tls-pair #:client-body
                              (lambda (s)
                                (let ((p (session-record-port s)))
                                  (display "ping\n" p)
                                  (force-output p)
                                  (read-line p)))
                              #:server-body
                              (lambda (s)
                                (let* ((p (session-record-port s))
                                       (line (read-line p)))
                                  (display line p)
                                  (newline p)
                                  (force-output p)
                                  line))))
                list))))
      (set-log-level! 0)
      (set-log-procedure! #f)
      (test-equal "a log procedure that raises does not break the handshake"
        '("ping" "ping") results)
      (test-assert "it was called" (> calls 1))
      (test-equal "its exception is reported once" 1
        (length (list-matches "GnuTLS log procedure raised"
                              (get-output-string errors)))))
    (test-equal "set-log-level! of a negative level: out-of-range" 'out-of-range
      (error-kind (raised (lambda () (set-log-level! -1)))))
    (test-equal "set-log-procedure! of a string: wrong-type-arg" 'wrong-type-arg
      (error-kind (raised (lambda () (set-log-procedure! "log"))))))

  (test-group "verification flags and limits"
    (define (creds-with proc)
      (let ((c (client-credentials)))
        (proc c)
        c))
    (let-values (((c s) (tls-pair #:server-cert "expired"
                                  #:client-body (lambda (s) 'accepted))))
      (test-assert "an expired certificate is refused by default"
        (and (tls-verification-error? c)
             (memq 'expired (tls-verification-reasons c)) #t)))
    (let-values (((c s)
                  (tls-pair #:server-cert "expired"
                            #:client-creds
                            (creds-with
                             (lambda (c)
                               (set-certificate-credentials-verify-flags!
                                c certificate-verify/disable-time-checks)))
                            #:client-body (lambda (s) 'accepted))))
      (test-eq "... accepted with certificate-verify/disable-time-checks"
        'accepted c))
    (let-values (((c s)
                  (tls-pair #:server-cert "expired"
                            #:client-creds
                            (creds-with
                             (lambda (c)
                               (set-certificate-credentials-verify-flags!
                                c certificate-verify/disable-time-checks)
                               (set-certificate-credentials-verify-flags! c)))
                            #:client-body (lambda (s) 'accepted))))
      (test-assert "... and refused again once the flags are cleared"
        (tls-verification-error? c)))
    (let-values (((c s)
                  (tls-pair #:server-cert "expired"
                            #:client-creds
                            (creds-with
                             (lambda (c)
                               (set-certificate-credentials-verify-flags!
                                c certificate-verify/disable-time-checks)))
                            #:client-setup
                            (lambda (s) (set-session-verify-peer! s #f))
                            #:client-body peer-certificate-status)))
      (test-equal "peer-certificate-status honours them too" '() c))
    (let-values (((c s) (tls-pair #:server-cert "chain"
                                  #:client-body (lambda (s) 'accepted))))
      (test-eq "a chain of three is accepted by default" 'accepted c))
    (let-values (((c s)
                  (tls-pair #:server-cert "chain"
                            #:client-creds
                            (creds-with
                             (lambda (c)
                               (set-certificate-credentials-verify-limits!
                                c 16384 1)))
                            #:client-body (lambda (s) 'accepted))))
      (test-assert "... and refused with a depth limit of 1"
        (tls-error? c)))
    (let ((c (make-certificate-credentials)))
      (test-equal "a flag that is not one: out-of-range" 'out-of-range
        (error-kind (raised (lambda ()
                              (set-certificate-credentials-verify-flags!
                               c (ash 1 30))))))
      (test-equal "a symbol: wrong-type-arg" 'wrong-type-arg
        (error-kind (raised (lambda ()
                              (set-certificate-credentials-verify-flags!
                               c 'disable-time-checks)))))
      (test-equal "a negative limit: out-of-range" 'out-of-range
        (error-kind (raised (lambda ()
                              (set-certificate-credentials-verify-limits!
                               c -1 3)))))))

  (test-group "OpenPGP"
    (define (unsupported thunk)
      (let ((e (raised thunk)))
        (and (tls-error? e)
             (eqv? (tls-error-code e) error/unimplemented-feature)
             (string-contains (exception-message e) "OpenPGP")
             #t)))
    (test-assert "import-openpgp-certificate: &tls-error, unimplemented-feature"
      (unsupported (lambda () (import-openpgp-certificate
                               (make-bytevector 8 0)
                               openpgp-certificate-format/raw))))
    (test-assert "import-openpgp-private-key"
      (unsupported (lambda () (import-openpgp-private-key
                               (make-bytevector 8 0)
                               openpgp-certificate-format/base64))))
    (test-assert "import-openpgp-keyring"
      (unsupported (lambda () (import-openpgp-keyring
                               (make-bytevector 8 0)
                               openpgp-certificate-format/raw))))
    (test-assert "set-certificate-credentials-openpgp-keys!"
      (unsupported (lambda () (set-certificate-credentials-openpgp-keys!
                               (make-certificate-credentials) #f #f))))
    (test-assert "the accessors"
      (every (lambda (thunk) (unsupported thunk))
             (list (lambda () (openpgp-certificate-id 'key))
                   (lambda () (openpgp-certificate-id! 'key (make-bytevector 8)))
                   (lambda () (openpgp-certificate-fingerprint 'key))
                   (lambda () (openpgp-certificate-fingerprint! 'key
                                                                (make-bytevector 20)))
                   (lambda () (openpgp-certificate-name 'key 0))
                   (lambda () (openpgp-certificate-names 'key))
                   (lambda () (openpgp-certificate-algorithm 'key))
                   (lambda () (openpgp-certificate-version 'key))
                   (lambda () (openpgp-certificate-usage 'key))
                   (lambda () (openpgp-keyring-contains-key-id?
                               'keyring (make-bytevector 8))))))
    (test-equal "caught as guile-gnutls's handlers catch it"
      (list error/unimplemented-feature 'import-openpgp-certificate)
      (catch 'gnutls-error
        (lambda () (import-openpgp-certificate (make-bytevector 8 0)
                                               openpgp-certificate-format/raw))
        (lambda (key err proc) (list err proc))))
    (test-equal "data that is not a bytevector: wrong-type-arg" 'wrong-type-arg
      (error-kind (raised (lambda () (import-openpgp-certificate
                                      "data" openpgp-certificate-format/raw)))))
    (test-equal "a format that is not one: out-of-range" 'out-of-range
      (error-kind (raised (lambda () (import-openpgp-certificate
                                      (make-bytevector 8 0) 7)))))
    (test-equal "the predicates answer #f" '(#f #f #f)
      (list (openpgp-certificate? (make-bytevector 8))
            (openpgp-private-key? 'key) (openpgp-keyring? #f)))
    (test-eq "certificate-type/openpgp" 'openpgp certificate-type/openpgp)))

(remove-cert-dir)
