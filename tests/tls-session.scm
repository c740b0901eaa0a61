(use-modules (tests harness) (srfi srfi-64)) (run-tests "x" (test-assert "t" #t))
