#!/usr/bin/env bash
# Runs every test binary and prints, as the very last line, `N passed, M failed`.
#
#   build/bin/unit_tests            unit tests
#   build-asan/bin/unit_tests       the same under AddressSanitizer + UBSan
#   build/bin/integration_tests     black-box tests; the binary starts and stops its own
#                                   stack through src/ops/stack.sh (own var dir and port);
#                                   then again behind Apache (PHONEVERIFY_TEST_FRONT)
#   build/bin/cluster_tests         the several-hosts topology (src/ops/cluster.sh: Galera
#                                   nodes and application hosts in network namespaces)
#                                   under load while hosts are killed and partitioned;
#                                   needs root (ip netns): without it, one failure
#
# Each binary writes a Boost.Test XML report under build/test-reports/; counts come from
# those reports (a test case aborted by an exception or a signal counts once, as failed). A binary that is missing, crashes, times out, leaves no report, or exits
# non-zero while its report shows no failure (e.g. a leak found at exit) counts as one
# more failure. Exit status: 0 when nothing failed, 1 otherwise. Built by `make test`.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
REPORTS=$ROOT/build/test-reports
mkdir -p "$REPORTS"

# Sanitizer findings must fail the run, with a usable stack.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

TOTAL_PASSED=0
TOTAL_FAILED=0
SUMMARY=()

# attribute NAME FILE: NAME="value" from the first (top-level) TestSuite element.
attribute() {
  grep -o "<TestSuite [^>]*>" "$2" | head -n1 | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]\+'
}

# run_tests LABEL TIMEOUT BINARY [ARGS...]
run_tests() {
  local label=$1 limit=$2 binary=$3
  shift 3
  local report=$REPORTS/$label.xml status passed failed aborted note="" started=$SECONDS
  rm -f "$report"
  echo "=== $label: $binary"
  if [[ ! -x $binary ]]; then
    record "$label" 0 1 "not built"
    return
  fi
  timeout --kill-after=30 "$limit" "$binary" --report_format=XML --report_level=detailed \
    --report_sink="$report" --log_level=error --color_output=no "$@"
  status=$?
  passed=$(attribute test_cases_passed "$report" 2>/dev/null)
  failed=$(attribute test_cases_failed "$report" 2>/dev/null)
  aborted=$(attribute test_cases_aborted "$report" 2>/dev/null)
  if [[ -z $passed || -z $failed || -z $aborted ]]; then
    record "$label" "${passed:-0}" 1 "no report (exit status $status)"
    return
  fi
  # Boost counts an aborted test case in test_cases_failed too: count it once.
  ((aborted > failed)) && failed=$aborted
  if ((status != 0 && failed == 0)); then
    failed=1
    note="exit status $status"
  fi
  ((status == 124 || status == 137)) && note="timed out after $limit"
  [[ -z $note ]] && note="$((SECONDS - started)) s"
  record "$label" "$passed" "$failed" "$note"
}

record() {
  local line="$1: $2 passed, $3 failed${4:+ ($4)}"
  TOTAL_PASSED=$((TOTAL_PASSED + $2))
  TOTAL_FAILED=$((TOTAL_FAILED + $3))
  SUMMARY+=("$line")
  echo "--- $line"
}

# A killed integration binary cannot stop the stack it started.
stop_integration_stack() {
  PHONEVERIFY_VAR_DIR=${PHONEVERIFY_TEST_VAR_DIR:-var/itest} src/ops/stack.sh stop \
    >/dev/null 2>&1 || true
}

run_tests unit 600 build/bin/unit_tests
run_tests unit-asan 1200 build-asan/bin/unit_tests
run_tests integration 1800 build/bin/integration_tests
stop_integration_stack

# The same product behind Apache: with mod_proxy_fcgi (http_front = apache) and with
# mod_fcgid spawning phoneverify-fcgi (apache-fcgid). The suites about the product's
# behaviour (JSON API, pages and wall, idempotency) and what only Apache adds
# (apache_front). The suites about nginx itself (hostile_http, fast_paths), fault
# injection and restarts (database/worker/gateway faults, reload, restart_and_logs),
# metrics, admin, install and the browser run behind nginx only, above: they test the
# stack's machinery, not the front (bad_input's truncated-body case differs under
# mod_fcgid, which answers 500).
# As root, Apache's children run as www-data, who may not enter this checkout (a clone
# under /root): their var dirs then go below a directory anyone may traverse.
APACHE_SUITES=accounts_api,otp_api,pages,idempotency,apache_front
APACHE_VAR_BASE=var
if (($(id -u) == 0)); then
  APACHE_VAR_BASE=${TMPDIR:-/tmp}/phoneverify-itest-$(echo "$ROOT" | cksum | cut -d' ' -f1)
  mkdir -p "$APACHE_VAR_BASE" && chmod 0711 "$APACHE_VAR_BASE"
fi
# Under mod_fcgid what differs is how phoneverify-fcgi is spawned, not the routes: the
# code API, idempotent retries and the Apache specifics are enough there.
FCGID_SUITES=otp_api,idempotency,apache_front
for front in apache apache-fcgid; do
  export PHONEVERIFY_TEST_FRONT=$front PHONEVERIFY_TEST_VAR_DIR=$APACHE_VAR_BASE/itest-$front
  suites=$APACHE_SUITES
  [[ $front == apache-fcgid ]] && suites=$FCGID_SUITES
  run_tests "integration-$front" 900 build/bin/integration_tests --run_test="$suites"
  PHONEVERIFY_VAR_DIR=$PHONEVERIFY_TEST_VAR_DIR src/ops/stack.sh stop >/dev/null 2>&1 || true
  unset PHONEVERIFY_TEST_FRONT PHONEVERIFY_TEST_VAR_DIR
done

# The cluster: as root only (network namespaces). A run without root cannot prove
# section 8 of the contract, so it counts as a failure rather than a quiet skip.
if (($(id -u) == 0)); then
  run_tests cluster 600 build/bin/cluster_tests
  PHONEVERIFY_VAR_DIR=var/ctest src/ops/cluster.sh stop >/dev/null 2>&1 || true
else
  echo "=== cluster: build/bin/cluster_tests"
  record cluster 0 1 "needs root: network namespaces; run make test as root"
fi

echo
echo "=== summary (reports in ${REPORTS#"$ROOT"/})"
printf '  %s\n' "${SUMMARY[@]}"
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
((TOTAL_FAILED == 0))
