;;; Anonymous, PSK and SRP credentials and Diffie-Hellman parameters, by
;;; guile-gnutls's names: real handshakes on loopback between our client
;;; and our server, and against gnutls-serv and gnutls-cli in both
;;; directions; keys and password files made at test time with psktool,
;;; srptool and certtool; what a wrong key or password raises; DH
;;; parameters made, exported, imported and seen in use; SRP base64; and a
;;; program in guile-gnutls's style (socketpair, primitive-fork, record
;;; port).  Peers are started and killed by PID; every wait is bounded.

(use-modules (tests harness)
             (tests tls-common)
             (srfi srfi-1)
             (srfi srfi-11)
             (srfi srfi-64)
             (rnrs bytevectors)
             (ice-9 binary-ports)
             (ice-9 rdelim)
             (ice-9 regex)
             (ice-9 popen)
             (ice-9 threads)
             (ice-9 exceptions)
             (net tls)
             (net error)
             (net socket))

;;; Keys and password files, made here.

(define dir (cert-dir))
(define (in-dir name) (string-append dir "/" name))
(define psk-file (in-dir "psk.passwd"))
(define srp-file (in-dir "tpasswd"))
(define srp-conf (in-dir "tpasswd.conf"))
(define dh-file (in-dir "dh3072.pem"))
(define rsa-cert (in-dir "rsa-cert.pem"))
(define rsa-key (in-dir "rsa-key.pem"))

(define (sh command)
  ;; Tools run without LD_PRELOAD (see tests/tls-certs.sh), bounded.
  (zero? (system (string-append "env -u LD_PRELOAD timeout 60 " command
                                " >/dev/null 2>&1"))))

(define tools-ok?
  (and (sh (string-append "psktool -u alice -p " (shell-quote psk-file)))
       (sh (string-append "psktool -u carol -p " (shell-quote psk-file)))
       (sh (string-append "srptool --create-conf " (shell-quote srp-conf)))
       (sh (string-append "printf 'open sesame\\n' | srptool --passwd "
                          (shell-quote srp-file) " --passwd-conf "
                          (shell-quote srp-conf) " -u bob"))
       (sh (string-append "certtool --generate-dh-params --bits 3072 --outfile "
                          (shell-quote dh-file)))
       (sh (string-append "certtool --generate-privkey --key-type rsa "
                          "--bits 2048 --outfile " (shell-quote rsa-key)))
       (begin
         (call-with-output-file (in-dir "rsa.tmpl")
           (lambda (p)
             (display "cn = localhost\ndns_name = localhost\ntls_www_server\nencryption_key\nsigning_key\nexpiration_days = 30\n" p)))
         (sh (string-append "certtool --generate-self-signed --load-privkey "
                            (shell-quote rsa-key) " --template "
                            (shell-quote (in-dir "rsa.tmpl")) " --outfile "
                            (shell-quote rsa-cert))))))

