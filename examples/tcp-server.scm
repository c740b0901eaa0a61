;;; tcp-server.scm -- CHICKEN's (chicken tcp) server example, for (net tcp).
;;; Run: ./pre-inst-env guile examples/tcp-server.scm [PORT]
;;; With no PORT the kernel picks one; the server prints it, then serves
;;; one client, as CHICKEN's example does.

(use-modules (net tcp) (ice-9 rdelim))

(define port (if (> (length (command-line)) 1)
                 (string->number (cadr (command-line)))
                 0))

(define l (tcp-listen port))
(format #t "listening on port ~a~%" (tcp-listener-port l))
(force-output)

(define-values (i o) (tcp-accept l))
(write-line "Hello!" o)
(force-output o)
(display (read-line i))
(newline)
(close-input-port i)
(close-output-port o)
(tcp-close l)
