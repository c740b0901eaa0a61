;;; guile-gnutls programs on Guile-Net: every name of guile-gnutls 3.7.9's
;;; (gnutls) is in (net tls); the compatibility module (gnutls), from
;;; module/compat/, exports exactly those names with guile-gnutls's
;;; semantics; and programs we did not write run unchanged on it: Guile's
;;; own (web client) fetches an https URL from our server, trusting the CA
;;; given in SSL_CERT_DIR, in a process of its own.

(use-modules (tests harness)
             (tests tls-common)
             ((tests https-common) #:select (start-https-server))
             (srfi srfi-1)
             (srfi srfi-64)
             (ice-9 rdelim)
             (ice-9 threads)
             (rnrs bytevectors)
             (net tls))

(define srcdir (or (getenv "abs_top_srcdir") "."))
(define builddir (or (getenv "abs_top_builddir") srcdir))
(define compat-source-dir (string-append srcdir "/module/compat"))
(define compat-object-dir (string-append builddir "/module/compat"))

(define (read-name-list file)
  ;; One name per line; lines starting with ";" are comments.
  (call-with-input-file file
    (lambda (port)
      (let loop ((names '()))
        (let ((line (read-line port)))
          (cond ((eof-object? line) (reverse names))
                ((or (string-null? line) (string-prefix? ";" line))
                 (loop names))
                (else (loop (cons (string->symbol line) names)))))))))

(define gnutls-names
  (read-name-list (string-append srcdir "/tests/guile-gnutls-3.7.9-names.txt")))

(define (exported-names module-name)
  (module-map (lambda (name variable) name) (resolve-interface module-name)))

;; The compatibility module, loaded as a program that put compat/ first
;; would load it.
(set! %load-path (cons compat-source-dir %load-path))
(set! %load-compiled-path (cons compat-object-dir %load-compiled-path))
(define compat (resolve-interface '(gnutls)))

(define (put-bytevector-all port bv)
  ((@ (rnrs io ports) put-bytevector) port bv)
  (force-output port))


(run-tests "compat-gnutls"

;;; The names.

(test-equal "the list has guile-gnutls 3.7.9's 509 names"
  509 (length gnutls-names))

(test-equal "(net tls) has every name of guile-gnutls's (gnutls)"
  '()
  (lset-difference eq? gnutls-names (exported-names '(net tls))))

(test-assert "(gnutls) is the compatibility module, not guile-gnutls"
  (string-prefix? compat-source-dir
                  (or (%search-load-path "gnutls.scm") "")))

(test-equal "(gnutls) exports exactly guile-gnutls's names"
  '(() ())
  (let ((ours (exported-names '(gnutls))))
    (list (lset-difference eq? gnutls-names ours)
          (lset-difference eq? ours gnutls-names))))

(test-equal "every name but make-session and peer-certificate-status is (net tls)'s own binding"
  '()
  (filter (lambda (name)
            (not (eq? (module-ref compat name)
                      (module-ref (resolve-interface '(net tls)) name))))
          (lset-difference eq? gnutls-names
                           '(make-session peer-certificate-status))))

;;; guile-gnutls's semantics: verification is the program's, after the
;;; handshake.

(define (handshake-with make-session-proc server-cert)
  "Handshake a client session made with MAKE-SESSION-PROC, trusting the
test CA, against our server presenting SERVER-CERT; return (SESSION . #t)
or (SESSION . EXCEPTION)."
  (call-with-values
      (lambda ()
        (serve-one-tls #:server-cert server-cert
                       #:server-body (lambda (s) (bye s close-request/rdwr))))
    (lambda (port finish)
      (let ((conn (connect-loopback port))
            (session (make-session-proc connection-end/client))
            (cred (make-certificate-credentials)))
        (set-certificate-credentials-x509-trust-file!
         cred (cert-file "ca") x509-certificate-format/pem)
        (set-session-credentials! session cred)
        (set-session-server-name! session server-name-type/dns "localhost")
        (set-session-default-priority! session)
        (set-session-transport-port! session conn)
        (set-session-timeout! session 5)
        (let ((result (catch #t
                        (lambda () (handshake session) #t)
                        (lambda args args))))
          (close-port conn)
          (finish)
          (cons session result))))))

(define compat-make-session (module-ref compat 'make-session))

(let ((r (handshake-with compat-make-session "untrusted")))
  (test-eq "(gnutls): a handshake with an untrusted peer completes, as in guile-gnutls"
    #t (cdr r))
  (test-assert "(gnutls): peer-certificate-status then reports the untrusted issuer, and invalid beside it"
    (let ((status ((module-ref compat 'peer-certificate-status) (car r))))
      (and (memq certificate-status/signer-not-found status)
           (memq certificate-status/invalid status))))
  (test-assert "(gnutls): the program's host-name check works on the peer's certificate"
    (let ((cert (import-x509-certificate
                 (car (session-peer-certificate-chain (car r)))
                 x509-certificate-format/der)))
      (and (x509-certificate-matches-hostname? cert "localhost")
           (not (x509-certificate-matches-hostname? cert "www.example.org"))))))

(let ((r (handshake-with compat-make-session "server")))
  (test-equal "(gnutls): a trusted peer has status ()"
    '(#t ())
    (list (cdr r) ((module-ref compat 'peer-certificate-status) (car r)))))

(let ((r (handshake-with make-session "untrusted")))
  (test-equal "(net tls): new code still refuses the untrusted peer in the handshake"
    'gnutls-error
    (and (pair? (cdr r)) (car (cdr r)))))

(test-assert "(gnutls): a handler written (lambda (key err proc) ...) gets the error and the procedure"
  ;; A plain-text "server" that answers the ClientHello with garbage.
  (let* ((listener (loopback-listener))
         (server (call-with-new-thread
                  (lambda ()
                    (false-if-exception
                     (let ((conn (car ((@ (net socket) accept) listener))))
                       (put-bytevector-all conn (make-bytevector 64 65))
                       (usleep 200000)
                       (close-port conn))))))
         (conn (connect-loopback (listener-port listener)))
         (session (compat-make-session connection-end/client)))
    (set-session-credentials! session (make-certificate-credentials))
    (set-session-default-priority! session)
    (set-session-transport-port! session conn)
    (set-session-timeout! session 5)
    (let ((caught (catch 'gnutls-error
                    (lambda () (handshake session) #f)
                    (lambda (key err proc)
                      (list err proc)))))
      (close-port conn)
      (join-thread server 10)
      (close-port listener)
      (and caught
           (integer? (car caught))
           (string? (error->string (car caught)))
           ((module-ref compat 'fatal-error?) (car caught))
           (eq? (cadr caught) 'handshake)))))

;;; Guile's own (web client), unchanged, in a process of its own.

(define web-client-program "
(use-modules (web client) (web response) (web uri) (rnrs bytevectors))
(define url (cadr (command-line)))
(format #t \"gnutls: ~a~%\"
        (if (eq? (@ (gnutls) handshake) (@ (net tls) handshake))
            \"guile-net\" \"other\"))
(catch 'tls-certificate-error
  (lambda ()
    (call-with-values (lambda () (http-request (string->uri url)))
      (lambda (response body)
        (format #t \"status: ~a~%body: ~a~%\" (response-code response)
                (if (bytevector? body) (utf8->string body) body)))))
  (lambda (key what . rest)
    (format #t \"tls-certificate-error: ~a~%\" what)))
")

(define (run-web-client url trust)
  "Run Guile's (web client) on URL in a new guile process with the
compatibility module first on its load paths and SSL_CERT_DIR=TRUST;
return its output."
  (let* ((dir (cert-dir))
         (script (string-append dir "/web-client.scm")))
    (call-with-output-file script
      (lambda (p) (display web-client-program p)))
    (let ((peer (spawn-peer
                 "env" "-u" "GUILE_TLS_CERTIFICATE_DIRECTORY"
                 (string-append "GUILE_LOAD_PATH=" compat-source-dir ":"
                                (or (getenv "GUILE_LOAD_PATH") ""))
                 (string-append "GUILE_LOAD_COMPILED_PATH=" compat-object-dir ":"
                                (or (getenv "GUILE_LOAD_COMPILED_PATH") ""))
                 (string-append "SSL_CERT_DIR=" trust)
                 "timeout" "60" "guile" "--no-auto-compile" script url)))
      (unless (peer-wait-exit peer 60)
        (kill-peer peer))
      (peer-output peer))))

(define (trust-dir name . files)
  "A directory holding copies of FILES (test certificate names), as
SSL_CERT_DIR holds PEM files."
  (let ((dir (string-append (cert-dir) "/" name)))
    (unless (file-exists? dir) (mkdir dir))
    (for-each (lambda (f)
                (copy-file (cert-file f) (string-append dir "/" f ".pem")))
              files)
    dir))

(let ((port (start-https-server)))
  (let ((out (run-web-client (format #f "https://localhost:~a/compat" port)
                             (trust-dir "trust-ca" "ca"))))
    (test-assert "(web client) loads the compatibility module"
      (string-contains out "gnutls: guile-net"))
    (test-assert "(web client) fetches an https URL from our server, trusting SSL_CERT_DIR"
      (and (string-contains out "status: 200")
           (string-contains out "body: hello /compat")))
    (unless (string-contains out "status: 200")
      (format #t "# web client said: ~s~%" out)))
  (let ((out (run-web-client (format #f "https://localhost:~a/compat" port)
                             (trust-dir "trust-other" "other-ca"))))
    (test-assert "(web client): a server its SSL_CERT_DIR does not vouch for is refused by its own check"
      (string-contains out "tls-certificate-error: invalid-certificate"))))

(remove-cert-dir))
