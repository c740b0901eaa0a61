;;; doc-coverage.scm -- every exported binding of (net socket) is documented.
;;;
;;; One test case per binding, named after it.  A case passes when
;;;   (a) a procedure has a non-empty `procedure-documentation', and
;;;   (b) the manual, doc/guile-net.texi, defines the name on a @deffn,
;;;       @deffnx, @defvr or @defvrx line.
;;; On failure the case reports the list of what is missing.

(use-modules (tests harness)
             (srfi srfi-64)
             (ice-9 rdelim)
             (ice-9 regex))

(define manual-file
  (string-append (or (getenv "abs_top_srcdir") ".") "/doc/guile-net.texi"))

;; "@deffn {Scheme Procedure} bind sock sockaddr" => "bind";
;; "@defvrx {Scheme Variable} AF_INET" => "AF_INET".  The category is either
;; one word or a braced group.
(define definition-line
  (make-regexp "^@def(fn|vr)x?[ \t]+(\\{[^}]*\\}|[^ \t]+)[ \t]+([^ \t]+)"))

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
                (let ((m (regexp-exec definition-line line)))
                  (when m
                    (hash-set! names (match:substring m 3) #t)))
                (loop)))))))
    names))

(define documented (manual-definitions manual-file))

(define exports
  (let ((interface (resolve-interface '(net socket))))
    (sort (module-map (lambda (name variable) (cons name variable))
                      interface)
          (lambda (a b)
            (string<? (symbol->string (car a)) (symbol->string (car b)))))))

(define (problems name variable)
  "Return the list of what is missing for the binding NAME: empty when it
is fully documented."
  (let* ((bound? (variable-bound? variable))
         (value (and bound? (variable-ref variable)))
         (doc (and bound? (procedure? value) (procedure-documentation value))))
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
              (test-equal (symbol->string (car export))
                '()
                (problems (car export) (cdr export))))
            exports))
