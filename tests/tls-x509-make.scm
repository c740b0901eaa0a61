;;; Making X.509 keys and certificates (guile-gnutls's generation API), and
;;; guile-gnutls's accessors.
;;;
;;; A CA key and self-signed CA certificate, a server key and a certificate
;;; the CA signs for localhost and 127.0.0.1 are made here and written to
;;; files; certtool --verify and openssl verify must accept the chain, and
;;; our client (verifying, host name checked) must complete a handshake
;;; with our server presenting it.  The accessors are checked against a
;;; certificate certtool makes at test time with known fields: against
;;; what `certtool -i' prints, and against the installed guile-gnutls's
;;; (gnutls) where it has the accessor (run in a child process).  Bad
;;; input gives clear errors.

(use-modules (tests harness)
             (tests tls-common)
             (srfi srfi-1)
             (srfi srfi-11)
             (srfi srfi-64)
             (net tls)
             (net error)
             (ice-9 rdelim)
             (ice-9 popen)
             (ice-9 regex)
             (ice-9 binary-ports)
             (ice-9 textual-ports)
             (ice-9 exceptions)
             (rnrs bytevectors))

(define (file-bytes name)
  (call-with-input-file name get-bytevector-all #:binary #t))

(define (write-bytes name . bvs)
  (call-with-output-file name
    (lambda (p) (for-each (lambda (bv) (put-bytevector p bv)) bvs))
    #:binary #t))

(define (run command)
  "Run shell COMMAND (bounded: killed after 60 s; without LD_PRELOAD, which
makes certtool hang under the sanitizer runs); return its exit status and
its output (stdout and stderr)."
  (let* ((p (open-input-pipe
             (string-append "env -u LD_PRELOAD timeout 60 " command " 2>&1")))
         (out (get-string-all p))
         (status (close-pipe p)))
    (values (status:exit-val status) out)))

(define (hex bv)
  (string-concatenate
   (map (lambda (b) (string-pad (number->string b 16) 2 #\0))
        (bytevector->u8-list bv))))

(define (raised thunk)
  (with-exception-handler (lambda (e) e)
    (lambda () (thunk) #f)
    #:unwind? #t))

(define (message-of e)
  (and e (tls-error? e) (tls-error-message e)))

(define (out-of-range? e)
  (and e (eq? (exception-kind e) 'out-of-range)))

(define (say-and-hear s text)
  (let ((p (session-record-port s)))
    (display text p) (newline p) (force-output p)
    (read-line p)))

(define (echo-line s)
  (let* ((p (session-record-port s)) (line (read-line p)))
    (display (string-append "echo " line "\n") p)
    (force-output p)
    line))

(define dir (cert-dir))
(define (path name) (string-append dir "/make-" name))
(define now (current-time))

;;; The chain, made here.

(define ca-key (generate-x509-private-key pk-algorithm/rsa 2048 '()))
(define ca (make-x509-certificate))
(set-x509-certificate-version! ca 3)
(set-x509-certificate-serial! ca #vu8(1))
(set-x509-certificate-dn-by-oid! ca oid/x520-organization-name "Guile-Net")
(set-x509-certificate-dn-by-oid! ca oid/x520-common-name "Guile-Net Made CA")
(set-x509-certificate-activation-time! ca (- now 60))
(set-x509-certificate-expiration-time! ca (+ now 86400))
(set-x509-certificate-key! ca ca-key)
(set-x509-certificate-ca-status! ca #t)
(set-x509-certificate-key-usage! ca (list key-usage/key-cert-sign
                                          key-usage/crl-sign))
(set-x509-certificate-subject-key-id! ca (x509-certificate-key-id ca))
(sign-x509-certificate! ca ca ca-key)

(define server-key (generate-x509-private-key pk-algorithm/ecdsa 256))
(define server (make-x509-certificate))
(set-x509-certificate-version! server 3)
(set-x509-certificate-dn-by-oid! server oid/x520-common-name "localhost")
(add-x509-certificate-subject-alternative-name!
 server x509-subject-alternative-name/dnsname "localhost")
(add-x509-certificate-subject-alternative-name!
 server x509-subject-alternative-name/ipaddress "127.0.0.1")
(set-x509-certificate-activation-time! server (- now 60))
(set-x509-certificate-expiration-time! server (+ now 3600))
(set-x509-certificate-key! server server-key)
(set-x509-certificate-ca-status! server #f)
(set-x509-certificate-key-usage! server (list key-usage/digital-signature))
(add-x509-certificate-key-purpose! server 'tls-www-server)
(sign-x509-certificate! server ca ca-key)

(define ca-pem (export-x509-certificate ca x509-certificate-format/pem))
(define server-pem (export-x509-certificate server x509-certificate-format/pem))
(write-bytes (path "ca.pem") ca-pem)
(write-bytes (path "server.pem") server-pem)
(write-bytes (path "chain.pem") server-pem ca-pem)
(write-bytes (path "server-key.pem")
             (pkcs8-export-x509-private-key server-key))
(write-bytes (path "ca-key.pem") (export-x509-private-key ca-key))

;;; A certificate certtool makes, with known fields.

(define (certtool-certificate)
  (call-with-output-file (path "known.tmpl")
    (lambda (p)
      (display "cn = \"known.test\"
o = \"Known Org\"
country = \"FR\"
serial = 4660
dns_name = \"known.test\"
dns_name = \"www.known.test\"
ip_address = \"192.0.2.1\"
uri = \"https://known.test/\"
signing_key
encryption_key
tls_www_server
tls_www_client
expiration_days = 7
" p)))
  (run (string-append "certtool --generate-privkey --key-type=rsa --bits=2048"
                      " --outfile " (path "known-key.pem")))
  (run (string-append "certtool --generate-certificate --load-privkey "
                      (path "known-key.pem")
                      " --load-ca-certificate " (path "ca.pem")
                      " --load-ca-privkey " (path "ca-key.pem")
                      " --template " (path "known.tmpl")
                      " --outfile " (path "known.pem")))
  (load-x509-certificate (path "known.pem")))

(define (certtool-info file)
  (let-values (((status out) (run (string-append "certtool -i --infile " file))))
    out))

(define (info-field info regexp)
  "The first group of REGEXP in certtool -i output INFO, or #f."
  (let ((m (string-match regexp info)))
    (and m (match:substring m 1))))

(define (guile-gnutls . exprs)
  "Evaluate EXPRS with the installed guile-gnutls, in a child guile, on the
certificate `known.pem' bound to `cert'; return the list of their values,
read back, or #f if (gnutls) cannot be loaded."
  (let ((program
         (format #f "~s"
                 `(begin
                    (use-modules (gnutls) (ice-9 binary-ports))
                    (define cert
                      (import-x509-certificate
                       (call-with-input-file ,(path "known.pem")
                         get-bytevector-all #:binary #t)
                       x509-certificate-format/pem))
                    (write (list ,@exprs))))))
    (call-with-output-file (path "gg.scm")
      (lambda (p) (display program p)))
    (let-values (((status out)
                  (run (string-append "guile --no-auto-compile -s "
                                      (path "gg.scm")))))
      (and (zero? status)
           (let ((lines (filter (lambda (l) (string-prefix? "(" l))
                                (string-split out #\newline))))
             (and (pair? lines)
                  (call-with-input-string (last lines) read)))))))

(run-tests "tls-x509-make"
  ;; What was made.
  (test-assert "keys are private keys"
    (and (x509-private-key? ca-key) (x509-private-key? server-key)))
  (test-equal "CA subject" "CN=Guile-Net Made CA,O=Guile-Net"
    (x509-certificate-dn ca))
  (test-equal "CA is self-signed" (x509-certificate-dn ca)
    (x509-certificate-issuer-dn ca))
  (test-equal "server issuer is the CA" (x509-certificate-dn ca)
    (x509-certificate-issuer-dn server))
  (test-equal "version 3" '(3 3)
    (list (x509-certificate-version ca) (x509-certificate-version server)))
  (test-equal "CA serial as set" #vu8(1) (x509-certificate-serial ca))
  (test-assert "server serial: random, positive, 16 bytes"
    (let ((s (x509-certificate-serial server)))
      (and (= 16 (bytevector-length s))
           (< (bytevector-u8-ref s 0) 128))))
  (test-equal "CA status" '(#t #f)
    (list (x509-certificate-ca-status ca) (x509-certificate-ca-status server)))
  (test-equal "key usages" '((crl-sign key-cert-sign) (digital-signature))
    (list (x509-certificate-key-usage ca) (x509-certificate-key-usage server)))
  (test-equal "key purpose" '(tls-www-server)
    (x509-certificate-key-purposes server))
  (test-equal "validity" (list (- now 60) (+ now 3600))
    (list (x509-certificate-activation-time server)
          (x509-certificate-expiration-time server)))
  (test-equal "alternative names, by index"
    '((dnsname . "localhost") (ipaddress . "127.0.0.1") (#f . #f))
    (map (lambda (i)
           (call-with-values
               (lambda () (x509-certificate-subject-alternative-name server i))
             cons))
         '(0 1 2)))
  (test-equal "alternative names, all" '((dns . "localhost") (ip . "127.0.0.1"))
    (x509-certificate-subject-alternative-names server))
  (test-equal "subject key id is the key id (set by signing when not given)"
    (x509-certificate-key-id server) (x509-certificate-subject-key-id server))
  (test-equal "authority key id is the CA's subject key id"
    (x509-certificate-subject-key-id ca)
    (x509-certificate-authority-key-id server))
  (test-equal "algorithms" '(rsa-sha256 ecdsa 256 rsa 2048)
    (append (list (x509-certificate-signature-algorithm server))
            (call-with-values
                (lambda () (x509-certificate-public-key-algorithm server))
              list)
            (call-with-values
                (lambda () (x509-certificate-public-key-algorithm ca))
              list)))
  (test-assert "matches its host names"
    (and (x509-certificate-matches-hostname? server "localhost")
         (x509-certificate-matches-hostname? server "127.0.0.1")
         (not (x509-certificate-matches-hostname? server "example.org"))))

  ;; Exported keys come back.
  (test-assert "private key export, PEM round trip"
    (let ((bv (export-x509-private-key server-key)))
      (equal? bv (export-x509-private-key (import-x509-private-key bv)))))
  (test-assert "private key export, DER round trip"
    (let ((bv (export-x509-private-key ca-key x509-certificate-format/der)))
      (equal? bv (export-x509-private-key
                  (import-x509-private-key bv x509-certificate-format/der)
                  x509-certificate-format/der))))
  (test-assert "PKCS #8 export is PKCS #8"
    (string-contains (utf8->string (file-bytes (path "server-key.pem")))
                     "-----BEGIN PRIVATE KEY-----"))
  (let ((enc (pkcs8-export-x509-private-key server-key
                                            x509-certificate-format/pem
                                            "sesame")))
    (test-assert "encrypted PKCS #8"
      (string-contains (utf8->string enc) "ENCRYPTED PRIVATE KEY"))
    (test-equal "encrypted PKCS #8 decrypts to the same key"
      (export-x509-private-key server-key)
      (export-x509-private-key
       (pkcs8-import-x509-private-key enc x509-certificate-format/pem
                                      "sesame")))
    (test-assert "wrong password refused"
      (tls-error? (raised (lambda ()
                            (pkcs8-import-x509-private-key
                             enc x509-certificate-format/pem "open"))))))
  (test-assert "certificate export round trip"
    (equal? server-pem
            (export-x509-certificate
             (import-x509-certificate server-pem x509-certificate-format/pem)
             x509-certificate-format/pem)))
  (test-assert "Ed25519 and ECDSA P-384 keys"
    (let ((ed (generate-x509-private-key pk-algorithm/eddsa-ed25519 256))
          (p384 (generate-x509-private-key pk-algorithm/ecdsa 384)))
      (let ((cert (make-x509-certificate)))
        (set-x509-certificate-dn-by-oid! cert oid/x520-common-name "ed")
        (set-x509-certificate-activation-time! cert now)
        (set-x509-certificate-expiration-time! cert (+ now 60))
        (set-x509-certificate-key! cert ed)
        (sign-x509-certificate! cert ca ca-key digest/sha384)
        (and (eq? 'rsa-sha384 (x509-certificate-signature-algorithm cert))
             (eq? 'eddsa-ed25519
                  (x509-certificate-public-key-algorithm cert))
             (string-contains (object->string p384) "384")))))

  ;; Other implementations accept the chain.
  (let-values (((status out)
                (run (string-append "certtool --verify --load-ca-certificate "
                                    (path "ca.pem") " --infile "
                                    (path "chain.pem")))))
    (test-equal "certtool --verify exit status" 0 status)
    (test-assert "certtool --verify: verified"
      (string-contains out "Chain verification output: Verified")))
  (let-values (((status out)
                (run (string-append "openssl verify -CAfile " (path "ca.pem")
                                    " " (path "server.pem")))))
    (test-equal "openssl verify exit status" 0 status)
    (test-assert "openssl verify: OK"
      (string-contains out (string-append (path "server.pem") ": OK"))))
  (let-values (((status out)
                (run (string-append "openssl verify -CAfile " (path "ca.pem")
                                    " -verify_hostname localhost"
                                    " -purpose sslserver "
                                    (path "server.pem")))))
    (test-equal "openssl verify, host name and server purpose" 0 status))
  (let-values (((status out)
                (run (string-append "openssl verify -CAfile " (path "server.pem")
                                    " " (path "server.pem")))))
    (test-assert "openssl refuses the server certificate as its own CA"
      (not (zero? status))))
  (let-values (((status out)
                (run (string-append "openssl pkey -noout -in "
                                    (path "server-key.pem")))))
    (test-equal "openssl reads the PKCS #8 key" 0 status))

  ;; A real handshake with the chain: our client verifies by default and
  ;; checks the host name.
  (let* ((server-creds
          (let ((c (make-certificate-credentials)))
            (set-certificate-credentials-x509-keys!
             c (list (load-x509-certificate (path "server.pem")))
             (load-x509-private-key (path "server-key.pem")))
            c))
         (client-creds
          (lambda ()
            (let ((c (make-certificate-credentials)))
              (set-certificate-credentials-x509-trust-file! c (path "ca.pem"))
              c))))
    (let-values (((c s) (tls-pair #:server-creds server-creds
                                  #:client-creds (client-creds)
                                  #:server-name "localhost"
                                  #:client-body
                                  (lambda (s)
                                    (list (session-verify-peer? s)
                                          (say-and-hear s "made")))
                                  #:server-body echo-line)))
      (test-equal "handshake with the made chain, verified" '(#t "echo made") c)
      (test-equal "server side read" "made" s))
    (let-values (((c s) (tls-pair #:server-creds server-creds
                                  #:client-creds (client-creds)
                                  #:server-name "example.org"
                                  #:client-body (lambda (s) 'connected))))
      (test-assert "another host name is refused"
        (and (tls-verification-error? c)
             (memq 'host-name-mismatch (tls-verification-reasons c))))))

  ;; Accessors against a certificate certtool made.
  (let* ((known (certtool-certificate))
         (info (certtool-info (path "known.pem"))))
    (test-equal "version, as certtool -i"
      (string->number (info-field info "Version: ([0-9]+)"))
      (x509-certificate-version known))
    (test-equal "serial, as certtool -i"
      (info-field info "Serial Number \\(hex\\): ([0-9a-f]+)")
      (hex (x509-certificate-serial known)))
    (test-equal "serial 4660" #vu8(#x12 #x34) (x509-certificate-serial known))
    (test-equal "subject key id, as certtool -i"
      (info-field info "Subject Key Identifier[^\n]*\n[ \t]*([0-9a-f]+)")
      (hex (x509-certificate-subject-key-id known)))
    (test-equal "authority key id, as certtool -i"
      (info-field info "Authority Key Identifier[^\n]*\n[ \t]*([0-9a-f]+)")
      (hex (x509-certificate-authority-key-id known)))
    (test-equal "key id, as certtool -i's public key id"
      (info-field info "Public Key ID:[ \t\n]*sha1:([0-9a-f]+)")
      (hex (x509-certificate-key-id known)))
    (test-equal "signature algorithm, as certtool -i"
      (info-field info "Signature Algorithm: ([A-Z0-9-]+)")
      (sign-algorithm->string (x509-certificate-signature-algorithm known)))
    (test-equal "public key algorithm, as certtool -i"
      (info-field info "Subject Public Key Algorithm: ([A-Z/]+)")
      (pk-algorithm->string (x509-certificate-public-key-algorithm known)))
    (test-equal "subject OIDs (C, O, CN)"
      (list oid/x520-country-name oid/x520-organization-name
            oid/x520-common-name #f)
      (map (lambda (i) (x509-certificate-dn-oid known i)) '(0 1 2 3)))
    (test-equal "issuer OIDs" (list oid/x520-organization-name
                                    oid/x520-common-name #f)
      (map (lambda (i) (x509-certificate-issuer-dn-oid known i)) '(0 1 2)))
    (test-equal "CA status, as certtool -i"
      (string=? "TRUE"
                (info-field info "Certificate Authority \\(CA\\): ([A-Z]+)"))
      (x509-certificate-ca-status known))
    (test-equal "validity, as openssl's dates"
      (let-values (((status out)
                    (run (string-append "openssl x509 -noout -startdate"
                                        " -enddate -dateopt iso_8601 -in "
                                        (path "known.pem")))))
        out)
      (string-append
       "notBefore="
       (strftime "%Y-%m-%d %H:%M:%SZ"
                 (gmtime (x509-certificate-activation-time known)))
       "\nnotAfter="
       (strftime "%Y-%m-%d %H:%M:%SZ"
                 (gmtime (x509-certificate-expiration-time known)))
       "\n"))
    (test-assert "big index: #f, as guile-gnutls"
      (not (x509-certificate-dn-oid known (- (expt 2 32) 1))))
    (test-equal "key usages (signing_key, encryption_key)"
      '(key-encipherment digital-signature)
      (x509-certificate-key-usage known))
    (test-equal "key purposes" '(tls-www-client tls-www-server)
      (sort (x509-certificate-key-purposes known)
            (lambda (a b) (string<? (symbol->string a) (symbol->string b)))))
    (test-equal "alternative names" '((dnsname . "known.test")
                                      (dnsname . "www.known.test")
                                      (uri . "https://known.test/")
                                      (ipaddress . "192.0.2.1")
                                      (#f . #f))
      (map (lambda (i)
             (call-with-values
                 (lambda () (x509-certificate-subject-alternative-name known i))
               cons))
           '(0 1 2 3 4)))
    (test-equal "fingerprints, as certtool -i"
      (list (info-field info "sha1:([0-9a-f]+)")
            (info-field info "sha256:([0-9a-f]+)"))
      (list (hex (x509-certificate-fingerprint known digest/sha1))
            (hex (x509-certificate-fingerprint known digest/sha256))))
    (test-equal "no authority key id on a self-made root"
      (- 56)
      (let ((e (raised (lambda ()
                         (x509-certificate-authority-key-id
                          (load-x509-certificate (path "ca.pem")))))))
        (and (tls-error? e) (tls-error-code e))))

    ;; The installed guile-gnutls on the same certificate.
    (let ((theirs
           (guile-gnutls
            '(x509-certificate-version cert)
            '(x509-certificate-key-id cert)
            '(x509-certificate-subject-key-id cert)
            '(x509-certificate-authority-key-id cert)
            '(map (lambda (i) (x509-certificate-dn-oid cert i)) '(0 1 2 3))
            '(map (lambda (i) (x509-certificate-issuer-dn-oid cert i))
                  '(0 1 2))
            '(map key-usage->string (x509-certificate-key-usage cert))
            '(call-with-values
                 (lambda () (x509-certificate-public-key-algorithm cert))
               (lambda (alg bits) (list (pk-algorithm->string alg) bits)))
            '(map (lambda (i)
                    (call-with-values
                        (lambda ()
                          (x509-certificate-subject-alternative-name cert i))
                      (lambda (type name)
                        (and type
                             (list (x509-subject-alternative-name->string type)
                                   name)))))
                  '(0 1 2 4))
            '(x509-certificate-fingerprint cert digest/sha1)
            '(x509-certificate-fingerprint cert digest/sha256)
            '(x509-certificate-fingerprint cert digest/md5)
            '(map digest->string (list digest/md5 digest/sha1 digest/sha256))
            '(map x509-certificate-format->string
                  (list x509-certificate-format/der x509-certificate-format/pem))
            ;; guile-gnutls gives DNs in the certificate's order, ours
            ;; in RFC 4514's (the last attribute first).
            '(x509-certificate-dn cert)
            '(x509-certificate-issuer-dn cert))))
      (define (rfc4514->asn1-order dn)
        (string-join (reverse (string-split dn #\,)) ","))
      (test-assert "guile-gnutls's (gnutls) ran" (pair? theirs))
      (test-equal "the same as guile-gnutls's accessors"
        theirs
        (list (x509-certificate-version known)
              (x509-certificate-key-id known)
              (x509-certificate-subject-key-id known)
              (x509-certificate-authority-key-id known)
              (map (lambda (i) (x509-certificate-dn-oid known i)) '(0 1 2 3))
              (map (lambda (i) (x509-certificate-issuer-dn-oid known i))
                   '(0 1 2))
              (map key-usage->string (x509-certificate-key-usage known))
              (call-with-values
                  (lambda () (x509-certificate-public-key-algorithm known))
                (lambda (alg bits) (list (pk-algorithm->string alg) bits)))
              (map (lambda (i)
                     (call-with-values
                         (lambda ()
                           (x509-certificate-subject-alternative-name known i))
                       (lambda (type name)
                         (and type
                              (list (x509-subject-alternative-name->string type)
                                    name)))))
                   '(0 1 2 4))
              (x509-certificate-fingerprint known digest/sha1)
              (x509-certificate-fingerprint known digest/sha256)
              (x509-certificate-fingerprint known digest/md5)
              (map digest->string (list digest/md5 digest/sha1 digest/sha256))
              (map x509-certificate-format->string
                   (list x509-certificate-format/der
                         x509-certificate-format/pem))
              (rfc4514->asn1-order (x509-certificate-dn known))
              (rfc4514->asn1-order (x509-certificate-issuer-dn known))))))

  ;; The families.
  (test-equal "constants are the symbols the accessors return"
    '(rsa ecdsa ecdsa ecdsa eddsa-ed25519 rsa-sha256 sha256 key-cert-sign
      dnsname ipaddress)
    (list pk-algorithm/rsa pk-algorithm/ecdsa pk-algorithm/ecc pk-algorithm/ec
          pk-algorithm/eddsa-ed25519 sign-algorithm/rsa-sha256 digest/sha256
          key-usage/key-cert-sign x509-subject-alternative-name/dnsname
          x509-subject-alternative-name/ipaddress))
  (test-equal "->string"
    '("RSA" "EC/ECDSA" "UNKNOWN" "RSA-SHA256" "ECDSA-SHA384" "sha384"
      "key-cert-sign" "ipaddress" "pem" "flag-provable" "2.5.4.3")
    (list (pk-algorithm->string pk-algorithm/rsa)
          (pk-algorithm->string pk-algorithm/ecdsa)
          (pk-algorithm->string pk-algorithm/unknown)
          (sign-algorithm->string sign-algorithm/rsa-sha256)
          (sign-algorithm->string sign-algorithm/ecdsa-sha384)
          (digest->string digest/sha384)
          (key-usage->string key-usage/key-cert-sign)
          (x509-subject-alternative-name->string
           x509-subject-alternative-name/ipaddress)
          (x509-certificate-format->string x509-certificate-format/pem)
          (privkey->string privkey/flag-provable)
          (oid->string oid/x520-common-name)))
  (test-assert "every digest fingerprints or says why not"
    (every (lambda (d)
             (let ((r (catch #t
                        (lambda () (x509-certificate-fingerprint server d))
                        (lambda (key . args) key))))
               (or (and (bytevector? r) (> (bytevector-length r) 0))
                   (eq? r 'gnutls-error))))
           (list digest/null digest/md5 digest/sha1 digest/rmd160 digest/md2
                 digest/sha256 digest/sha384 digest/sha512 digest/sha224
                 digest/sha3-224 digest/sha3-256 digest/sha3-384
                 digest/sha3-512 digest/md5-sha1 digest/gostr-94
                 digest/streebog-256 digest/streebog-512 digest/shake-128
                 digest/shake-256)))
  (test-equal "fingerprint lengths" '(16 20 32 48 64)
    (map (lambda (d) (bytevector-length (x509-certificate-fingerprint server d)))
         (list digest/md5 digest/sha1 digest/sha256 digest/sha384
               digest/sha512)))
  (test-equal "->string of a wrong type" '(wrong-type-arg wrong-type-arg
                                           wrong-type-arg wrong-type-arg)
    (list (error-key (pk-algorithm->string 1))
          (error-key (digest->string "sha256"))
          (error-key (oid->string 'cn))
          (error-key (privkey->string 'flag-ca))))
  (test-equal "->string of a symbol of another family" 'out-of-range
    (error-key (key-usage->string 'rsa)))

  ;; Bad input.
  (test-assert "unknown algorithm"
    (let ((e (raised (lambda () (generate-x509-private-key 'rsa4096 2048)))))
      (and (out-of-range? e)
           (string-contains (object->string (exception-irritants e))
                            "pk-algorithm/"))))
  (test-equal "algorithm not a symbol" 'wrong-type-arg
    (error-key (generate-x509-private-key "rsa" 2048)))
  (test-assert "negative bits"
    (out-of-range? (raised (lambda ()
                             (generate-x509-private-key pk-algorithm/rsa -1)))))
  (test-assert "absurd bits"
    (out-of-range? (raised (lambda ()
                             (generate-x509-private-key pk-algorithm/rsa
                                                        (expt 2 40))))))
  (test-assert "flags not integers"
    (eq? 'wrong-type-arg
         (error-key (generate-x509-private-key pk-algorithm/ecdsa 256
                                               '(provable)))))
  (let ((fresh (lambda ()
                 (let ((c (make-x509-certificate)))
                   (set-x509-certificate-dn-by-oid! c oid/x520-common-name "x")
                   (set-x509-certificate-key! c server-key)
                   c))))
    (test-assert "expiration before activation"
      (let ((c (fresh)))
        (set-x509-certificate-activation-time! c now)
        (set-x509-certificate-expiration-time! c (- now 3600))
        (let ((m (message-of (raised (lambda ()
                                       (sign-x509-certificate! c ca ca-key))))))
          (and m (string-contains m "expire")
               (string-contains m "before it is activated")))))
    (test-assert "no validity"
      (let ((m (message-of (raised (lambda ()
                                     (sign-x509-certificate! (fresh) ca
                                                             ca-key))))))
        (and m (string-contains m "validity"))))
    (test-assert "no key"
      (let ((c (make-x509-certificate)))
        (set-x509-certificate-activation-time! c now)
        (set-x509-certificate-expiration-time! c (+ now 60))
        (let ((m (message-of (raised (lambda ()
                                       (sign-x509-certificate! c ca ca-key))))))
          (and m (string-contains m "set-x509-certificate-key!")))))
    (let ((timed (lambda ()
                   (let ((c (fresh)))
                     (set-x509-certificate-activation-time! c now)
                     (set-x509-certificate-expiration-time! c (+ now 60))
                     c))))
      (test-assert "an issuer that is not a CA"
        (let ((m (message-of (raised (lambda ()
                                       (sign-x509-certificate! (timed) server
                                                               server-key))))))
          (and m (string-contains m "not a certificate authority"))))
      (test-assert "a key that is not the issuer's"
        (let ((m (message-of (raised (lambda ()
                                       (sign-x509-certificate! (timed) ca
                                                               server-key))))))
          (and m (string-contains m "not the issuer certificate's key"))))
      (test-assert "self-signing with another key"
        (let* ((c (timed))
               (m (message-of (raised (lambda ()
                                        (sign-x509-certificate! c c ca-key))))))
          (and m (string-contains m "not the certificate's key"))))
      (test-equal "digest not a digest" 'out-of-range
        (error-key (sign-x509-certificate! (timed) ca ca-key 'sha-999)))))
  (let ((c (make-x509-certificate)))
    (test-equal "version 4" 'out-of-range
      (error-key (set-x509-certificate-version! c 4)))
    (test-equal "empty serial" 'out-of-range
      (error-key (set-x509-certificate-serial! c #vu8())))
    (test-equal "serial of 21 bytes" 'out-of-range
      (error-key (set-x509-certificate-serial! c (make-bytevector 21 1))))
    (test-equal "serial not a bytevector" 'wrong-type-arg
      (error-key (set-x509-certificate-serial! c 7)))
    (test-equal "DN attribute not an OID" 'out-of-range
      (error-key (set-x509-certificate-dn-by-oid! c "CN" "x")))
    (test-equal "empty DN value" 'out-of-range
      (error-key (set-x509-certificate-dn-by-oid! c oid/x520-common-name "")))
    (test-equal "IP alternative name that is no address" 'out-of-range
      (error-key (add-x509-certificate-subject-alternative-name!
                  c x509-subject-alternative-name/ipaddress "localhost")))
    (test-equal "alternative name of a type not added" 'out-of-range
      (error-key (add-x509-certificate-subject-alternative-name!
                  c x509-subject-alternative-name/dn "CN=x")))
    (test-equal "unknown key usage" 'out-of-range
      (error-key (set-x509-certificate-key-usage! c '(sign-everything))))
    (test-equal "key usages not a list" 'wrong-type-arg
      (error-key (set-x509-certificate-key-usage! c key-usage/crl-sign)))
    (test-equal "CA status not a boolean" 'wrong-type-arg
      (error-key (set-x509-certificate-ca-status! c 'yes)))
    (test-equal "time not an integer" 'wrong-type-arg
      (error-key (set-x509-certificate-activation-time! c 1.5)))
    (test-equal "time before 1950" 'out-of-range
      (error-key (set-x509-certificate-expiration-time! c (- (expt 10 10)))))
    (test-equal "unknown key purpose" 'out-of-range
      (error-key (add-x509-certificate-key-purpose! c 'world-domination)))
    (test-equal "negative index" 'out-of-range
      (error-key (x509-certificate-dn-oid server -1)))
    (test-equal "index not an integer" 'wrong-type-arg
      (error-key (x509-certificate-subject-alternative-name server 'first))))
  (test-equal "make-self-signed-certificate still makes localhost"
    "CN=localhost"
    (call-with-values (lambda () (make-self-signed-certificate "localhost"))
      (lambda (cert key)
        (x509-certificate-dn (import-x509-certificate
                              cert x509-certificate-format/pem)))))
  (test-equal "make-self-signed-certificate: days out of range" 'out-of-range
    (error-key (make-self-signed-certificate "localhost" 0)))
  (remove-cert-dir))
