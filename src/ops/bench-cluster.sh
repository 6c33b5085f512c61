#!/usr/bin/env bash
# make bench-cluster: send-otp and verify-otp latency through nginx on `make cluster`'s
# topology (issue 16), the writer in another namespace than the application.
#
# Brings up src/ops/cluster.sh in its own var dir (BENCH_CLUSTER_VAR_DIR) on a free port:
# three Galera nodes (pv-db1..3, 10.77.0.11-13), two application hosts (pv-app1..2) writing
# to the first node of db_hosts (db1), nginx on 127.0.0.1 balancing over them; a fake
# Sparrow on the bridge's root side (10.77.0.1) answering after BENCH_SMS_DELAY_MS, so the
# dispatchers deliver as they would. Limits off as in `make bench`. Then, with wrk on
# 127.0.0.1 through nginx, at each -c: send-otp (tests/bench/send.lua, distinct phones)
# and verify-otp (tests/bench/verify.lua, wrong guesses over BENCH_PAIRS pending codes);
# prints req/s, p50/p99, non-2xx and the commits each node made during the runs (which
# node was the writer), writes the table to <var>/bench-cluster-latest.md, and takes the
# whole cluster down again: every namespace, link and the bridge, also on failure or
# Ctrl-C. Traffic goes only to 127.0.0.1 and the cluster's own addresses.
#
# Starts nothing when any network namespace named pv* exists, or the
# cluster's bridge does: another cluster (make cluster, the cluster tests) may be running,
# and the topology's subnet is fixed. It says "skipped" and exits 0.
#
# Needs root (network namespaces). Environment (all optional):
#   BENCH_SECONDS=5         duration of each wrk run
#   BENCH_CONNECTIONS="8"
#   BENCH_THREADS=2         wrk threads
#   BENCH_ACCOUNTS=16       accounts whose tokens the requests rotate over
#   BENCH_PAIRS=512         pending codes the verify runs guess against
#   BENCH_SMS_DELAY_MS=50   fake gateway answer time
#   BENCH_CLUSTER_VAR_DIR=var/bench-cluster  (data kept between runs; tables emptied)
# PHONEVERIFY_* variables pass through to every host (e.g. PHONEVERIFY_WORKERS).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BIN=$ROOT/build/bin
LUA_DIR=$ROOT/tests/bench

