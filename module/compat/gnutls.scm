;;; (gnutls) -- guile-gnutls's module, from Guile-Net.
;;;
;;; A program written for guile-gnutls 3.7.9 runs unchanged with this module
;;; in place of guile-gnutls's: it exports exactly the names guile-gnutls's
;;; (gnutls) exports, each Guile-Net's implementation from (net tls).  It
;;; lives in a directory of its own, compat/, which is not on Guile's load
;;; path: a program that wants it puts that directory first, e.g.
;;;
;;;   GUILE_LOAD_PATH=/usr/local/share/guile-net/compat
;;;   GUILE_LOAD_COMPILED_PATH=/usr/local/lib/guile-net/compat
;;;
;;; (see "Coming from guile-gnutls" in the manual).
;;;
;;; Where guile-gnutls's semantics differ from (net tls)'s, this module
;;; has guile-gnutls's, and is nowhere weaker:
;;;
;;; - a session does not verify its peer during `handshake': programs
;;;   written for guile-gnutls verify by hand afterwards, with
;;;   `peer-certificate-status' and `x509-certificate-matches-hostname?',
;;;   and those give them what guile-gnutls's give.  A program may still
;;;   ask for our verification with `set-session-verify-peer!' from
;;;   (net tls);
;;; - `peer-certificate-status' lists certificate-status/invalid with the
;;;   other reasons of a chain that fails, as GnuTLS's status bits do;
;;; - everything else is (net tls)'s: `set-session-default-priority!'
;;;   still starts at TLS 1.2, a `gnutls-error' throw has guile-gnutls's
;;;   arguments (the error, then the procedure's name), and the record
;;;   port is buffered and sends close_notify when closed.

(define-module (gnutls)
  #:use-module ((net tls) #:hide (make-session peer-certificate-status))
  #:use-module ((net tls)
                #:select ((make-session . net:make-session)
                          (peer-certificate-status
                           . net:peer-certificate-status)))
  #:export (make-session peer-certificate-status)
  #:re-export (alert-description->string alert-description/access-denied
              alert-description/bad-certificate
              alert-description/bad-record-mac
              alert-description/certificate-expired
              alert-description/certificate-revoked
              alert-description/certificate-unknown
              alert-description/certificate-unobtainable
              alert-description/close-notify alert-description/decode-error
              alert-description/decompression-failure
              alert-description/decrypt-error
              alert-description/decryption-failed
              alert-description/export-restriction
              alert-description/handshake-failure
              alert-description/illegal-parameter
              alert-description/inner-application-failure
              alert-description/inner-application-verification
              alert-description/insufficient-security
              alert-description/internal-error
              alert-description/no-renegotiation
              alert-description/protocol-version
              alert-description/record-overflow
              alert-description/ssl3-no-certificate
              alert-description/unexpected-message
              alert-description/unknown-ca
              alert-description/unknown-psk-identity
              alert-description/unrecognized-name
              alert-description/unsupported-certificate
              alert-description/unsupported-extension
              alert-description/user-canceled alert-get alert-level->string
              alert-level/fatal alert-level/warning alert-send
              anonymous-client-credentials? anonymous-server-credentials? bye
              certificate-credentials? certificate-request->string
              certificate-request/ignore certificate-request/request
              certificate-request/require certificate-status->string
              certificate-status/expired
              certificate-status/insecure-algorithm
              certificate-status/invalid
              certificate-status/invalid-ocsp-status
              certificate-status/mismatch
              certificate-status/missing-ocsp-status
              certificate-status/not-activated
              certificate-status/purpose-mismatch
              certificate-status/revocation-data-issued-in-future
              certificate-status/revocation-data-superseded
              certificate-status/revoked certificate-status/signature-failure
              certificate-status/signer-constraints-failed
              certificate-status/signer-not-ca
              certificate-status/signer-not-found
              certificate-status/unexpected-owner
              certificate-status/unknown-crit-extensions
              certificate-type->string certificate-type/openpgp
              certificate-type/x509 certificate-verify->string
              certificate-verify/allow-any-x509-v1-ca-certificate
              certificate-verify/allow-any-x509-v1-ca-crt
              certificate-verify/allow-sign-rsa-md2
              certificate-verify/allow-sign-rsa-md5
              certificate-verify/allow-x509-v1-ca-certificate
              certificate-verify/allow-x509-v1-ca-crt
              certificate-verify/disable-ca-sign
              certificate-verify/do-not-allow-same cipher->string
              cipher-suite->string cipher/3des-cbc cipher/aes-128-cbc
              cipher/aes-256-cbc cipher/arcfour cipher/arcfour-128
              cipher/arcfour-40 cipher/des-cbc cipher/null cipher/rc2-40-cbc
              cipher/rijndael-128-cbc cipher/rijndael-256-cbc
              cipher/rijndael-cbc close-request->string close-request/rdwr
              close-request/wr compression-method->string
              compression-method/deflate compression-method/lzo
              compression-method/null connection-end->string
              connection-end/client connection-end/server
              connection-flag->string connection-flag/allow-id-change
              connection-flag/auto-reauth connection-flag/datagram
              connection-flag/enable-early-data
              connection-flag/enable-early-start
              connection-flag/enable-false-start connection-flag/enable-rawpk
              connection-flag/force-client-cert connection-flag/key-share-top
              connection-flag/key-share-top2 connection-flag/key-share-top3
              connection-flag/no-auto-rekey connection-flag/no-extensions
              connection-flag/no-replay-protection connection-flag/no-signal
              connection-flag/no-tickets connection-flag/nonblock
              connection-flag/post-handshake-auth
              connection-flag/safe-padding-check credentials->string
              credentials/anon credentials/anonymous credentials/certificate
              credentials/ia credentials/psk credentials/srp dh-parameters?
              digest->string digest/md2 digest/md5 digest/null digest/rmd160
              digest/sha1 digest/sha256 error->string error/again
              error/already-registered error/application-error-max
              error/application-error-min error/asn1-der-error
              error/asn1-der-overflow error/asn1-element-not-found
              error/asn1-embedded-null-in-string error/asn1-generic-error
              error/asn1-identifier-not-found error/asn1-syntax-error
              error/asn1-tag-error error/asn1-tag-implicit
              error/asn1-time-error error/asn1-type-any-error
              error/asn1-value-not-found error/asn1-value-not-valid
              error/auth-error error/bad-cookie error/base64-decoding-error
              error/base64-encoding-error
              error/base64-unexpected-header-error error/certificate-error
              error/certificate-key-mismatch error/certificate-list-unsorted
              error/certificate-required error/certificate-time-error
              error/certificate-verification-error
              error/channel-binding-not-available error/compression-failed
              error/constraint-error error/crl-verification-error
              error/crypto-already-registered error/crypto-init-failed
              error/cryptodev-device-error error/cryptodev-ioctl-error
              error/db-entry-exists error/db-error error/decompression-failed
              error/decryption-failed error/dh-prime-unacceptable
              error/early-data-rejected error/ecc-no-supported-curves
              error/ecc-unsupported-curve error/encryption-failed
              error/error-in-finished-packet error/expired
              error/fatal-alert-received error/file-error
              error/got-application-data error/handshake-during-false-start
              error/handshake-too-large error/hash-failed
              error/heartbeat-ping-received error/heartbeat-pong-received
              error/ia-verify-failed error/idna-error error/illegal-parameter
              error/illegal-srp-username error/inappropriate-fallback
              error/incompat-dsa-key-with-tls-protocol
              error/incompatible-crypto-library
              error/incompatible-gcrypt-library
              error/incompatible-libtasn1-library
              error/incompatible-sig-with-key error/insufficient-cred
              error/insufficient-credentials error/insufficient-security
              error/insuficient-cred error/insuficient-credentials
              error/int-check-again error/int-ret-0 error/internal-error
              error/interrupted error/invalid-password
              error/invalid-password-string error/invalid-request
              error/invalid-session error/invalid-utf8-email
              error/invalid-utf8-string error/key-import-failed
              error/key-usage-violation error/keyfile-error
              error/keyfile-parsing-error error/lib-in-error-state
              error/locking-error error/mac-verify-failed
              error/malformed-cidr error/memory-error error/missing-extension
              error/need-fallback error/no-application-protocol
              error/no-certificate-found error/no-certificate-status
              error/no-cipher-suites error/no-common-key-share
              error/no-compression-algorithms error/no-embedded-data
              error/no-priorities-were-set error/no-self-test
              error/no-temporary-dh-params error/no-temporary-rsa-params
              error/not-yet-activated error/ocsp-mismatch-with-certs
              error/ocsp-response-error error/openpgp-fingerprint-unsupported
              error/openpgp-getkey-failed error/openpgp-keyring-error
              error/openpgp-preferred-key-error error/openpgp-subkey-error
              error/openpgp-uid-revoked error/parsing-error
              error/pk-decryption-failed error/pk-encryption-failed
              error/pk-generation-error error/pk-invalid-privkey
              error/pk-invalid-pubkey error/pk-invalid-pubkey-params
              error/pk-no-validation-params error/pk-sig-verify-failed
              error/pk-sign-failed error/pkcs1-wrong-pad
              error/pkcs11-attribute-error error/pkcs11-data-error
              error/pkcs11-device-error error/pkcs11-error
              error/pkcs11-key-error error/pkcs11-load-error
              error/pkcs11-pin-error error/pkcs11-pin-expired
              error/pkcs11-pin-locked
              error/pkcs11-requested-object-not-availble
              error/pkcs11-session-error error/pkcs11-signature-error
              error/pkcs11-slot-error error/pkcs11-token-error
              error/pkcs11-unsupported-feature-error error/pkcs11-user-error
              error/premature-termination error/privkey-verification-error
              error/pull-error error/push-error error/random-device-error
              error/random-failed error/reauth-request
              error/received-disallowed-name error/received-illegal-extension
              error/received-illegal-parameter error/record-limit-reached
              error/record-overflow error/rehandshake
              error/requested-data-not-available
              error/safe-renegotiation-failed error/self-test-error
              error/session-eof error/session-user-id-changed
              error/short-memory-buffer error/sockets-init-error
              error/srp-pwd-error error/srp-pwd-parsing-error error/success
              error/timedout error/tls-packet-decoding-error
              error/too-many-empty-packets error/too-many-handshake-packets
              error/too-many-matches error/tpm-error error/tpm-key-not-found
              error/tpm-key-password-error error/tpm-no-lib
              error/tpm-session-error error/tpm-srk-password-error
              error/tpm-uninitialized error/unavailable-during-handshake
              error/unexpected-extensions-length
              error/unexpected-handshake-packet error/unexpected-packet
              error/unexpected-packet-length error/unimplemented-feature
              error/unknown-algorithm error/unknown-hash-algorithm
              error/unknown-pk-algorithm error/unknown-pkcs-bag-type
              error/unknown-pkcs-content-type error/unknown-srp-username
              error/unrecognized-name error/unsafe-renegotiation-denied
              error/unsupported-certificate-type
              error/unsupported-signature-algorithm
              error/unsupported-version-packet error/user-error
              error/warning-alert-received error/warning-ia-fphf-received
              error/warning-ia-iphf-received error/x509-certificate-error
              error/x509-unknown-san error/x509-unsupported-attribute
              error/x509-unsupported-critical-extension
              error/x509-unsupported-extension error/x509-unsupported-oid
              fatal-error? gnutls-version handshake
              handshake-description->string
              handshake-description/certificate-pkt
              handshake-description/certificate-request
              handshake-description/certificate-verify
              handshake-description/client-hello
              handshake-description/client-key-exchange
              handshake-description/finished
              handshake-description/hello-request
              handshake-description/server-hello
              handshake-description/server-hello-done
              handshake-description/server-key-exchange
              import-openpgp-certificate import-openpgp-keyring
              import-openpgp-private-key import-x509-certificate
              import-x509-private-key key-usage->string key-usage/crl-sign
              key-usage/data-encipherment key-usage/decipher-only
              key-usage/digital-signature key-usage/encipher-only
              key-usage/key-agreement key-usage/key-cert-sign
              key-usage/key-encipherment key-usage/non-repudiation kx->string
              kx/anon-dh kx/dhe-dss kx/dhe-rsa kx/psk kx/rsa kx/rsa-export
              kx/srp kx/srp-dss kx/srp-rsa mac->string mac/md2 mac/md5
              mac/null mac/rmd160 mac/sha1 mac/unknown
              make-anonymous-client-credentials
              make-anonymous-server-credentials make-certificate-credentials
              make-dh-parameters make-psk-client-credentials
              make-psk-server-credentials make-srp-client-credentials
              make-srp-server-credentials openpgp-certificate-algorithm
              openpgp-certificate-fingerprint
              openpgp-certificate-fingerprint!
              openpgp-certificate-format->string
              openpgp-certificate-format/base64
              openpgp-certificate-format/raw openpgp-certificate-id
              openpgp-certificate-id! openpgp-certificate-name
              openpgp-certificate-names openpgp-certificate-usage
              openpgp-certificate-version openpgp-certificate?
              openpgp-keyring-contains-key-id? openpgp-keyring?
              openpgp-private-key? params->string params/dh params/rsa-export
              pk-algorithm->string pk-algorithm/dsa
              pk-algorithm/rsa pk-algorithm/unknown
              pkcs3-export-dh-parameters pkcs3-import-dh-parameters
              pkcs8-import-x509-private-key protocol->string protocol/ssl-3
              protocol/tls-1.0 protocol/tls-1.1 protocol/version-unknown
              psk-client-credentials? psk-key-format->string
              psk-key-format/hex psk-key-format/raw psk-server-credentials?
              reauthenticate record-receive! record-send rehandshake
              server-name-type->string server-name-type/dns
              server-session-psk-username server-session-srp-username
              session-authentication-type session-certificate-type
              session-cipher session-client-authentication-type
              session-compression-method session-kx session-mac
              session-our-certificate-chain session-peer-certificate-chain
              session-protocol session-record-port
              session-server-authentication-type session?
              set-anonymous-server-dh-parameters!
              set-certificate-credentials-dh-parameters!
              set-certificate-credentials-openpgp-keys!
              set-certificate-credentials-verify-flags!
              set-certificate-credentials-verify-limits!
              set-certificate-credentials-x509-crl-data!
              set-certificate-credentials-x509-crl-file!
              set-certificate-credentials-x509-key-data!
              set-certificate-credentials-x509-key-files!
              set-certificate-credentials-x509-keys!
              set-certificate-credentials-x509-trust-data!
              set-certificate-credentials-x509-trust-file! set-log-level!
              set-log-procedure! set-psk-client-credentials!
              set-psk-server-credentials-file!
              set-server-session-certificate-request!
              set-session-credentials! set-session-default-priority!
              set-session-dh-prime-bits! set-session-priorities!
              set-session-record-port-close! set-session-server-name!
              set-session-transport-fd! set-session-transport-port!
              set-srp-client-credentials! set-srp-server-credentials-files!
              sign-algorithm->string sign-algorithm/dsa-sha1
              sign-algorithm/rsa-md2 sign-algorithm/rsa-md5
              sign-algorithm/rsa-rmd160 sign-algorithm/rsa-sha1
              sign-algorithm/unknown srp-base64-decode srp-base64-encode
              srp-client-credentials? srp-server-credentials?
              x509-certificate-authority-key-id x509-certificate-dn
              x509-certificate-dn-oid x509-certificate-fingerprint
              x509-certificate-format->string x509-certificate-format/der
              x509-certificate-format/pem x509-certificate-issuer-dn
              x509-certificate-issuer-dn-oid x509-certificate-key-id
              x509-certificate-key-usage x509-certificate-matches-hostname?
              x509-certificate-public-key-algorithm
              x509-certificate-signature-algorithm
              x509-certificate-subject-alternative-name
              x509-certificate-subject-key-id x509-certificate-version
              x509-certificate? x509-private-key?
              x509-subject-alternative-name->string
              x509-subject-alternative-name/dnsname
              x509-subject-alternative-name/ipaddress
              x509-subject-alternative-name/rfc822name
              x509-subject-alternative-name/uri))

(define (make-session end . flags)
  "Return a new session for connection end END (connection-end/client or
connection-end/server), with FLAGS (connection-flag/ values).  As in
guile-gnutls, the session does not verify its peer during the handshake:
call peer-certificate-status and x509-certificate-matches-hostname?
afterwards, as programs written for guile-gnutls do."
  (let ((session (apply net:make-session end flags)))
    (set-session-verify-peer! session #f)
    session))

(define* (peer-certificate-status session #:optional host)
  "Verify the chain SESSION's peer presented against the trust of its
credentials (and HOST, when given); return the list of what is wrong, the
empty list when nothing is.  As in guile-gnutls, a chain that fails lists
certificate-status/invalid beside the particular reasons."
  (let ((status (if host
                    (net:peer-certificate-status session host)
                    (net:peer-certificate-status session))))
    (if (or (null? status) (memq certificate-status/invalid status))
        status
        (cons certificate-status/invalid status))))
