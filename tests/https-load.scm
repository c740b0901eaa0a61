;;; The 'https server under load and under scan: 200 concurrent keep-alive
;;; clients (wrk) complete without errors while a stalled client sits
;;; connected, and testssl.sh finds no weak protocol, cipher or
;;; vulnerability.  Each part is skipped when its program is missing
;;; (setup.sh installs both).  Loopback and port 0 only, bounded waits.

(use-modules (tests harness)
             (tests tls-common)
             (tests https-common)
             (srfi srfi-64)
             (net socket)
             (web server https)
             (ice-9 threads)
             (ice-9 regex)
             (ice-9 textual-ports))

(define (matches? rx text) (and (string? text) (string-match rx text) #t))

(define port
  (start-https-server #:handler (lambda (request body)
                                  (values '((content-type . (text/plain)))
                                          "hello\n"))
                      ;; long enough for the stalled client to stay
                      ;; connected through the load
                      #:options '(#:handshake-timeout 60 #:read-timeout 60)))

(define-syntax-rule (test-when available? name expr)
  (begin
    (unless available? (test-skip 1))
    (test-assert name (and available? expr))))

(run-tests "https-load"

  (test-assert "the server listens" (integer? port))

  (let ((stalled (socket AF_INET SOCK_STREAM 0))
        (wrk? (program-available? "wrk")))
    (connect stalled AF_INET INADDR_LOOPBACK port)
    (let ((out (if wrk?
                   (run-program "wrk" "-t2" "-c200" "-d4s" "--timeout" "10s"
                                (format #f "https://127.0.0.1:~a/" port))
                   "")))
      (format #t "~{# ~a~%~}" (string-split out #\newline))
      (test-when wrk? "wrk: 200 keep-alive connections complete requests"
        (let ((m (string-match "([0-9]+) requests in" out)))
          (and m (> (string->number (match:substring m 1)) 200))))
      (test-when wrk? "wrk: no socket errors, no non-2xx responses"
        (and (matches? "Requests/sec" out)
             (not (matches? "Socket errors" out))
             (not (matches? "Non-2xx" out))))
      (test-assert "the stalled client was connected throughout"
        ;; nothing to read yet, and not closed: select says not ready
        (null? (car (select (list stalled) '() '() 0)))))
    (close-port stalled))

  (let* ((wrk? (program-available? "wrk"))
         (rport #f)
         (count 0))
    (call-with-new-thread
     (lambda ()
       (run-https-server (lambda (request body)
                           (set! count (+ count 1))   ; one at a time
                           (values '((content-type . (text/plain))) "hello\n"))
                         `(#:port 0
                           #:certificate ,(cert-file "server")
                           #:private-key ,(cert-file "key")
                           #:ready ,(lambda (p) (set! rport p))))))
    (wait-until (lambda () rport) 10)
    (let ((out (if (and wrk? rport)
                   (run-program "wrk" "-t2" "-c200" "-d3s" "--timeout" "10s"
                                (format #f "https://127.0.0.1:~a/" rport))
                   "")))
      (format #t "~{# ~a~%~}" (string-split out #\newline))
      (test-when wrk? "run-https-server: wrk with 200 connections, no errors"
        (let ((m (string-match "([0-9]+) requests in" out)))
          (and m (> (string->number (match:substring m 1)) 200)
               (not (matches? "Socket errors" out))
               (not (matches? "Non-2xx" out))
               ;; every request reached the handler once
               (>= count (string->number (match:substring m 1))))))))

  (let* ((testssl? (program-available? "testssl"))
         (json (string-append (cert-dir) "/testssl.json"))
         (out (if testssl?
                  ;; 30 s were too few once, under sanitizers on a busy
                  ;; machine (load 7 on 2 cores): give the scan 120.
                  (run-program/seconds 120 "testssl" "--quiet" "--color" "0"
                               "--warnings" "batch" "-p" "-s" "-U"
                               "--ip" "127.0.0.1" "--jsonfile" json
                               (format #f "127.0.0.1:~a" port))
                  ""))
         (report (if (and testssl? (file-exists? json))
                     (call-with-input-file json get-string-all)
                     "")))
    (format #t "~{# ~a~%~}" (string-split out #\newline))
    (test-when testssl? "testssl.sh scanned protocols, ciphers and vulnerabilities"
      (and (matches? "\"id\" *: *\"TLS1_3\"" report)
           (matches? "\"id\" *: *\"heartbleed\"" report)))
    (test-when testssl? "testssl.sh: only TLS 1.2 and 1.3 are offered"
      (and (matches? "TLS 1.3 +offered" out)
           (matches? "TLS 1 +not offered" out)
           (matches? "TLS 1.1 +not offered" out)
           (matches? "SSLv3 +not offered" out)))
    (test-when testssl? "testssl.sh finds nothing of LOW severity or worse"
      (not (matches? "\"severity\" *: *\"(LOW|MEDIUM|HIGH|CRITICAL)\"" report))))

  (test-assert "the server still serves afterwards"
    (matches? "hello" (run-program "curl" "-sS" "--max-time" "20"
                                   "--cacert" (cert-file "ca")
                                   (format #f "https://localhost:~a/" port))))

  (remove-cert-dir))