SECONDS_PER_RUN=${BENCH_SECONDS:-5}
CONNECTIONS=(${BENCH_CONNECTIONS:-8})
WRK_THREADS=${BENCH_THREADS:-2}
ACCOUNTS=${BENCH_ACCOUNTS:-16}
PAIRS=${BENCH_PAIRS:-512}
SMS_DELAY_MS=${BENCH_SMS_DELAY_MS:-50}
VAR_REL=${BENCH_CLUSTER_VAR_DIR:-var/bench-cluster}
if [[ $VAR_REL == /* ]]; then VAR=$VAR_REL; else VAR=$ROOT/$VAR_REL; fi
GATEWAY_HOST=10.77.0.1  # the root namespace on the cluster's bridge (as the cluster tests)
DB_NODES=(db1 db2 db3)

say() { echo "bench-cluster: $*" >&2; }
die() { echo "bench-cluster: error: $*" >&2; exit 1; }

(($(id -u) == 0)) || die "needs root (src/ops/cluster.sh makes network namespaces)"
for tool in wrk curl mariadb awk ip; do
  command -v "$tool" >/dev/null || die "$tool is not installed (make deps)"
done
for binary in phoneverify-fcgi phoneverify-dispatcher fake-sparrow; do
  [[ -x $BIN/$binary ]] || die "$BIN/$binary is not built (use make bench-cluster)"
done

# shellcheck source=src/ops/bench_common.sh
. "$ROOT/src/ops/bench_common.sh"

HTTP_PORT=$(free_port)
GATEWAY_PORT=$(free_port)
((GATEWAY_PORT != HTTP_PORT)) || GATEWAY_PORT=$((HTTP_PORT + 1))
export PHONEVERIFY_VAR_DIR=$VAR
export PHONEVERIFY_HTTP_PORT=$HTTP_PORT
export PHONEVERIFY_SMS_BACKEND=sparrow
export PHONEVERIFY_SPARROW_URL=http://$GATEWAY_HOST:$GATEWAY_PORT/v2/sms/
export PHONEVERIFY_SPARROW_TOKEN=bench-sparrow-token
export PHONEVERIFY_SPARROW_FROM=Bench
export_bench_limits  # as bench.sh: every abuse limit off (bench_common.sh)

declare -A CFG=()
while IFS= read -r line; do
  [[ $line == *' = '* ]] && CFG[${line%% = *}]=${line#* = }
done < <(PHONEVERIFY_SPARROW_ALLOW_HTTP=true "$BIN/phoneverify-fcgi" --print-config)
NAME=${CFG[cluster_name]:-pv}
DB_NAME=${CFG[db_name]:-phoneverify}
URL=http://127.0.0.1:$HTTP_PORT
C=$VAR/cluster

# --- another cluster? -------------------------------------------------------------------

other_cluster() {
  local names
  names=$(ip netns list 2>/dev/null | awk '{ print $1 }' | grep -E "^(pv|$NAME)" || true)
  if [[ -n $names ]]; then
    echo "network namespaces $(echo $names | tr '\n' ' ')exist"
    return 0
  fi
  if ip link show "$NAME-br" >/dev/null 2>&1; then
    echo "the bridge $NAME-br exists"
    return 0
  fi
  return 1
}

if reason=$(other_cluster); then
  say "skipped: $reason (another cluster may be running; nothing was started)"
  exit 0
fi

# --- up and down --------------------------------------------------------------------------

STARTED=""
SPARROW_PID=""
WRK_PID=""
cleanup() {
  set +e
  [[ -n $WRK_PID ]] && kill -INT "$WRK_PID" 2>/dev/null
  [[ -n $SPARROW_PID ]] && kill -TERM "$SPARROW_PID" 2>/dev/null
  wait 2>/dev/null
  if [[ -n $STARTED ]]; then
    say "taking the cluster down"
    src/ops/cluster.sh stop >>"$VAR/log/bench-cluster-stack.out" 2>&1
    # cluster.sh stop removes the namespaces, links and bridge; say so if any is left.
    local left
    left=$(ip netns list 2>/dev/null | awk '{ print $1 }' | grep -E "^$NAME-" | tr '\n' ' ')
    ip link show "$NAME-br" >/dev/null 2>&1 && left+="$NAME-br"
    [[ -z $left ]] || echo "bench-cluster: error: still present after cluster.sh stop: $left" >&2
  fi
}

node_sql() {
  local node=$1
  shift
  mariadb --no-defaults --socket="$C/$node/mysqld.sock" --user=root --batch --skip-column-names \
    --connect-timeout=2 "$DB_NAME" "$@"
}

start_cluster() {
  mkdir -p "$VAR/log"
  rm -f "$VAR"/log/bench-cluster-*
  # Logs of earlier runs would only fill the disk.
  rm -f "$C/front/log/nginx-access.log" "$C"/app*/log/phoneverify.log
  say "starting the cluster in $C ($NAME-db1..3, $NAME-app1..2; nginx on $URL)"
  STARTED=1
  src/ops/cluster.sh start >"$VAR/log/bench-cluster-stack.out" 2>&1 ||
    { tail -n 30 "$VAR/log/bench-cluster-stack.out" >&2; die "the cluster did not come up"; }
  # The bridge exists now: the gateway listens on the root namespace's side of it.
  : >"$VAR/sparrow.log"
  setsid "$BIN/fake-sparrow" --host "$GATEWAY_HOST" --port "$GATEWAY_PORT" \
    --delay-ms "$SMS_DELAY_MS" --token bench-sparrow-token --log "$VAR/sparrow.log" \
    >"$VAR/log/bench-cluster-sparrow.out" 2>&1 &
  SPARROW_PID=$!
  local tries
  for ((tries = 0; tries < 50; tries++)); do
    curl -sf -o /dev/null "http://$GATEWAY_HOST:$GATEWAY_PORT/stats" && break
    sleep 0.1
  done
  ((tries < 50)) || die "the fake Sparrow does not answer (see $VAR/log/bench-cluster-sparrow.out)"
  # Data is kept between runs (a fresh Galera node costs an SST and its gcache file):
  # empty tables instead, as bench.sh does; Galera replicates TRUNCATE to every node.
  node_sql db1 <<'SQL'
TRUNCATE TABLE api_tokens; TRUNCATE TABLE sessions; DELETE FROM accounts;
TRUNCATE TABLE otp_codes; TRUNCATE TABLE outbox; TRUNCATE TABLE idempotency_keys;
TRUNCATE TABLE limit_events; TRUNCATE TABLE limit_gates;
SQL
}

# --- load -----------------------------------------------------------------------------------

json_field() { sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",}]*\).*/\1/p"; }

make_accounts() {
  local i id token tokens=$VAR/tokens.txt
  : >"$tokens"
  chmod 600 "$tokens"
  for ((i = 1; i <= ACCOUNTS; i++)); do
    id=$(curl -sf "$URL/api/v1/accounts" -H 'Content-Type: application/json' \
      -d "{\"username\": \"bench$i\", \"password\": \"bench password $i\"}" | json_field id)
    token=$(curl -sf "$URL/api/v1/auth/token" -H 'Content-Type: application/json' \
      -d "{\"username\": \"bench$i\", \"password\": \"bench password $i\"}" | json_field token)
    [[ -n $id && -n $token ]] || die "could not create account bench$i"
    echo "$id $token" >>"$tokens"
  done
}

# wrk ARGS...: in the background (so that cleanup can stop it), waited for.
run_wrk() {
  env BENCH_LUA_DIR="$LUA_DIR" BENCH_TOKENS="$VAR/tokens.txt" BENCH_PAIRS="$PAIRS" \
    BENCH_THREADS="$WRK_THREADS" "$@" &
  WRK_PID=$!
  wait "$WRK_PID" || true
  WRK_PID=""
}

seed_codes() {
  local round offset=0 count=0 sent out=$VAR/log/bench-cluster-seed.out
  for ((round = 1; round <= 20; round++)); do
    run_wrk BENCH_SEED=$offset wrk -t "$WRK_THREADS" -c 8 -d 2s -s "$LUA_DIR/seed.lua" "$URL" \
      >"$out" 2>&1
    sent=$(sed -nE 's/^BENCH_RESULT.* requests=([0-9]+).*/\1/p' "$out")
    offset=$((offset + ${sent:-0}))
    count=$(node_sql db1 -e "SELECT COUNT(*) FROM otp_codes WHERE phone LIKE '981%'")
    ((count >= PAIRS)) && return 0
  done
  die "only $count of $PAIRS pending codes were seeded"
}

# "db1 db2 db3" local commits (wsrep_local_commits: transactions this node was the writer of).
commits() {
  local node
  for node in "${DB_NODES[@]}"; do
    node_sql "$node" -e "SHOW GLOBAL STATUS LIKE 'wsrep_local_commits'" 2>/dev/null | cut -f2 |
      grep . || echo 0
  done | tr '\n' ' '
}

declare -A R=()
ROWS=()
run() {
  local scenario=$1 script=$2 conns=$3 out line field key=$1,$3 before after
  out=$VAR/log/bench-cluster-$scenario-c$conns.out
  before=$(commits)
  run_wrk BENCH_SEED=$((RANDOM * 300)) wrk -t "$WRK_THREADS" -c "$conns" \
    -d "${SECONDS_PER_RUN}s" --timeout 10s -s "$LUA_DIR/$script" "$URL" >"$out" 2>&1
  after=$(commits)
  line=$(grep '^BENCH_RESULT' "$out") || { cat "$out" >&2; die "wrk failed ($scenario)"; }
  for field in requests duration_us p50_us p99_us non2xx connect read write timeout; do
    R[$key,$field]=$(sed -E "s/.* $field=([0-9]+).*/\1/" <<<"$line")
  done
  R[$key,rps]=$(awk -v n="${R[$key,requests]}" -v d="${R[$key,duration_us]}" \
    'BEGIN { printf "%.0f", n / (d / 1e6) }')
  R[$key,commits]=$(awk -v a="$before" -v b="$after" 'BEGIN { n = split(a, x, " "); split(b, y, " ");
    for (i = 1; i <= n; i++) printf "%sdb%d %d", (i > 1 ? ", " : ""), i, y[i] - x[i] }')
  ROWS+=("$key")
  say "$(printf '%-7s c%-3s %6s req/s  p50 %6.1f ms  p99 %6.1f ms  non-2xx %s  commits %s' \
    "$scenario" "$conns" "${R[$key,rps]}" "$(awk -v u="${R[$key,p50_us]}" 'BEGIN { print u / 1000 }')" \
    "$(awk -v u="${R[$key,p99_us]}" 'BEGIN { print u / 1000 }')" "${R[$key,non2xx]}" "${R[$key,commits]}")"
}

ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }

