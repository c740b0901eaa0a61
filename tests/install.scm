;;; An installed Guile-Net, as a user meets it after `make install': run by
;;; `make check-install', which installs a fresh build of this tree into a
;;; temporary prefix and runs this file with that prefix's directories as
;;; Guile's load paths, GUILE_NET_UNINSTALLED unset and the build tree out
;;; of sight.  GUILE_NET_INSTALL_PREFIX names the prefix.  The modules load
;;; the installed extension, a verified TLS exchange runs over loopback,
;;; the docstrings and the manual are there, and the compatibility module
;;; (gnutls) loads from its own directory in a separate process.

(use-modules (tests harness)
             (tests tls-common)
             (net config)
             (net socket)
             (net tls)
             (srfi srfi-1)
             (srfi srfi-11)
             (srfi srfi-64)
             (ice-9 rdelim))

(define prefix (getenv "GUILE_NET_INSTALL_PREFIX"))

(define (under-prefix? file)
  (and (string? prefix) (string? file) (string-prefix? prefix file)))

(define (module-file name)
  "Where Guile finds the source of module NAME (a list of symbols)."
  (search-path %load-path
               (string-append (string-join (map symbol->string name) "/")
                              ".scm")))

(define modules
  '((net error) (net wait) (net scheduler) (net socket) (net tcp) (net tls)
    (net dtls) (net https) (web server https)))

(define (with-compat var)
  "VAR=VALUE for the environment variable VAR (a load path of the
installed prefix, as make check-install set it), its compat/ directory
first."
  (let ((dir (getenv var)))
    (string-append var "=" dir "/compat:" dir)))

(define (compat-guile-output expr)
  "Run EXPR in a new guile with the installed paths, compat/ directories
first; return what it printed."
  (let ((peer (spawn-peer "env"
                          (with-compat "GUILE_LOAD_PATH")
                          (with-compat "GUILE_LOAD_COMPILED_PATH")
                          "timeout" "60" "guile" "--no-auto-compile"
                          "-c" expr)))
    (unless (peer-wait-exit peer 60)
      (kill-peer peer))
    (string-trim-right (peer-output peer))))

(run-tests "install"
  (test-assert "GUILE_NET_INSTALL_PREFIX names the prefix" (string? prefix))
  (test-assert "not run against the build tree"
    (not (getenv "GUILE_NET_UNINSTALLED")))

  (test-assert "(net config) names the installed extension"
    (under-prefix? %guile-net-extension))
  (test-assert "... and it is there"
    (file-exists? (string-append %guile-net-extension ".so")))

  (for-each
   (lambda (name)
     (test-assert (format #f "~a loads from the prefix" name)
       (and (resolve-interface name)
            (under-prefix? (module-file name)))))
   modules)

  (test-assert "a primitive's docstring is there (procedure-documentation)"
    (let ((doc (procedure-documentation socket)))
      (and (string? doc) (> (string-length doc) 20))))

  (test-assert "the manual is installed"
    (file-exists? (string-append prefix "/share/info/guile-net.info")))

  (let-values (((client server)
                 (tls-pair
                  #:server-body
                  (lambda (s)
                    (let ((tls (session-record-port s)))
                      (let ((line (read-line tls)))
                        (display "installed reply\n" tls)
                        (force-output tls)
                        line)))
                  #:client-body
                  (lambda (s)
                    (let ((tls (session-record-port s)))
                      (display "installed request\n" tls)
                      (force-output tls)
                      (list (session-verify-peer? s) (read-line tls)))))))
    (test-equal "a verified TLS exchange: the client's side"
      '(#t "installed reply") client)
    (test-equal "... and the server's" "installed request" server))

  (test-equal "(gnutls) from the installed compat/ directory: 509 names"
    "509 #t"
    (compat-guile-output
     (string-append
      "(let ((names (module-map (lambda (n v) n) (resolve-interface '(gnutls))))"
      "      (file (search-path %load-path \"gnutls.scm\")))"
      "  (format #t \"~a ~a~%\" (length names)"
      "          (string-prefix? \"" (or prefix "?") "\" file)))"))))
