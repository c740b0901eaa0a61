#!/bin/sh
# run-fuzz.sh SRCFUZZ BUILDFUZZ HARNESS... -- what `make check-fuzz' runs.
#
# For each harness (BUILDFUZZ/bin/HARNESS):
#   1. replay SRCFUZZ/regressions/HARNESS/*, the inputs that once crashed
#      or leaked, with the leak checker on;
#   2. fuzz for FUZZ_SECONDS (default 60) from the seed corpus
#      SRCFUZZ/corpus/HARNESS plus what earlier runs found (kept in
#      BUILDFUZZ/work/HARNESS/corpus), each input bounded by FUZZ_TIMEOUT
#      seconds and the process by FUZZ_RSS_MB megabytes;
#   3. replay that whole corpus with the leak checker on.
# Step 2 runs without the leak checker: LeakSanitizer's full scan after
# every input that allocates more than it frees (most inputs, with a
# garbage collector freeing later) would cut the speed a hundredfold.
#
# A harness passes when all three exit cleanly.  Output: one PASS: or
# FAIL: line per harness, then `# PASS: N' and `# FAIL: M' as in automake's
# test summary.  Logs and crashing inputs are in BUILDFUZZ/work/HARNESS/.

srcfuzz=$1
buildfuzz=$2
shift 2
seconds=${FUZZ_SECONDS:-60}
timeout=${FUZZ_TIMEOUT:-10}
rss=${FUZZ_RSS_MB:-2048}

# The sanitizers' settings.  Stack use after return stays off: ASan's fake
# stack frames would hide pointers from Guile's conservative collector.
# The leak passes unwind slowly but fully, so that the suppressions (leaks
# inside GnuTLS; see lsan.supp) match however deep GnuTLS's frames are.
base_asan=detect_stack_use_after_return=0:abort_on_error=0:symbolize=1
leak_asan=$base_asan:detect_leaks=1:fast_unwind_on_malloc=0
fuzz_asan=$base_asan:detect_leaks=0
lsan=suppressions=$(cd "$srcfuzz" && pwd)/lsan.supp:print_suppressions=0
ubsan=print_stacktrace=1:halt_on_error=1

pass=0
fail=0
results=

for h in "$@"; do
  bin=$buildfuzz/bin/$h
  work=$buildfuzz/work/$h
  mkdir -p "$work/corpus" "$work/artifacts"
  log=$work/fuzz.log
  : > "$log"
  status=ok
  why=

  # 1. Regressions.
  regressions=
  if test -d "$srcfuzz/regressions/$h"; then
    regressions=$(find "$srcfuzz/regressions/$h" -type f | sort)
  fi
  nreg=0
  if test -n "$regressions"; then
    nreg=$(echo "$regressions" | wc -l)
    echo "== $h: replaying $nreg regression inputs" >> "$log"
    if ! ASAN_OPTIONS=$leak_asan LSAN_OPTIONS=$lsan UBSAN_OPTIONS=$ubsan \
         "$bin" -timeout="$timeout" -rss_limit_mb="$rss" $regressions \
         >> "$log" 2>&1; then
      status=fail
      why="a regression input fails again"
    fi
  fi

  # 2. Fuzzing.
  if test $status = ok; then
    echo "== $h: fuzzing for $seconds s" >> "$log"
    if ! ASAN_OPTIONS=$fuzz_asan LSAN_OPTIONS=$lsan UBSAN_OPTIONS=$ubsan \
         "$bin" -max_total_time="$seconds" -timeout="$timeout" \
         -rss_limit_mb="$rss" -detect_leaks=0 -print_final_stats=1 \
         -artifact_prefix="$work/artifacts/" \
         "$work/corpus" "$srcfuzz/corpus/$h" >> "$log" 2>&1; then
      status=fail
      why="fuzzing found a crash, hang or sanitizer report"
    fi
  fi
  stats=$(grep -a -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
  runs=$(echo "$stats" | sed -n 's/^#\([0-9]*\).*/\1/p')
  cov=$(echo "$stats" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$stats" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
  corp=$(echo "$stats" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
  speed=$(grep -a 'stat::average_exec_per_sec' "$log" | tail -n 1 | sed 's/.*: *//')

  # 3. Leaks, over the whole corpus.
  if test $status = ok; then
    echo "== $h: leak check over the corpus" >> "$log"
    if ! ASAN_OPTIONS=$leak_asan LSAN_OPTIONS=$lsan UBSAN_OPTIONS=$ubsan \
         "$bin" -runs=0 -timeout="$timeout" -rss_limit_mb="$rss" \
         -detect_leaks=1 -artifact_prefix="$work/artifacts/" \
         "$work/corpus" "$srcfuzz/corpus/$h" >> "$log" 2>&1; then
      status=fail
      why="the leak check over the corpus failed"
    fi
  fi

  summary="${runs:-0} runs in ${seconds} s, ${speed:-?} exec/s, cov: ${cov:-?}, ft: ${ft:-?}, corpus: ${corp:-?}, regressions: $nreg"
  if test $status = ok; then
    pass=$((pass + 1))
    line="PASS: $h ($summary)"
  else
    fail=$((fail + 1))
    line="FAIL: $h: $why ($summary); see $log"
    arts=$(ls "$work/artifacts" 2>/dev/null)
    test -n "$arts" && line="$line; inputs in $work/artifacts/"
    echo "$line"
    grep -a -m 3 -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" \
      | sed 's/^/    /'
  fi
  test $status = ok && echo "$line"
  results="$results$line
"
done

echo "============================================================================"
echo "Fuzzing summary for check-fuzz (FUZZ_SECONDS=$seconds)"
echo "============================================================================"
printf '%s' "$results"
echo "# TOTAL: $((pass + fail))"
echo "# PASS: $pass"
echo "# FAIL: $fail"
echo "============================================================================"
test $fail -eq 0
