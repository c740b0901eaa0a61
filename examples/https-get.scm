;;; https-get.scm URL [CA-FILE] -- fetch URL over verified HTTPS, print it.
(use-modules (net https) (web response))
(define url (cadr (command-line)))
(define ca-file (and (> (length (command-line)) 2) (caddr (command-line))))
(define-values (response body) (https-get url #:ca-file ca-file))
(format #t "~a ~a~%~a" (response-code response) (response-reason-phrase response) body)
