;;; (net https) -- verified HTTPS connections for Guile's (web client).
;;;
;;;   (https-get "https://example.org/")        ; => response, body
;;;
;;;   (http-request uri #:port (open-https-port uri))
;;;
;;; The connection verifies the server during the handshake: its chain
;;; against the system trust store (or the CA file or credentials given)
;;; and its certificate against the URI's host.  Turning verification off
;;; takes an explicit #:verify? #f.

(define-module (net https)
  #:use-module (net socket)
  #:use-module (net tls)
  #:use-module (net error)
  #:use-module (web uri)
  #:use-module (web client)
  #:export (open-https-port
            https-request
            https-get
            https-post))

(define (https-uri who uri)
  (let ((u (if (uri? uri) uri (string->uri uri))))
    (unless (and u (eq? (uri-scheme u) 'https) (uri-host u))
      (scm-error 'wrong-type-arg who
                 "Wrong type argument (expecting an https URI): ~S"
                 (list uri) (list uri)))
    u))

(define* (open-https-port uri #:key
                          (ca-file #f)
                          (credentials #f)
                          (verify? #t)
                          (server-name #f)
                          (alpn '("http/1.1"))
                          (timeout 30)
                          (connect-timeout #f))
  "Connect to the host and port of URI, an @code{https} URI (a string or a
URI object; port 443 when it names none), and perform a TLS handshake that
verifies the server: its certificate chain against the system trust store,
or against the CA certificates in file CA-FILE, or the trust of
certificate credentials CREDENTIALS (which may also hold a client
certificate); and its certificate against SERVER-NAME, by default URI's
host.  A failure raises a @code{&tls-verification-error} that says why.
VERIFY? #f turns verification off (insecure).  ALPN lists the application
protocols offered.  TIMEOUT bounds the handshake and then each read or
write, CONNECT-TIMEOUT (default TIMEOUT) the connection, in seconds (#f:
no limit).

Return the TLS port, usable as the @code{#:port} of @code{http-request}
and the other procedures of @code{(web client)}; closing it sends
close_notify and closes the connection."
  (let* ((u (https-uri 'open-https-port uri))
         (host (uri-host u))
         (sock (connect-to-host host (or (uri-port u) 443)
                                #:timeout (or connect-timeout timeout)))
         (session (make-session connection-end/client)))
    (with-exception-handler
        (lambda (e) (close-port sock) (raise-exception e))
      (lambda ()
        (setsockopt sock IPPROTO_TCP TCP_NODELAY 1)
        (set-session-transport-port! session sock)
        (set-session-credentials!
         session
         (or credentials
             (let ((c (make-certificate-credentials)))
               (when ca-file
                 (set-certificate-credentials-x509-trust-file! c ca-file))
               c)))
        (set-session-server-name! session server-name-type/dns
                                  (or server-name host))
        (unless verify?
          (set-session-verify-peer! session #f))
        (unless (null? alpn)
          (set-session-alpn-protocols! session alpn))
        (set-session-timeout! session timeout)
        (handshake session)
        (session-record-port session))
      #:unwind? #t)))

(define* (https-request uri #:key
                        (method 'GET)
                        (body #f)
                        (headers '())
                        (decode-body? #t)
                        (streaming? #f)
                        (ca-file #f)
                        (credentials #f)
                        (verify? #t)
                        (server-name #f)
                        (timeout 30))
  "Send an HTTP request with METHOD (a symbol) for https URI over a
connection from @code{open-https-port} (which takes CA-FILE, CREDENTIALS,
VERIFY?, SERVER-NAME and TIMEOUT), with HEADERS (an alist) and BODY (#f,
a string or a bytevector).  Return two values, as @code{http-request}
does: the response, and the body, decoded to a string when it is textual
and DECODE-BODY? is true, or a port to read it from when STREAMING? is
true.  The connection is closed afterwards (after the body when
streaming)."
  (http-request uri
                #:method method
                #:body body
                #:headers headers
                #:decode-body? decode-body?
                #:streaming? streaming?
                #:port (open-https-port uri #:ca-file ca-file
                                        #:credentials credentials
                                        #:verify? verify?
                                        #:server-name server-name
                                        #:timeout timeout)))

(define* (https-get uri #:rest options)
  "GET https URI over a verified connection: @code{https-request} with
method GET and the same keyword OPTIONS (HEADERS, CA-FILE, VERIFY?, ...).
Return the response and the body."
  (apply https-request uri #:method 'GET options))

(define* (https-post uri #:rest options)
  "POST to https URI over a verified connection: @code{https-request} with
method POST and the same keyword OPTIONS, BODY among them.  Return the
response and the body."
  (apply https-request uri #:method 'POST options))
