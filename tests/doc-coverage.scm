;;; doc-coverage.scm -- every exported binding of every module is documented.
;;;
;;; One test case per binding, named after it.  A case passes when
;;;   (a) a procedure has a non-empty `procedure-documentation', and
;;;;   (b) the manual, doc/guile-net.texi, defines the name on a @deffn,
;;;       @defvr or @deftp line (or their x forms).
;;; On failure the case reports the list of what is missing.

(use-modules (tests harness)
             (srfi srfi-1)
             (srfi srfi-64)
             (ice-9 rdelim)
             (ice-9 regex))

(define manual-file
  (string-append (or (getenv "abs_top_srcdir") ".") "/doc/guile-net.texi"))

;; "@deffn {Scheme Procedure} bind sock sockaddr" => "bind";
;; "@defvrx {Scheme Variable} AF_INET" => "AF_INET".  The category is either
;; one word or a braced group.
(define definition-line
  (make-regexp "^@def(fn|vr|tp)x?[ \t]+(\\{[^}]*\\}|[^ \t]+)[ \t]+([^ \t]+)"))

(define include-line (make-regexp "^@include[ \t]+([^ \t]+\\.texi)[ \t]*$"))

(define (manual-definitions file)
  "Return a hash table of the names FILE defines with @deffn(x) or
@defvr(x); empty if FILE cannot be read."
  (let ((names (make-hash-table)))
    (when (file-exists? file)
      (call-with-input-file file
        (lambda (port)
          (let loop ()
            (let ((line (read-line port)))
              (unless (eof-object? line)
                (let ((m (regexp-exec definition-line line))
                      (inc (regexp-exec include-line line)))
                  (when m
                    (hash-set! names (match:substring m 3) #t))
                  ;; chapters kept in files of their own
                  (when inc
                    (hash-for-each (lambda (k v) (hash-set! names k v))
                                   (manual-definitions
                                    (string-append (dirname file) "/"
                                                   (match:substring inc 1))))))
                (loop)))))))
    names))

(define documented (manual-definitions manual-file))

(define modules
  '((net socket) (net tcp) (net error) (net tls) (net dtls) (net https)
    (net scheduler) (web server https)))

(define exports
  ;; (MODULE NAME . VARIABLE) for every export, sorted by name per module.
  (append-map
   (lambda (module)
     (map (lambda (binding) (cons module binding))
          (sort (module-map (lambda (name variable) (cons name variable))
                            (resolve-interface module))
                (lambda (a b)
                  (string<? (symbol->string (car a))
                            (symbol->string (car b)))))))
   modules))

(define (problems name variable)
  "Return the list of what is missing for the binding NAME: empty when it
is fully documented."
  (let* ((bound? (variable-bound? variable))
         (value (and bound? (variable-ref variable)))
         ;; procedure-documentation, what `help' and ,describe show:
         ;; parameters too (issue 14: theirs were procedure properties of
         ;; the parameter struct, which procedure-documentation ignores).
         (doc (and bound? (procedure? value)
                   (procedure-documentation value))))
    (append
     (if bound? '() '("unbound"))
     (if (and (procedure? value)
              (not (and (string? doc) (not (string-null? doc)))))
         '("no docstring")
         '())
     (if (hash-ref documented (symbol->string name))
         '()
         (list (string-append "not in @deffn/@defvr of " manual-file))))))

(run-tests "doc-coverage"
  (for-each (lambda (export)
              (test-equal (format #f "~a ~a" (car export) (cadr export))
                '()
                (problems (cadr export) (cddr export))))
            exports))