(define (file-line file user)
  ;; USER's line of psktool's FILE, split at the colon.
  (call-with-input-file file
    (lambda (p)
      (let loop ()
        (let ((line (read-line p)))
          (cond ((eof-object? line) #f)
                ((string-prefix? (string-append user ":") line)
                 (string-split line #\:))
                (else (loop))))))))

(define alice-hex (cadr (file-line psk-file "alice")))
(define carol-hex (cadr (file-line psk-file "carol")))

(define (hex->bytevector hex)
  (u8-list->bytevector
   (let loop ((i 0))
     (if (>= i (string-length hex))
         '()
         (cons (string->number (substring hex i (+ i 2)) 16)
               (loop (+ i 2)))))))

;;; Credentials.

(define* (psk-client user key #:optional (format psk-key-format/raw))
  (let ((c (make-psk-client-credentials)))
    (set-psk-client-credentials! c user key format)
    c))

(define (psk-server)
  (let ((c (make-psk-server-credentials)))
    (set-psk-server-credentials-file! c psk-file)
    c))

(define (srp-client user password)
  (let ((c (make-srp-client-credentials)))
    (set-srp-client-credentials! c user password)
    c))

(define (srp-server)
  (let ((c (make-srp-server-credentials)))
    (set-srp-server-credentials-files! c srp-file srp-conf)
    c))

;;; Our client and our server, through tests/tls-common's tls-pair: each
;;; side sends a line and reads the other's.

(define (exchange line)
  (lambda (s)
    (let ((p (session-record-port s)))
      (display line p) (newline p) (force-output p)
      (let ((got (read-line p)))
        `((got . ,got)
          (protocol . ,(session-protocol s))
          (kx . ,(session-kx s))
          (psk-user . ,(server-session-psk-username s))
          (srp-user . ,(server-session-srp-username s))
          (verify . ,(session-verify-peer? s)))))))

(define* (pair client-creds server-creds #:key client-setup server-setup)
  (tls-pair #:client-creds client-creds #:server-creds server-creds
            #:server-name #f
            #:client-setup (or client-setup (const #t))
            #:server-setup (or server-setup (const #t))
            #:client-body (exchange "from the client")
            #:server-body (exchange "from the server")))

(define (ref alist key) (and (pair? alist) (assq-ref alist key)))

(define (tls-error-with code alert text)
  ;; A &tls-error of CODE (and ALERT when given) whose message has TEXT.
  (lambda (e)
    (and (tls-error? e)
         (eqv? (tls-error-code e) code)
         (or (not alert) (eq? (tls-error-alert e) alert))
         (string-contains (tls-error-message e) text)
         #t)))

(define tls12 (string-append (%default-priority-string)
                             ":-VERS-TLS1.3:+ECDHE-PSK:+DHE-PSK"))

;;; External peers.

(define (with-peer peer proc)
  (dynamic-wind (const #t) (lambda () (proc peer)) (lambda () (kill-peer peer))))

(define* (our-client port creds #:key priorities (line "ping"))
  "Connect to loopback PORT with CREDS, send LINE, read a line back."
  (capture
   (lambda ()
     (let ((s (make-session connection-end/client))
           (conn (connect-loopback port)))
       (set-session-timeout! s 5)
       (set-session-credentials! s creds)
       (when priorities (set-session-priorities! s priorities))
       (set-session-transport-port! s conn)
       (dynamic-wind
         (const #t)
         (lambda ()
           (handshake s)
           (let ((p (session-record-port s)))
             (display line p) (newline p) (force-output p)
             (let ((reply (read-line p)))
               `((reply . ,reply) (protocol . ,(session-protocol s))
                 (kx . ,(session-kx s))))))
         (lambda () (close-port conn)))))))