report() {
  local key
  echo "## make bench-cluster — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, ${SECONDS_PER_RUN} s per run"
  echo
  echo "make cluster's topology on this one machine: nginx on 127.0.0.1 → 2 application hosts"
  echo "($NAME-app1..2: phoneverify-fcgi ${CFG[workers]:-?} workers × ${CFG[worker_threads]:-?} threads each, and a"
  echo "dispatcher) → 3 Galera nodes ($NAME-db1..3), each host its own network namespace on one bridge;"
  echo "the applications write to the first of db_hosts. wrk -t $WRK_THREADS; $ACCOUNTS accounts; $PAIRS pending codes;"
  echo "fake Sparrow at $GATEWAY_HOST answering in ${SMS_DELAY_MS} ms; limits off."
  echo
  echo "| scenario | -c | req/s | p50 ms | p99 ms | non-2xx | commits by node (writer) |"
  echo "|---|---|---|---|---|---|---|"
  for key in "${ROWS[@]}"; do
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "${key%,*}" "${key#*,}" "${R[$key,rps]}" \
      "$(ms "${R[$key,p50_us]}")" "$(ms "${R[$key,p99_us]}")" \
      "${R[$key,non2xx]}$( ((R[$key,connect] + R[$key,read] + R[$key,write] + R[$key,timeout] > 0)) &&
        echo " (+sock ${R[$key,connect]}/${R[$key,read]}/${R[$key,write]}/${R[$key,timeout]})")" \
      "${R[$key,commits]}"
  done
  echo
  echo "verify non-2xx are the intended 400 otp_invalid (wrong guesses). Commits: wsrep_local_commits"
  echo "during the run (the dispatchers' commits included); a wrong guess commits its attempt count."
  echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the machine may be shared: repeat runs)"
}

main() {
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  start_cluster
  say "creating $ACCOUNTS accounts"
  make_accounts
  say "seeding $PAIRS pending codes"
  seed_codes
  local conns
  for conns in "${CONNECTIONS[@]}"; do
    run send send.lua "$conns"
    run verify verify.lua "$conns"
  done
  report >"$VAR/bench-cluster-latest.md"
  echo
  cat "$VAR/bench-cluster-latest.md"
}

main "$@"; exit  # one line: editing this file during a run cannot change the run
