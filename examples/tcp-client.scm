;;; tcp-client.scm -- CHICKEN's (chicken tcp) client example, for (net tcp).
;;; Run: ./pre-inst-env guile examples/tcp-client.scm PORT

(use-modules (net tcp) (ice-9 rdelim))

(define-values (i o) (tcp-connect "localhost" (string->number (cadr (command-line)))))
(write-line "Good Bye!" o)
(force-output o)
(display (read-line i))
(newline)