(define (our-server count make-creds)
  "Serve COUNT connections in a thread, each with (MAKE-CREDS): echo one
line.  Return the port and a thunk that joins the thread, returning what
each connection saw (or raised)."
  (let* ((listener (loopback-listener))
         (thread
          (call-with-new-thread
           (lambda ()
             (let loop ((i 0) (results '()))
               (if (= i count)
                   (reverse results)
                   (loop (+ i 1)
                         (cons
                          (capture
                           (lambda ()
                             (let ((conn (car (accept listener)))
                                   (s (make-session connection-end/server)))
                               (set-session-timeout! s 5)
                               (set-session-credentials! s (make-creds))
                               (set-session-transport-port! s conn)
                               (dynamic-wind
                                 (const #t)
                                 (lambda ()
                                   (handshake s)
                                   (let* ((p (session-record-port s))
                                          (line (read-line p)))
                                     (display (string-append "echo " line "\n") p)
                                     (force-output p)
                                     `((line . ,line)
                                       (protocol . ,(session-protocol s))
                                       (kx . ,(session-kx s))
                                       (psk-user . ,(server-session-psk-username s))
                                       (srp-user . ,(server-session-srp-username s)))))
                                 (lambda () (close-port conn))))))
                          results))))))))
    (values (listener-port listener)
            (lambda ()
              (let ((r (join-thread thread (+ (current-time) 20) 'timeout)))
                (close-port listener)
                r)))))

(define (run-with-input input program . args)
  "Run PROGRAM with ARGS, INPUT on its stdin (kept open a moment), bounded;
return its output."
  (let* ((cmd (string-append "{ printf '%s' " (shell-quote input)
                             "; sleep 1; } | timeout 15 "
                             (string-join (map shell-quote (cons program args))
                                          " ")
                             " 2>&1"))
         (p (open-input-pipe cmd))
         (out (read-string p)))
    (close-pipe p)
    out))

(define (matches? rx text) (and (string? text) (string-match rx text) #t))

;;; A program as guile-gnutls's users write them: a socketpair, a forked
;;; server, file descriptor transports, the record port, `catch'.  It runs
;;; first, before any thread of this test exists.

(define (fork-program client-key)
  "Fork a PSK server on one end of a socketpair and run a PSK client with
CLIENT-KEY (hex) on the other; return what the client read (or the key
of the exception it caught) and the server's exit status."
  (let* ((pair (socketpair AF_UNIX SOCK_STREAM 0))
         (pid (primitive-fork)))
    (if (zero? pid)
        (let ((status
               (catch #t
                 (lambda ()
                   (close-port (car pair))
                   (let ((server (make-session connection-end/server))
                         (cred (make-psk-server-credentials)))
                     (set-psk-server-credentials-file! cred psk-file)
                     (set-session-default-priority! server)
                     (set-session-credentials! server cred)
                     (set-session-timeout! server 5)
                     (set-session-transport-fd! server (fileno (cdr pair)))
                     (handshake server)
                     (let* ((port (session-record-port server))
                            (line (read-line port)))
                       (display (string-append (server-session-psk-username server)
                                               " said " line "\n")
                                port)
                       (force-output port)
                       (bye server close-request/rdwr)
                       0)))
                 (lambda (key . args) 3))))
          (primitive-exit status))
        (begin
          (close-port (cdr pair))
          (let ((result
                 (catch 'gnutls-error
                   (lambda ()
                     (let ((client (make-session connection-end/client))
                           (cred (make-psk-client-credentials)))
                       (set-psk-client-credentials! cred "alice"
                                                    (string->utf8 client-key)
                                                    psk-key-format/hex)
                       (set-session-default-priority! client)
                       (set-session-credentials! client cred)
                       (set-session-timeout! client 5)
                       (set-session-transport-fd! client (fileno (car pair)))
                       (handshake client)
                       (let ((port (session-record-port client)))
                         (display "hello\n" port)
                         (force-output port)
                         (let ((reply (read-line port)))
                           (bye client close-request/rdwr)
                           reply))))
                   (lambda (key . args) key))))
            (close-port (car pair))
            ;; Bounded: the child's session has a 5 s timeout; after 15 s
            ;; it is killed, by its PID.
            (let loop ((n 0))
              (let ((w (waitpid pid WNOHANG)))
                (cond ((not (zero? (car w)))
                       (list result (status:exit-val (cdr w))))
                      ((< n 750) (usleep 20000) (loop (+ n 1)))
                      (else (kill pid SIGKILL) (waitpid pid)
                            (list result 'killed))))))))))

(run-tests "tls-psk-srp-anon"

  (test-assert "psktool, srptool and certtool made the keys and files"
    tools-ok?)

  (test-group "a guile-gnutls style program: socketpair, fork, record port, PSK"
    (test-equal "PSK handshake across fork, data both ways"
      '("alice said hello" 0)
      (fork-program alice-hex))
    (test-equal "a wrong key: the client catches gnutls-error, the server fails"
      '(gnutls-error 3)
      (fork-program "00112233445566778899aabbccddeeff")))

  (test-group "objects"
    (let ((ac (make-anonymous-client-credentials))
          (as (make-anonymous-server-credentials))
          (pc (make-psk-client-credentials))
          (ps (make-psk-server-credentials))
          (sc (make-srp-client-credentials))
          (ss (make-srp-server-credentials)))
      (test-equal "predicates tell the six kinds apart"
        '((#t #f #f #f #f #f) (#f #t #f #f #f #f) (#f #f #t #f #f #f)
          (#f #f #f #t #f #f) (#f #f #f #f #t #f) (#f #f #f #f #f #t))
        (map (lambda (obj)
               (map (lambda (pred) (pred obj))
                    (list anonymous-client-credentials?
                          anonymous-server-credentials?
                          psk-client-credentials? psk-server-credentials?
                          srp-client-credentials? srp-server-credentials?)))
             (list ac as pc ps sc ss)))
      (test-equal "none of them is certificate credentials or DH parameters"
        '(#f #f)
        (list (any certificate-credentials? (list ac as pc ps sc ss))
              (any dh-parameters? (list ac as pc ps sc ss))))
      (set-psk-client-credentials! pc "alice" (hex->bytevector alice-hex)
                                   psk-key-format/raw)
      (set-srp-client-credentials! sc "bob" "open sesame")
      (set-psk-server-credentials-file! ps psk-file)
      (test-equal "a PSK client prints its user, not its key"
        "#<psk-client-credentials user \"alice\">"
        (object->string pc))
      (test-assert "nor the key in hex"
        (not (string-contains (object->string pc) (substring alice-hex 0 8))))
      (test-equal "an SRP client prints its user, not its password"
        "#<srp-client-credentials user \"bob\">"
        (object->string sc))
      (test-assert "a PSK server prints its password file"
        (string-contains (object->string ps) "psk.passwd"))
      (test-equal "empty credentials print their kind"
        '("#<anonymous-client-credentials>" "#<srp-server-credentials>")
        (list (object->string ac) (object->string ss)))
      (test-equal "psk-key-format values are GnuTLS's; ->string names them"
        '(0 1 "raw" "hex")
        (list psk-key-format/raw psk-key-format/hex
              (psk-key-format->string psk-key-format/raw)
              (psk-key-format->string psk-key-format/hex)))
      (test-equal "params/ values and params->string"
        '(dh rsa-export "dh" "rsa-export")
        (list params/dh params/rsa-export (params->string params/dh)
              (params->string params/rsa-export)))
      (test-assert "psk-key-format->string of an unknown format: out-of-range"
        (eq? 'out-of-range (error-key (psk-key-format->string 9))))
      (test-assert "client credentials on a server session: wrong-type-arg"
        (eq? 'wrong-type-arg
             (error-key (set-session-credentials!
                         (make-session connection-end/server) pc))))
      (test-assert "server credentials on a client session: wrong-type-arg"
        (eq? 'wrong-type-arg
             (error-key (set-session-credentials!
                         (make-session connection-end/client) ss))))
      (let ((s (make-session connection-end/client)))
        (set-session-credentials! s pc)
        (test-eq "session-credentials of a PSK session" pc
          (session-credentials s)))
      (test-assert "an empty PSK key is a &tls-error saying so"
        ((tls-error-with -50 #f "empty")
         (capture (lambda ()
                    (set-psk-client-credentials! pc "alice" (make-bytevector 0)
                                                 psk-key-format/raw)))))
      (test-assert "a hex key that is not hex is a &tls-error saying so"
        ((tls-error-with -302 #f "not hexadecimal")
         (capture (lambda ()
                    (set-psk-client-credentials! pc "alice"
                                                 (string->utf8 "xyz1")
                                                 psk-key-format/hex)))))
      (test-assert "a key format that is neither: out-of-range"
        (eq? 'out-of-range
             (error-key (set-psk-client-credentials!
                         pc "alice" (string->utf8 "ab") 7))))
      (test-assert "a PSK password file that is missing: &tls-file-error"
        (let ((e (capture (lambda ()
                            (set-psk-server-credentials-file!
                             ps (in-dir "no-such-file"))))))
          (and (tls-file-error? e)
               (equal? (tls-file-error-file e) (in-dir "no-such-file")))))
      (test-assert "a directory as the PSK password file: &tls-file-error, EISDIR"
        (let ((e (capture (lambda () (set-psk-server-credentials-file! ps dir)))))
          (and (tls-file-error? e) (eqv? (tls-file-error-errno e) EISDIR))))
      (test-assert "an SRP conf file that is missing: &tls-file-error"
        (let ((e (capture (lambda ()
                            (set-srp-server-credentials-files!
                             ss srp-file (in-dir "no-such-conf"))))))
          (and (tls-file-error? e)
               (equal? (tls-file-error-file e) (in-dir "no-such-conf")))))
      (test-equal "certificate sessions keep the default priorities"
        "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:+VERS-DTLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CCM:+AES-256-CCM:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:+DHE-RSA:-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:-SIGN-DSA-SHA1:%SERVER_PRECEDENCE"
        (%default-priority-string))))

  (test-group "anonymous, our client and server"
    (let-values (((c s) (pair (make-anonymous-client-credentials)
                              (make-anonymous-server-credentials))))
      (test-equal "data both ways" '("from the server" "from the client")
        (list (ref c 'got) (ref s 'got)))
      (test-equal "TLS 1.2 (anonymous key exchanges are TLS 1.2 only)"
        '(TLS1.2 TLS1.2) (list (ref c 'protocol) (ref s 'protocol)))
      (test-assert "an anonymous key exchange"
        (memq (ref c 'kx) '(ANON-DH ANON-ECDH)))
      ;; No certificate credentials: nothing is verified, and the
      ;; sessions say so, though the client did not turn verification off.
      (test-equal "session-verify-peer?: #f on both sides" '(#f #f)
        (list (ref c 'verify) (ref s 'verify))))
    (let-values (((c s) (pair (make-anonymous-client-credentials)
                              (make-anonymous-server-credentials)
                              #:client-setup
                              (lambda (s)
                                (set-session-priorities!
                                 s (%default-priority-string))))))
      (test-assert "an explicit priority string is taken as given: no anonymous"
        (and (tls-error? c) (tls-error? s)))))

  (test-group "PSK, our client and server"
    (let-values (((c s) (pair (psk-client "alice" (hex->bytevector alice-hex))
                              (psk-server))))
      (test-equal "raw key: data both ways"
        '("from the server" "from the client")
        (list (ref c 'got) (ref s 'got)))
      (test-equal "raw key: TLS 1.3 with an ephemeral exchange"
        '(TLS1.3 ECDHE-PSK) (list (ref c 'protocol) (ref c 'kx)))
      (test-equal "server-session-psk-username: the client's name"
        "alice" (ref s 'psk-user))
      (test-equal "server-session-srp-username of a PSK session: #f"
        #f (ref s 'srp-user))
      (test-equal "session-verify-peer? of PSK sessions: #f (no certificate)"
        '(#f #f) (list (ref c 'verify) (ref s 'verify))))
    (let-values (((c s) (pair (psk-client "carol" (string->utf8 carol-hex)
                                          psk-key-format/hex)
                              (psk-server))))
      (test-equal "hex key, the second user of the file: data both ways"
        '("from the server" "from the client")
        (list (ref c 'got) (ref s 'got)))
      (test-equal "hex key: the server saw carol" "carol" (ref s 'psk-user)))
    (let-values (((c s) (pair (psk-client "alice" (string->utf8 alice-hex)
                                          psk-key-format/hex)
                              (psk-server)
                              #:client-setup
                              (lambda (s) (set-session-priorities! s tls12)))))
      (test-equal "TLS 1.2 when the client asks: ECDHE-PSK"
        '(TLS1.2 ECDHE-PSK "alice")
        (list (ref c 'protocol) (ref c 'kx) (ref s 'psk-user))))
    (let-values (((c s) (pair (psk-client "alice" (string->utf8 alice-hex)
                                          psk-key-format/hex)
                              (psk-server)
                              #:client-setup
                              (lambda (s)
                                (set-session-priorities! s "NORMAL")
                                (set-session-default-priority! s)))))
      (test-equal "set-session-default-priority! keeps the PSK key exchanges"
        "from the server" (ref c 'got)))
    (let ((both (server-credentials)))
      (let-values (((c s) (pair (psk-client "alice" (hex->bytevector alice-hex))
                                (psk-server)
                                #:server-setup
                                (lambda (s) (set-session-credentials! s both)))))
        (test-equal "a server with certificate and PSK credentials: PSK client"
          '("from the server" ECDHE-PSK) (list (ref c 'got) (ref c 'kx))))
      (let-values (((c s) (tls-pair #:server-creds both
                                    #:server-setup
                                    (lambda (s)
                                      (set-session-credentials! s (psk-server)))
                                    #:client-body (exchange "x")
                                    #:server-body (exchange "y"))))
        (test-equal "... and a certificate client, verified"
          '("y" ECDHE-ECDSA) (list (ref c 'got) (ref c 'kx)))))
    (let-values (((c s) (pair (psk-client "alice"
                                          (hex->bytevector
                                           "00112233445566778899aabbccddeeff"))
                              (psk-server))))
      (test-assert "TLS 1.3, wrong key: the client's error says the server refused it"
        ((tls-error-with -12 'illegal-parameter
                         "the server refused the PSK key of user \"alice\"")
         c))
      (test-assert "TLS 1.3, wrong key: the server's error says it does not match"
        ((tls-error-with -55 #f "PSK key does not match the password file") s)))
    (let-values (((c s) (pair (psk-client "alice"
                                          (hex->bytevector
                                           "00112233445566778899aabbccddeeff"))
                              (psk-server)
                              #:client-setup
                              (lambda (s) (set-session-priorities! s tls12)))))
      (test-assert "TLS 1.2, wrong key: bad_record_mac, the client's error says why"
        ((tls-error-with error/fatal-alert-received 'bad-record-mac
                         "refused the PSK key") c))
      (test-assert "TLS 1.2, wrong key: the server names the user"
        ((tls-error-with error/decryption-failed #f
                         "PSK key of user \"alice\" does not match") s)))
    (let-values (((c s) (pair (psk-client "mallory" (hex->bytevector alice-hex))
                              (psk-server))))
      (test-assert "an unknown user fails like a wrong key (GnuTLS hides which)"
        (and (tls-error? c) (tls-error? s)
             (string-contains (tls-error-message c) "\"mallory\"")))))

  (test-group "SRP, our client and server"
    (let-values (((c s) (pair (srp-client "bob" "open sesame") (srp-server))))
      (test-equal "data both ways" '("from the server" "from the client")
        (list (ref c 'got) (ref s 'got)))
      (test-equal "TLS 1.2 (SRP is TLS 1.2 only), SRP key exchange"
        '(TLS1.2 SRP) (list (ref c 'protocol) (ref c 'kx)))
      (test-equal "server-session-srp-username: the client's name"
        "bob" (ref s 'srp-user))
      (test-equal "server-session-psk-username of an SRP session: #f"
        #f (ref s 'psk-user)))
    (let-values (((c s) (pair (srp-client "bob" "open sesame!") (srp-server))))
      (test-assert "wrong password: the client's error says the server refused it"
        ((tls-error-with error/fatal-alert-received 'bad-record-mac
                         "the server refused the SRP password of user \"bob\"")
         c))
      (test-assert "wrong password: the server's error says it is wrong"
        ((tls-error-with error/decryption-failed #f
                         "SRP password of user \"bob\" is wrong") s)))
    (let-values (((c s) (pair (srp-client "nobody" "open sesame") (srp-server))))
      (test-assert "unknown user: the server says the user is not in the file"
        ((tls-error-with -31 #f "\"nobody\": the user is not in the password file")
         s))
      (test-assert "unknown user: the client fails" (tls-error? c))))

  (test-group "SRP base64"
    (test-equal "a known value (guile-gnutls 3.7.9's)" "6XbR6nl87TlScna"
      (srp-base64-encode "hello world"))
    (test-equal "round trip of text"
      '("hello world" "héllo, wörld ✓" "" "a")
      (map (lambda (s) (srp-base64-decode (srp-base64-encode s)))
           '("hello world" "héllo, wörld ✓" "" "a")))
    (test-equal "a bytevector encodes as its bytes, like the same text"
      (srp-base64-encode "bytes")
      (srp-base64-encode (string->utf8 "bytes")))
    (test-assert "text that is not SRP base64: &tls-error"
      (tls-error? (capture (lambda () (srp-base64-decode "!!!*")))))
    (test-assert "decoding to bytes that are not UTF-8: out-of-range"
      (eq? 'out-of-range
           (error-key (srp-base64-decode
                       (srp-base64-encode #vu8(255 254 253)))))))

  (test-group "DH parameters"
    (let* ((made (make-dh-parameters 1024))
           (pem (pkcs3-export-dh-parameters made x509-certificate-format/pem))
           (der (pkcs3-export-dh-parameters made x509-certificate-format/der)))
      (test-assert "made" (dh-parameters? made))
      (test-equal "printed with their size" "#<dh-parameters 1024 bits>"
        (object->string made))
      (test-assert "exported as PEM"
        (string-contains (utf8->string pem) "-----BEGIN DH PARAMETERS-----"))
      (test-equal "PEM imported back exports the same DER" der
        (pkcs3-export-dh-parameters
         (pkcs3-import-dh-parameters pem x509-certificate-format/pem)
         x509-certificate-format/der))
      (test-equal "DER imported back exports the same PEM" pem
        (pkcs3-export-dh-parameters
         (pkcs3-import-dh-parameters der x509-certificate-format/der)))
      (test-assert "junk: a &tls-error"
        (tls-error? (capture (lambda ()
                               (pkcs3-import-dh-parameters
                                (string->utf8 "junk")
                                x509-certificate-format/pem)))))
      (test-assert "too few bits: out-of-range"
        (eq? 'out-of-range (error-key (make-dh-parameters 100)))))
    ;; certtool's 3072-bit parameters on a server whose only RFC 7919 group
    ;; is FFDHE2048, with a client that offers none: GnuTLS sends the
    ;; parameters' own prime, and a client that accepts no prime under
    ;; 3000 bits (set-session-dh-prime-bits!) takes it.
    (let* ((params (pkcs3-import-dh-parameters
                    (call-with-input-file dh-file get-bytevector-all
                                          #:binary #t)))
           (server-groups ":-GROUP-FFDHE3072:-GROUP-FFDHE4096:-GROUP-FFDHE6144:-GROUP-FFDHE8192")
           (client-groups ":-GROUP-DH-ALL")
           (anon-server
            (lambda (with-params?)
              (let ((c (make-anonymous-server-credentials)))
                (when with-params? (set-anonymous-server-dh-parameters! c params))
                c)))
           (anon (lambda (with-params? bits)
                   (pair (make-anonymous-client-credentials)
                         (anon-server with-params?)
                         #:server-setup
                         (lambda (s)
                           (set-session-priorities!
                            s (string-append (%default-priority-string)
                                             ":+ANON-DH" server-groups)))
                         #:client-setup
                         (lambda (s)
                           (set-session-priorities!
                            s (string-append (%default-priority-string)
                                             ":+ANON-DH" client-groups))
                           (set-session-dh-prime-bits! s bits))))))
      (test-equal "certtool's parameters imported" "#<dh-parameters 3072 bits>"
        (object->string params))
      (let-values (((c s) (anon #t 3000)))
        (test-equal "ANON-DH with our 3072-bit prime (the client wants 3000 bits)"
          '("from the server" ANON-DH) (list (ref c 'got) (ref c 'kx))))
      (let-values (((c s) (anon #t 4096)))
        (test-assert "a client that wants 4096 bits refuses it"
          (and (tls-error? c)
               (eqv? (tls-error-code c) -63))))
      (let-values (((c s) (anon #f 0)))
        (test-assert "without the parameters no ANON-DH is possible here"
          (and (tls-error? s) (tls-error? c))))
      (let ((certs (make-certificate-credentials)))
        (set-certificate-credentials-x509-key-files! certs rsa-cert rsa-key)
        (set-certificate-credentials-dh-parameters! certs params)
        (let-values (((c s)
                      (tls-pair #:server-creds certs
                                #:client-creds (make-certificate-credentials)
                                #:server-name #f
                                #:server-setup
                                (lambda (s)
                                  (set-session-priorities!
                                   s (string-append (%default-priority-string)
                                                    ":-KX-ALL:+DHE-RSA"
                                                    server-groups)))
                                #:client-setup
                                (lambda (s)
                                  (set-session-verify-peer! s #f)
                                  (set-session-priorities!
                                   s (string-append (%default-priority-string)
                                                    ":-VERS-TLS1.3" client-groups))
                                  (set-session-dh-prime-bits! s 3000))
                                #:client-body (exchange "x")
                                #:server-body (exchange "y"))))
          (test-equal "DHE-RSA with the certificate credentials' 3072-bit prime"
            '("y" DHE-RSA) (list (ref c 'got) (ref c 'kx)))))))

  (test-group "our client, gnutls-serv"
   (when (program-available? "gnutls-serv")
    (let ((port (free-port)))
      (with-peer
       (spawn-peer "gnutls-serv" "-p" (number->string port) "--echo"
                   "--pskpasswd" psk-file
                   "--priority" "NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK")
       (lambda (peer)
         (test-assert "gnutls-serv --pskpasswd is up" (peer-wait-port port))
         (let ((r (our-client port (psk-client "alice"
                                               (hex->bytevector alice-hex))
                              #:line "psk13")))
           (test-equal "PSK, raw key, TLS 1.3: echoed" '("psk13" TLS1.3)
             (list (ref r 'reply) (ref r 'protocol))))
         (let ((r (our-client port (psk-client "carol" (string->utf8 carol-hex)
                                               psk-key-format/hex)
                              #:line "psk12" #:priorities tls12)))
           (test-equal "PSK, hex key, TLS 1.2: echoed" '("psk12" ECDHE-PSK)
             (list (ref r 'reply) (ref r 'kx))))
         (test-assert "gnutls-serv saw alice and carol"
           (and (peer-wait-output peer "Connected as 'alice'")
                (peer-wait-output peer "Connected as 'carol'"))))))
    (let ((port (free-port)))
      (with-peer
       (spawn-peer "gnutls-serv" "-p" (number->string port) "--echo"
                   "--srppasswd" srp-file "--srppasswdconf" srp-conf
                   "--priority" "NORMAL:+SRP")
       (lambda (peer)
         (test-assert "gnutls-serv --srppasswd is up" (peer-wait-port port))
         (let ((r (our-client port (srp-client "bob" "open sesame")
                              #:line "srp")))
           (test-equal "SRP: echoed" '("srp" SRP) (list (ref r 'reply) (ref r 'kx))))
         (test-assert "gnutls-serv saw bob"
           (peer-wait-output peer "Connected as 'bob'")))))
    (let ((port (free-port)))
      (with-peer
       (spawn-peer "gnutls-serv" "-p" (number->string port) "--echo"
                   "--priority" "NORMAL:+ANON-ECDH:+ANON-DH")
       (lambda (peer)
         (test-assert "gnutls-serv, anonymous, is up" (peer-wait-port port))
         (let ((r (our-client port (make-anonymous-client-credentials)
                              #:line "anon")))
           (test-assert "anonymous: echoed"
             (and (equal? (ref r 'reply) "anon")
                  (memq (ref r 'kx) '(ANON-DH ANON-ECDH))))))))))

  (test-group "our server, gnutls-cli"
   (when (program-available? "gnutls-cli")
    (let-values (((port join) (our-server 2 psk-server)))
      (let ((out13 (run-with-input "hello psk\n" "gnutls-cli"
                                   "-p" (number->string port)
                                   "--priority" "NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK"
                                   "--pskusername" "alice" "--pskkey" alice-hex
                                   "localhost"))
            ;; gnutls-cli offers PSK only when its priorities say so.
            ;; (gnutls-cli 3.7.9 crashes after a TLS 1.2 PSK handshake, with
            ;; gnutls-serv too: TLS 1.2 PSK is tried against gnutls-serv.)
            (out-carol (run-with-input "hello carol\n" "gnutls-cli"
                                       "-p" (number->string port)
                                       "--priority" "NORMAL:+ECDHE-PSK:+DHE-PSK"
                                       "--pskusername" "carol"
                                       "--pskkey" carol-hex
                                       "localhost")))
        (test-assert "gnutls-cli --pskkey, TLS 1.3: our echo"
          (matches? "echo hello psk" out13))
        (test-assert "gnutls-cli --pskkey, the file's second user: our echo"
          (matches? "echo hello carol" out-carol))
        (let ((results (join)))
          (test-equal "server-session-psk-username: gnutls-cli's users"
            '("alice" "carol")
            (and (list? results) (map (lambda (r) (ref r 'psk-user)) results)))
          (test-equal "TLS 1.3, ECDHE-PSK" '((TLS1.3 ECDHE-PSK) (TLS1.3 ECDHE-PSK))
            (and (list? results)
                 (map (lambda (r) (list (ref r 'protocol) (ref r 'kx)))
                      results))))))
    (let-values (((port join) (our-server 1 srp-server)))
      (let ((out (run-with-input "hello srp\n" "gnutls-cli"
                                 "-p" (number->string port)
                                 "--priority" "NORMAL:+SRP"
                                 "--srpusername" "bob" "--srppasswd" "open sesame"
                                 "localhost")))
        (test-assert "gnutls-cli --srppassword: our echo"
          (matches? "echo hello srp" out))
        (let ((results (join)))
          (test-equal "server-session-srp-username: bob" "bob"
            (and (list? results) (ref (car results) 'srp-user))))))
    (let-values (((port join) (our-server 1 make-anonymous-server-credentials)))
      (let ((out (run-with-input "hello anon\n" "gnutls-cli"
                                 "-p" (number->string port)
                                 "--priority" "NORMAL:+ANON-ECDH:+ANON-DH"
                                 "localhost")))
        (test-assert "gnutls-cli, anonymous: our echo"
          (matches? "echo hello anon" out))
        (let ((results (join)))
          (test-assert "our anonymous server: TLS 1.2"
            (and (list? results) (eq? (ref (car results) 'protocol) 'TLS1.2))))))
    (let-values (((port join) (our-server 1 psk-server)))
      (let ((out (run-with-input "x\n" "gnutls-cli" "-p" (number->string port)
                                 "--priority" "NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK"
                                 "--pskusername" "alice"
                                 "--pskkey" "00112233445566778899aabbccddeeff"
                                 "localhost")))
        (test-assert "gnutls-cli with a wrong key gets no echo"
          (not (matches? "echo x" out)))
        (let ((results (join)))
          (test-assert "our server's error says the key does not match"
            (and (list? results)
                 ((tls-error-with -55 #f "does not match") (car results)))))))))

  (remove-cert-dir))
