#!/usr/bin/env bash
# Runs every libFuzzer target in build-fuzz/fuzz/ for SECONDS each (default 30), seeded
# from tests/fuzz/corpus/<target>/ (the corpus grows under build-fuzz/corpus/). Crashing
# inputs land in build-fuzz/artifacts/<target>/; turn each into a unit test.
# Prints one line per target and exits non-zero when any target crashed. Built by
# `make fuzz` (FUZZ_SECONDS=N make fuzz for another budget).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
SECONDS_EACH=${1:-30}
[[ $SECONDS_EACH =~ ^[0-9]+$ ]] || { echo "fuzz.sh: seconds must be a number" >&2; exit 2; }
OUT=build-fuzz
FAILED=0
RESULTS=()

for target in "$OUT"/fuzz/*_fuzz; do
  [[ -x $target ]] || continue
  name=$(basename "$target")
  corpus=$OUT/corpus/$name
  artifacts=$OUT/artifacts/$name/
  mkdir -p "$corpus" "$artifacts"
  seeds=()
  [[ -d tests/fuzz/corpus/$name ]] && seeds=("tests/fuzz/corpus/$name")
  echo "=== $name: ${SECONDS_EACH}s"
  "$target" -max_total_time="$SECONDS_EACH" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts" "$corpus" "${seeds[@]}" \
    >"$OUT/$name.log" 2>&1
  status=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$OUT/$name.log" | grep -o '[0-9]*$')
  if ((status == 0)); then
    RESULTS+=("$name: ok, ${runs:-?} runs, corpus $(find "$corpus" -type f | wc -l) inputs")
  else
    FAILED=$((FAILED + 1))
    RESULTS+=("$name: FAILED (exit $status), see $OUT/$name.log and $artifacts")
    tail -n 30 "$OUT/$name.log"
  fi
done

echo
echo "=== fuzz summary (${SECONDS_EACH}s each)"
printf '  %s\n' "${RESULTS[@]}"
((FAILED == 0))
