(use-modules (tests harness) (srfi srfi-64))
(run-tests "gc-stress" (test-assert "placeholder" #t))
