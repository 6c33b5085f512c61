#!/usr/bin/env bash
# make bench: the real stack against the floor of its architecture, under wrk on 127.0.0.1.
#
# Starts the stack exactly as `make run` does (src/ops/stack.sh) in its own var dir and on a
# free port, with sms_backend = sparrow pointed at build/bin/fake-sparrow (answering after
# ~50 ms) and every abuse limit off (0), then measures side by side, each at -c 8 and -c 32:
#   floor 0   nginx alone: return 200 '{}'
#   floor 1   a hello-world libfcgi responder (tests/bench/floor_fcgi.cpp) behind the same
#             nginx, same process model (workers x worker threads), no database
#   floor 2   the same responder doing the minimum SQL against the same MariaDB, autocommit:
#             send = one INSERT ... ON DUPLICATE KEY UPDATE; verify = one SELECT + one UPDATE
#   floor 3   the same responder doing the least SQL the contract's send needs, in one round
#             trip: one prepared CALL f3_send (tests/bench/floor3.sql, issue 16: the API
#             token resolved from its hash, then in one transaction the phone's gate row,
#             the code row and the outbox row), with the real API tokens
#   phoneverify  send-otp (distinct phones, tokens rotating over the accounts), verify-otp
#             (wrong guesses over BENCH_PAIRS pending codes, attempt limit raised), GET /me;
#             send-paused is send-otp with the dispatcher stopped (SIGSTOP) for the run:
#             the web path alone, without the SMS delivery competing for the machine
#   delivery  "delivery at 200 ms": the dispatcher alone, restarted with its DEFAULT
#             configuration (no PHONEVERIFY_DISPATCHER_* or other dispatcher knob) against
#             a second fake Sparrow answering after BENCH_DELIVERY_DELAY_MS (the first one
#             keeps its delay for the other scenarios: a delay is a start-up flag of the
#             fake). With the dispatcher stopped (SIGSTOP) send-otp queues a burst of
#             BENCH_DELIVERY_MESSAGES codes (tests/bench/burst.lua); then the dispatcher
#             resumes and is measured until the outbox is empty: SMS/s, in flight at the
#             gateway (peak and mean, from the fake's GET /stats), dispatcher CPU per SMS,
#             its threads and its database connections. Afterwards the stack is restarted
#             as the other scenarios had it.
# and prints requests/s, p50/p99, non-2xx, CPU of each process group, RSS per worker, the
# phoneverify/floor 2 and send/floor 3 ratios with issue 16's targets, statements per
# request (MariaDB's Questions) of the send rows and their floors, the dispatcher's SMS/s and the outbox depth (in the send runs
# sampled every 0.5 s, its peak also in seconds of sends: depth / send-otp req/s), plus idle
# CPU; the delivery figures with their targets beside them.
# The table is printed and written to <var>/bench-<time>.md (and <var>/bench-latest.md).
# Nothing about time is asserted; durability stays on (innodb_flush_log_at_trx_commit=1).
#
# Environment (all optional):
#   BENCH_SECONDS=10        duration of each wrk run
#   BENCH_CONNECTIONS="8 32"
#   BENCH_THREADS=2         wrk threads
#   BENCH_ACCOUNTS=48       accounts whose tokens the requests rotate over
#   BENCH_PAIRS=4096        pending codes the verify run guesses against
#   BENCH_SMS_DELAY_MS=50   fake gateway answer time
#   BENCH_DRAIN_SECONDS=120 longest wait for the outbox to drain after the send runs; what
#                           is still queued then is set aside (superseded) so that it does
#                           not compete with the runs that follow
#   BENCH_ONLY="..."        subset of scenarios (floor0 floor1 floor2-send floor3-send
#                           send send-paused floor2-verify verify me delivery); default all
#   BENCH_DELIVERY_MESSAGES=3000  codes queued for the delivery scenario
#   BENCH_DELIVERY_DELAY_MS=200   its fake gateway's answer time
#   BENCH_DELIVERY_IN_FLIGHT      dispatcher_in_flight for it (default: the default; for
#                                 trying other values)
#   BENCH_DELIVERY_DRAIN_SECONDS  longest wait for it to deliver them (default
#                           messages / 10 + 60: today's ~19 SMS/s finish well within it)
#   BENCH_VAR_DIR=var/bench
#   BENCH_HOOK="cmd"        run in the background at the start of each run (e.g. a
#                           profiler), with BENCH_SCENARIO, BENCH_CONNS, BENCH_FCGI_PID and
#                           BENCH_MYSQLD_PID set; waited for after the run
#   BENCH_FLOOR_PROCESSES, BENCH_FLOOR_THREADS   floor process model (default: phoneverify's)
# PHONEVERIFY_* variables pass through to the stack (e.g. PHONEVERIFY_WORKERS).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BIN=$ROOT/build/bin
LUA_DIR=$ROOT/tests/bench

SECONDS_PER_RUN=${BENCH_SECONDS:-10}
CONNECTIONS=(${BENCH_CONNECTIONS:-8 32})
WRK_THREADS=${BENCH_THREADS:-2}
ACCOUNTS=${BENCH_ACCOUNTS:-48}
PAIRS=${BENCH_PAIRS:-4096}
SMS_DELAY_MS=${BENCH_SMS_DELAY_MS:-50}
DRAIN_SECONDS=${BENCH_DRAIN_SECONDS:-120}
ONLY=${BENCH_ONLY:-floor0 floor1 floor2-send floor3-send send send-paused floor2-verify verify me delivery}
DELIVERY_MESSAGES=${BENCH_DELIVERY_MESSAGES:-3000}
DELIVERY_DELAY_MS=${BENCH_DELIVERY_DELAY_MS:-200}
DELIVERY_IN_FLIGHT=${BENCH_DELIVERY_IN_FLIGHT:-}
DELIVERY_DRAIN_SECONDS=${BENCH_DELIVERY_DRAIN_SECONDS:-$((DELIVERY_MESSAGES / 10 + 60))}
VAR_REL=${BENCH_VAR_DIR:-var/bench}
if [[ $VAR_REL == /* ]]; then VAR=$VAR_REL; else VAR=$ROOT/$VAR_REL; fi
TICK=$(getconf CLK_TCK)

say() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }

for tool in wrk curl mariadb awk; do
  command -v "$tool" >/dev/null || die "$tool is not installed (make deps)"
done
for binary in phoneverify-fcgi phoneverify-dispatcher fake-sparrow bench-floor-fcgi; do
  [[ -x $BIN/$binary ]] || die "$BIN/$binary is not built (use make bench)"
done

# shellcheck source=src/ops/bench_common.sh
. "$ROOT/src/ops/bench_common.sh"

# --- the stack under test ------------------------------------------------------------

HTTP_PORT=$(free_port)
SPARROW_PORT=$(free_port)
((SPARROW_PORT != HTTP_PORT)) || SPARROW_PORT=$((HTTP_PORT + 1))
DELIVERY_PORT=$(free_port)
while ((DELIVERY_PORT == HTTP_PORT || DELIVERY_PORT == SPARROW_PORT)); do
  DELIVERY_PORT=$((DELIVERY_PORT + 1))
done
export PHONEVERIFY_VAR_DIR=$VAR
export PHONEVERIFY_HTTP_PORT=$HTTP_PORT
export PHONEVERIFY_SMS_BACKEND=sparrow
export PHONEVERIFY_SPARROW_URL=http://127.0.0.1:$SPARROW_PORT/v2/sms/
export PHONEVERIFY_SPARROW_TOKEN=bench-sparrow-token
export PHONEVERIFY_SPARROW_FROM=Bench
export_bench_limits  # every abuse limit off (bench_common.sh)
# The dispatcher runs on its defaults (dispatcher_in_flight = 256) in every scenario; the
# delivery scenario also drops any dispatcher knob passed in from outside.

URL=http://127.0.0.1:$HTTP_PORT
SPARROW_PID=""
DELIVERY_PID=""
FLOOR_PID=""
SAMPLER_PID=""

declare -A CFG=()
while IFS= read -r line; do
  [[ $line == *' = '* ]] && CFG[${line%% = *}]=${line#* = }
done < <("$BIN/phoneverify-fcgi" --print-config)
DB_SOCKET=${CFG[db_socket]}
DB_NAME=${CFG[db_name]}
WORKERS=${CFG[workers]}
WORKER_THREADS=${CFG[worker_threads]:-1}
FLOOR_PROCESSES=${BENCH_FLOOR_PROCESSES:-$WORKERS}
FLOOR_THREADS=${BENCH_FLOOR_THREADS:-$WORKER_THREADS}
FLOOR_SOCKET=$VAR/run/bench-floor.sock

cleanup() {
  set +e
  [[ -n ${GROUP[dispatcher]:-} ]] && kill -CONT -- "-${GROUP[dispatcher]}" 2>/dev/null
  [[ -n $SAMPLER_PID ]] && kill "$SAMPLER_PID" 2>/dev/null
  [[ -n $FLOOR_PID ]] && kill -TERM -- "-$FLOOR_PID" 2>/dev/null
  src/ops/stack.sh stop >/dev/null 2>&1
  [[ -n $SPARROW_PID ]] && kill -TERM "$SPARROW_PID" 2>/dev/null
  [[ -n $DELIVERY_PID ]] && kill -TERM "$DELIVERY_PID" 2>/dev/null
  wait 2>/dev/null
  rm -f "$VAR/nginx/http.d/bench.conf" "$VAR/nginx/server.d/bench.conf"
}

sql() { mariadb --no-defaults --socket="$DB_SOCKET" --user="$(id -un)" --batch --skip-column-names "$DB_NAME" "$@"; }

start_stack() {
  mkdir -p "$VAR/nginx/http.d" "$VAR/nginx/server.d" "$VAR/log"
  rm -f "$VAR/nginx/http.d/bench.conf" "$VAR/nginx/server.d/bench.conf"
  src/ops/stack.sh stop >/dev/null 2>&1 || true
  : >"$VAR/sparrow.log"
  # Logs of earlier benchmarks would only fill the disk.
  rm -f "$VAR/log/nginx-access.log" "$VAR/log/phoneverify.log" "$VAR"/log/bench-*
  setsid "$BIN/fake-sparrow" --port "$SPARROW_PORT" --delay-ms "$SMS_DELAY_MS" \
    --token bench-sparrow-token --log "$VAR/sparrow.log" >"$VAR/log/fake-sparrow.out" 2>&1 &
  SPARROW_PID=$!
  say "starting the stack in $VAR on $URL (fake Sparrow on port $SPARROW_PORT, ${SMS_DELAY_MS} ms)"
  src/ops/stack.sh start >"$VAR/log/bench-stack.out" 2>&1 ||
    { tail -n 30 "$VAR/log/bench-stack.out" >&2; die "the stack did not start"; }
  # A benchmark starts from empty tables (this var dir belongs to the benchmark). TRUNCATE,
  # not DELETE: the rows an earlier run left (some 100,000 outbox rows) would otherwise
  # be purged in the background during the first runs, and their files keep their size.
  # accounts is referenced by foreign keys, so it is emptied row by row (48 rows).
  sql <<'SQL'
TRUNCATE TABLE api_tokens; TRUNCATE TABLE sessions; DELETE FROM accounts;
TRUNCATE TABLE otp_codes; TRUNCATE TABLE outbox; TRUNCATE TABLE idempotency_keys;
TRUNCATE TABLE limit_events; TRUNCATE TABLE limit_gates;
DROP TABLE IF EXISTS bench_floor_codes;  -- made again: otp_codes may have new columns
CREATE TABLE bench_floor_codes LIKE otp_codes;
SQL
  load_floor3
}

# Floor 3's tables and procedure (tests/bench/floor3.sql, made again on every run), empty.
# The application's account may only read and write rows (account_sql in common.sh):
# it is allowed to CALL this one procedure, here only (the procedure runs as its definer,
# the administrator loading it). Dropping the procedure drops that grant: granted again.
load_floor3() {
  sql <"$ROOT/tests/bench/floor3.sql" || die "could not load tests/bench/floor3.sql"
  sql <<SQL || die "could not prepare floor 3's tables"
TRUNCATE TABLE f3_tokens; TRUNCATE TABLE f3_gates; TRUNCATE TABLE f3_codes;
TRUNCATE TABLE f3_outbox;
GRANT EXECUTE ON PROCEDURE \`$DB_NAME\`.f3_send TO '${CFG[db_user]}'@'localhost';
SQL
}

# Floor 3 resolves the same API tokens as send-otp: api_tokens keeps util::Hash(token),
# 32 bytes, as the floor responder computes it.
seed_floor3_tokens() {
  sql -e "INSERT INTO f3_tokens (token_hash, account_id) SELECT token_hash, account_id FROM api_tokens"
}

# --- the floor responder behind the same nginx ---------------------------------------

# The floor's location copies phoneverify's `location /` block (same FastCGI parameters,
# same keepalive), only the upstream differs.
render_floor_conf() {
  local conf=$VAR/nginx/nginx.conf keepalive
  keepalive=$(awk '/^ *upstream /{u=1} u && /keepalive [0-9]+;/{gsub(/[^0-9]/,""); print; exit}' "$conf")
  {
    echo "upstream bench_floor {"
    echo "    server unix:$FLOOR_SOCKET;"
    [[ -n $keepalive ]] && echo "    keepalive $keepalive;"
    echo "}"
  } >"$VAR/nginx/http.d/bench.conf"
  {
    echo "location = /bench/floor0 {"
    echo "    default_type \"application/json; charset=utf-8\";"
    echo "    return 200 '{}';"
    echo "}"
    awk '/^        location \/ \{/{p=1; sub(/location \/ \{/, "location /bench/ {")}
         p{print} p && /^        \}/{exit}' "$conf" |
      sed -E 's/fastcgi_pass [^;]+;/fastcgi_pass bench_floor;/'
  } >"$VAR/nginx/server.d/bench.conf"
}

start_floor() {
  local password
  password=$(sed -n 's/^[[:space:]]*db_password[[:space:]]*=[[:space:]]*\(.*\)$/\1/p' "$VAR/secrets.conf" | tail -n1)
  BENCH_DB_PASSWORD=$password setsid "$BIN/bench-floor-fcgi" --socket "$FLOOR_SOCKET" \
    --processes "$FLOOR_PROCESSES" --threads "$FLOOR_THREADS" --db-socket "$DB_SOCKET" \
    --db-user "${CFG[db_user]}" --db-name "$DB_NAME" >"$VAR/log/bench-floor.out" 2>&1 &
  FLOOR_PID=$!
  render_floor_conf
  nginx -p "$VAR/nginx/" -c "$VAR/nginx/nginx.conf" -e "$VAR/log/nginx-error.log" -s reload ||
    die "nginx refused the floor configuration"
  local tries
  for ((tries = 0; tries < 100; tries++)); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$URL/bench/floor1") == 200 &&
      $(curl -s -o /dev/null -w '%{http_code}' "$URL/bench/floor0") == 200 ]] && return 0
    sleep 0.1
  done
  die "the floor responder does not answer (see $VAR/log/bench-floor.out)"
}

# --- accounts and pending codes -------------------------------------------------------

json_field() { sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",}]*\).*/\1/p"; }

make_accounts() {
  local i id token tokens=$VAR/tokens.txt
  : >"$tokens"
  for ((i = 1; i <= ACCOUNTS; i++)); do
    id=$(curl -sf "$URL/api/v1/accounts" -H 'Content-Type: application/json' \
      -d "{\"username\": \"bench$i\", \"password\": \"bench password $i\"}" | json_field id)
    token=$(curl -sf "$URL/api/v1/auth/token" -H 'Content-Type: application/json' \
      -d "{\"username\": \"bench$i\", \"password\": \"bench password $i\"}" | json_field token)
    [[ -n $id && -n $token ]] || die "could not create account bench$i"
    echo "$id $token" >>"$tokens"
  done
  chmod 600 "$tokens"
}

wrk_env() {
  env BENCH_LUA_DIR="$LUA_DIR" BENCH_TOKENS="$VAR/tokens.txt" BENCH_PAIRS="$PAIRS" \
    BENCH_THREADS="$WRK_THREADS" "$@"
}

seed_codes() {
  local round offset=0 count=0 line sent
  for ((round = 1; round <= 30; round++)); do
    wrk_env BENCH_SEED=$offset wrk -t "$WRK_THREADS" -c 8 -d 2s -s "$LUA_DIR/seed.lua" "$URL" \
      >"$VAR/log/bench-seed.out" 2>&1 || true
    line=$(grep '^BENCH_RESULT' "$VAR/log/bench-seed.out" || true)
    sent=$(sed -nE 's/.* requests=([0-9]+).*/\1/p' <<<"$line")
    offset=$((offset + ${sent:-0}))
    count=$(sql -e "SELECT COUNT(*) FROM otp_codes WHERE phone LIKE '981%'")
    ((count >= PAIRS)) && break
  done
  ((count >= PAIRS)) || die "only $count of $PAIRS pending codes were seeded"
  sql -e "INSERT INTO bench_floor_codes SELECT * FROM otp_codes"
}

# --- measuring ------------------------------------------------------------------------

# CPU ticks (user + system) of every process in process group $1.
group_ticks() {
  [[ -n $1 ]] || { echo 0; return; }
  # Processes come and go while awk reads: a vanished file is no error here.
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v g="$1" '
    { line = $0; sub(/^.*\) /, "", line); split(line, f, " ");
      if (f[3] == g) sum += f[12] + f[13] } END { print sum + 0 }'
}

pidfile() { cat "$VAR/run/$1.pid" 2>/dev/null || true; }

# The process groups measured: stack.sh starts each component in its own session.
declare -A GROUP=()
find_groups() {
  GROUP[nginx]=$(pidfile nginx)
  GROUP[fcgi]=$(pidfile fcgi)
  GROUP[dispatcher]=$(pidfile dispatcher)
  GROUP[mysqld]=$(pidfile mariadb)
  GROUP[floor]=$FLOOR_PID
  GROUP[gateway]=$SPARROW_PID
}
GROUP_NAMES=(nginx fcgi floor dispatcher mysqld gateway)

outbox_depth() {
  sql -e "SELECT COUNT(*) FROM outbox WHERE state IN ('queued', 'retry', 'sending')" 2>/dev/null || echo "?"
}
sms_count() { wc -l <"$VAR/sparrow.log"; }
# MariaDB's own counters, "statements redo-bytes": client statements (Questions: each
# executed prepared statement, BEGIN and COMMIT counts one) and InnoDB redo log written.
# Unlike CPU they do not depend on what else runs on the machine.
db_counters() {
  sql -e "SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Innodb_os_log_written')" 2>/dev/null |
    awk '$1 == "Questions" { q = $2 } $1 == "Innodb_os_log_written" { r = $2 } END { print q + 0, r + 0 }'
}

# Outbox depth every 0.5 s into $1 until killed (a COUNT over the queue: not more often).
start_sampler() {
  (while true; do outbox_depth; sleep 0.5; done) >"$1" 2>/dev/null &
  SAMPLER_PID=$!
}
stop_sampler() {
  kill "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=""
}

declare -A R=()  # results: R[scenario,conns,field]
F3_ROWS=""       # rows floor 3 wrote to f3_outbox, and its 2xx answers
F3_ACCEPTED=0
ROWS=()

# run SCENARIO SCRIPT PATH CONNS
run() {
  local scenario=$1 script=$2 path=$3 conns=$4 out name before_sms after_sms
  local -A before=()
  out=$VAR/log/bench-$scenario-c$conns.out
  for name in "${GROUP_NAMES[@]}"; do before[$name]=$(group_ticks "${GROUP[$name]}"); done
  before_sms=$(sms_count)
  local db_before
  db_before=$(db_counters)
  [[ $scenario == send* ]] && start_sampler "$VAR/log/bench-depth-$scenario-c$conns.txt"
  [[ $scenario == send-paused ]] && kill -STOP -- "-${GROUP[dispatcher]}"
  local hook_pid=""
  if [[ -n ${BENCH_HOOK:-} ]]; then
    BENCH_SCENARIO=$scenario BENCH_CONNS=$conns BENCH_FCGI_PID=${GROUP[fcgi]} \
      BENCH_MYSQLD_PID=${GROUP[mysqld]} bash -c "$BENCH_HOOK" >>"$VAR/log/bench-hook.out" 2>&1 &
    hook_pid=$!
  fi
  local t0 t1 wrk_cpu
  t0=$(date +%s.%N)
  wrk_cpu=$( { /usr/bin/time -f '%U %S' -o /dev/stderr \
    env BENCH_LUA_DIR="$LUA_DIR" BENCH_TOKENS="$VAR/tokens.txt" BENCH_PAIRS="$PAIRS" \
    BENCH_THREADS="$WRK_THREADS" BENCH_SEED=$((RANDOM * 300)) ${path:+BENCH_PATH=$path} \
    wrk -t "$WRK_THREADS" -c "$conns" -d "${SECONDS_PER_RUN}s" --timeout 10s \
    -s "$LUA_DIR/$script" "$URL" >"$out"; } 2>&1 | tail -n1)
  t1=$(date +%s.%N)
  [[ $scenario == send-paused ]] && kill -CONT -- "-${GROUP[dispatcher]}"
  [[ $scenario == send* ]] && stop_sampler
  [[ -n $hook_pid ]] && wait "$hook_pid" 2>/dev/null
  after_sms=$(sms_count)
  local db_after
  db_after=$(db_counters)
  local wall line
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  line=$(grep '^BENCH_RESULT' "$out") || { cat "$out" >&2; die "wrk failed ($scenario)"; }
  local key=$scenario,$conns
  for field in requests duration_us p50_us p99_us non2xx connect read write timeout; do
    R[$key,$field]=$(sed -E "s/.* $field=([0-9]+).*/\1/" <<<"$line")
  done
  R[$key,rps]=$(awk -v n="${R[$key,requests]}" -v d="${R[$key,duration_us]}" 'BEGIN { printf "%.0f", n / (d / 1e6) }')
  R[$key,cpu_wrk]=$(awk -v c="$wrk_cpu" -v w="$wall" 'BEGIN { split(c, f, " "); printf "%.0f", (f[1] + f[2]) / w * 100 }')
  for name in "${GROUP_NAMES[@]}"; do
    R[$key,cpu_$name]=$(awk -v a="${before[$name]}" -v b="$(group_ticks "${GROUP[$name]}")" \
      -v t="$TICK" -v w="$wall" 'BEGIN { printf "%.0f", (b - a) / t / w * 100 }')
  done
  # Server-side CPU per request: every group but wrk (the floor's rows count the floor).
  R[$key,us_per_req]=$(awk -v n="${R[$key,requests]}" -v d="${R[$key,duration_us]}" \
    -v c="$(( R[$key,cpu_nginx] + R[$key,cpu_fcgi] + R[$key,cpu_floor] + R[$key,cpu_dispatcher] + R[$key,cpu_mysqld] + R[$key,cpu_gateway] ))" \
    'BEGIN { printf "%.0f", (n > 0 ? c / 100 * (d / 1e6) / n * 1e6 : 0) }')
  R[$key,sms]=$(awk -v a="$before_sms" -v b="$after_sms" -v w="$wall" 'BEGIN { printf "%.0f", (b - a) / w }')
  # Per request (the send row includes the SMS the dispatcher delivered meanwhile; the
  # sampler's one COUNT a second is in it too, negligibly).
  R[$key,db_per_req]=$(awk -v a="$db_before" -v b="$db_after" -v n="${R[$key,requests]}" \
    'BEGIN { split(a, x, " "); split(b, y, " "); if (n > 0) printf "%.1f / %.0f", (y[1] - x[1]) / n, (y[2] - x[2]) / n; else printf "-" }')
  if [[ $scenario == send* ]]; then
    R[$key,depth]=$(awk '$1 ~ /^[0-9]+$/ { if ($1 > m) m = $1; last = $1 } END { printf "%d/%d", m, last }' \
      "$VAR/log/bench-depth-$scenario-c$conns.txt")
    # The peak in seconds of sends: how far the dispatcher fell behind send-otp.
    R[$key,depth_s]=$(awk -v d="${R[$key,depth]%/*}" -v r="${R[$key,rps]}" \
      'BEGIN { printf "%.2f", (r > 0 ? d / r : 0) }')
  fi
  ROWS+=("$key")
  say "$(printf '%-14s c%-3s %7s req/s  p50 %6.1f ms  p99 %6.1f ms  non-2xx %s' "$scenario" "$conns" \
    "${R[$key,rps]}" "$(awk -v u="${R[$key,p50_us]}" 'BEGIN{print u/1000}')" \
    "$(awk -v u="${R[$key,p99_us]}" 'BEGIN{print u/1000}')" "${R[$key,non2xx]}")"
}

wanted() { [[ " $ONLY " == *" $1 "* ]]; }

# After the send runs: how long the dispatcher takes to empty the outbox, and its rate.
DRAIN=""
measure_drain() {
  local start depth sms0 waited=0
  start=$(date +%s.%N)
  sms0=$(sms_count)
  local db0
  db0=$(db_counters)
  depth=$(outbox_depth)
  while [[ $depth != 0 ]] && ((waited < DRAIN_SECONDS * 2)); do
    sleep 0.5
    waited=$((waited + 1))
    depth=$(outbox_depth)
  done
  DRAIN=$(awk -v a="$start" -v b="$(date +%s.%N)" -v s0="$sms0" -v s1="$(sms_count)" -v d="$depth" \
    -v x="$db0" -v y="$(db_counters)" \
    'BEGIN { w = b - a; n = s1 - s0; split(x, p, " "); split(y, q, " ");
             printf "%s after %.1f s (%.0f SMS/s while draining", (d == 0 ? "empty" : d " left"), w, (w > 0 ? n / w : 0);
             if (n > 0) printf "; per SMS %.1f statements, %.0f B redo", (q[1] - p[1]) / n, (q[2] - p[2]) / n;
             printf ")" }')
}

# Undelivered messages left after the drain wait: superseded (as a resend would), so the
# dispatcher does not work through them during the next runs. LEFT_ASIDE says how many.
LEFT_ASIDE=0
set_aside_leftovers() {
  local left
  LEFT_ASIDE=0
  left=$(sql -e "SELECT COUNT(*) FROM outbox WHERE state IN ('queued', 'retry')")
  ((left > 0)) || return 0
  sql -e "UPDATE outbox SET state = 'superseded', sealed_text = NULL, claim_token = NULL
          WHERE state IN ('queued', 'retry')"
  LEFT_ASIDE=$left
  sleep 2  # messages already claimed finish
}

# --- delivery at 200 ms ----------------------------------------------------------------

# "requests in_flight in_flight_max in_flight_us connections" of the fake gateway on port
# $1 (GET /stats; zeros when it does not answer).
gateway_stats() {
  { curl -sf --max-time 2 "http://127.0.0.1:$1/stats" || true; } | tr -d '{}" ' | tr ',' '\n' |
    awk -F: '{ v[$1] = $2 } END { print v["requests"] + 0, v["in_flight"] + 0,
      v["in_flight_max"] + 0, v["in_flight_us"] + 0, v["connections"] + 0 }'
}

group_pids() { ps -e -o pid=,pgid= | awk -v g="$1" '$2 == g { print $1 }'; }

# Threads of the dispatcher's processes $@ (one today: its Threads line).
dispatcher_threads() {
  local pid sum=0 n
  for pid in "$@"; do
    n=$(awk '/^Threads:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
    sum=$((sum + ${n:-0}))
  done
  echo "$sum"
}

# Database connections the dispatcher holds. MariaDB cannot tell them apart from the
# workers' (same user, same host 'localhost' over the socket; PROCESSLIST has no client pid
# and performance_schema, whose connect attributes have one, is off), so they are counted
# from the client side: the sockets open in the dispatcher's processes (/proc/<pid>/fd)
# whose peer is a connection accepted on MariaDB's socket (`ss -x`: the server end names
# the socket path and its peer's inode), or, with db_host, TCP sockets to db_port.
# $@: the dispatcher's processes.
dispatcher_db_connections() {
  local pid inodes=""
  for pid in "$@"; do
    inodes+=" $(find "/proc/$pid/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null |
      sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p' | tr '\n' ' ')"
  done
  if [[ -z ${CFG[db_host]:-} ]]; then
    ss -xH 2>/dev/null | awk -v path="$DB_SOCKET" -v mine="$inodes" '
      BEGIN { n = split(mine, m, " "); for (i = 1; i <= n; i++) own[m[i]] = 1 }
      $5 == path && ($8 in own) { count++ } END { print count + 0 }'
  else
    local port_hex
    port_hex=$(printf '%04X' "${CFG[db_port]:-3306}")
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v port=":$port_hex" -v mine="$inodes" '
      BEGIN { n = split(mine, m, " "); for (i = 1; i <= n; i++) own[m[i]] = 1 }
      $4 == "01" && substr($3, length($3) - 4) == port && ($10 in own) { count++ }
      END { print count + 0 }'
  fi
}

# The second fake Sparrow, answering after DELIVERY_DELAY_MS; its /stats count only this
# scenario.
start_delivery_gateway() {
  : >"$VAR/sparrow-delivery.log"
  setsid "$BIN/fake-sparrow" --port "$DELIVERY_PORT" --delay-ms "$DELIVERY_DELAY_MS" \
    --token bench-sparrow-token --log "$VAR/sparrow-delivery.log" \
    >"$VAR/log/fake-sparrow-delivery.out" 2>&1 &
  DELIVERY_PID=$!
  local tries
  for ((tries = 0; tries < 50; tries++)); do
    curl -sf -o /dev/null "http://127.0.0.1:$DELIVERY_PORT/stats" && return 0
    sleep 0.1
  done
  die "the delivery gateway does not answer (see $VAR/log/fake-sparrow-delivery.out)"
}

# `env` arguments that drop every dispatcher knob from the environment, so the dispatcher
# runs on its defaults; the backend choice and the abuse limit on SMS per day stay.
DEFAULT_DISPATCHER_ENV=()
default_dispatcher_env() {
  local name
  DEFAULT_DISPATCHER_ENV=()
  for name in $(compgen -e); do
    case $name in
      PHONEVERIFY_SMS_BACKEND | PHONEVERIFY_SMS_DAILY_BUDGET) ;;
      PHONEVERIFY_DISPATCHER_* | PHONEVERIFY_SMS_*) DEFAULT_DISPATCHER_ENV+=(-u "$name") ;;
    esac
  done
  [[ -z $DELIVERY_IN_FLIGHT ]] ||
    DEFAULT_DISPATCHER_ENV+=("PHONEVERIFY_DISPATCHER_IN_FLIGHT=$DELIVERY_IN_FLIGHT")
}

# stack.sh restart-app (phoneverify-fcgi and the dispatcher) under `env "$@"`.
restart_app() {
  env "$@" src/ops/stack.sh restart-app >>"$VAR/log/bench-stack.out" 2>&1 ||
    { tail -n 30 "$VAR/log/bench-stack.out" >&2; die "the stack did not restart"; }
  find_groups
}

# Queues DELIVERY_MESSAGES codes with send-otp while the dispatcher is stopped. burst.lua
# stops each wrk thread after its share, but wrk itself sleeps out -d: it is interrupted
# (SIGINT ends it cleanly) once the outbox holds them all.
queue_burst() {
  local wrk_pid depth
  env BENCH_LUA_DIR="$LUA_DIR" BENCH_TOKENS="$VAR/tokens.txt" BENCH_THREADS="$WRK_THREADS" \
    BENCH_SEED=$((RANDOM * 300)) BENCH_COUNT="$DELIVERY_MESSAGES" \
    wrk -t "$WRK_THREADS" -c 8 -d 600s --timeout 10s -s "$LUA_DIR/burst.lua" "$URL" \
    >"$VAR/log/bench-burst.out" 2>&1 &
  wrk_pid=$!
  while kill -0 "$wrk_pid" 2>/dev/null; do
    sleep 0.2
    depth=$(outbox_depth)
    if [[ $depth =~ ^[0-9]+$ ]] && ((depth >= DELIVERY_MESSAGES)); then break; fi
  done
  sleep 0.5  # the last answers of the burst
  kill -INT "$wrk_pid" 2>/dev/null || true
  wait "$wrk_pid" 2>/dev/null || true
  grep -q '^BENCH_RESULT.* non2xx=0 ' "$VAR/log/bench-burst.out" ||
    say "the burst had errors: $(grep '^BENCH_RESULT' "$VAR/log/bench-burst.out" || echo "no result")"
}

declare -A D=()  # delivery results
run_delivery() {
  say "delivery at ${DELIVERY_DELAY_MS} ms: the dispatcher on its defaults, ${DELIVERY_MESSAGES} codes"
  start_delivery_gateway
  default_dispatcher_env
  D[in_flight]=$(env "${DEFAULT_DISPATCHER_ENV[@]}" "$BIN/phoneverify-fcgi" --print-config 2>/dev/null |
    sed -n 's/^dispatcher_in_flight = //p')
  restart_app "${DEFAULT_DISPATCHER_ENV[@]}" \
    "PHONEVERIFY_SPARROW_URL=http://127.0.0.1:$DELIVERY_PORT/v2/sms/"
  set_aside_leftovers  # what earlier scenarios left; none after their drain
  kill -STOP -- "-${GROUP[dispatcher]}"
  queue_burst
  measure_delivery
  kill -CONT -- "-${GROUP[dispatcher]}" 2>/dev/null || true
  set_aside_leftovers
  D[left_aside]=$LEFT_ASIDE
  restart_app  # back to the environment of the other scenarios
  kill -TERM "$DELIVERY_PID" 2>/dev/null || true
  wait "$DELIVERY_PID" 2>/dev/null || true
  DELIVERY_PID=""
}

# From SIGCONT until the outbox is empty, sampling every 0.5 s (plus the time the samples
# take: a few ms each, on a quiet machine).
measure_delivery() {
  local ticks0 stats0 t0 now depth sample threads sockets stats report_at=10
  local -a line pids
  read -r -a pids <<<"$(group_pids "${GROUP[dispatcher]}" | tr '\n' ' ')"
  D[queued]=$(outbox_depth)
  D[threads]=$(dispatcher_threads "${pids[@]}")
  D[db]=$(dispatcher_db_connections "${pids[@]}")
  D[gw_conns]=0
  ticks0=$(group_ticks "${GROUP[dispatcher]}")
  stats0=$(gateway_stats "$DELIVERY_PORT")
  t0=$(date +%s%3N)
  kill -CONT -- "-${GROUP[dispatcher]}"
  depth=${D[queued]}
  now=$t0
  while [[ $depth != 0 ]] && ((now - t0 < DELIVERY_DRAIN_SECONDS * 1000)); do
    sleep 0.5
    now=$(date +%s%3N)
    sample=$(outbox_depth)
    [[ $sample =~ ^[0-9]+$ ]] && depth=$sample  # "?": the query failed, keep the last
    read -r -a pids <<<"$(group_pids "${GROUP[dispatcher]}" | tr '\n' ' ')"
    threads=$(dispatcher_threads "${pids[@]}")
    sockets=$(dispatcher_db_connections "${pids[@]}")
    stats=$(gateway_stats "$DELIVERY_PORT")
    ((threads > D[threads])) && D[threads]=$threads
    ((sockets > D[db])) && D[db]=$sockets
    read -r -a line <<<"$stats"
    ((line[4] > D[gw_conns])) && D[gw_conns]=${line[4]}
    if ((now - t0 >= report_at * 1000)); then
      say "delivery: $depth queued after $(((now - t0) / 1000)) s"
      report_at=$((report_at + 10))
    fi
  done
  D[left]=$depth
  local ticks1 stats1 last_ms before after
  ticks1=$(group_ticks "${GROUP[dispatcher]}")
  stats1=$(gateway_stats "$DELIVERY_PORT")
  # The end: the last request's arrival (the fake's log) plus its answer time.
  last_ms=$(awk -F'"ts_ms":' 'NF > 1 { split($2, f, /[,}]/); if (f[1] > m) m = f[1] } END { print m + 0 }' \
    "$VAR/sparrow-delivery.log")
  ((last_ms > t0)) || last_ms=$(date +%s%3N)
  D[seconds]=$(awk -v a="$t0" -v b="$last_ms" -v d="$DELIVERY_DELAY_MS" 'BEGIN { printf "%.2f", (b + d - a) / 1000 }')
  read -r -a before <<<"$stats0"
  read -r -a after <<<"$stats1"
  D[sent]=$((after[0] - before[0]))
  D[peak]=${after[2]}
  D[sms_s]=$(awk -v n="${D[sent]}" -v w="${D[seconds]}" 'BEGIN { printf "%.1f", (w > 0 ? n / w : 0) }')
  D[mean]=$(awk -v a="${before[3]}" -v b="${after[3]}" -v w="${D[seconds]}" \
    'BEGIN { printf "%.1f", (w > 0 ? (b - a) / 1e6 / w : 0) }')
  D[cpu_us]=$(awk -v a="$ticks0" -v b="$ticks1" -v t="$TICK" -v n="${D[sent]}" \
    'BEGIN { printf "%.0f", (n > 0 ? (b - a) / t * 1e6 / n : 0) }')
  say "$(printf 'delivery: %s SMS in %s s = %s SMS/s; in flight peak %s mean %s; %s µs CPU/SMS; %s threads; %s DB connections' \
    "${D[sent]}" "${D[seconds]}" "${D[sms_s]}" "${D[peak]}" "${D[mean]}" "${D[cpu_us]}" "${D[threads]}" "${D[db]}")"
}

# Idle: CPU of the whole stack over 5 s with no requests.
IDLE=""
measure_idle() {
  local name total_before=0 total_after=0
  sleep 1
  for name in nginx fcgi dispatcher mysqld; do total_before=$((total_before + $(group_ticks "${GROUP[$name]}"))); done
  sleep 5
  for name in nginx fcgi dispatcher mysqld; do total_after=$((total_after + $(group_ticks "${GROUP[$name]}"))); done
  IDLE=$(awk -v a="$total_before" -v b="$total_after" -v t="$TICK" 'BEGIN { printf "%.1f%% of one core", (b - a) / t / 5 * 100 }')
}

# Largest VmRSS (MiB) among the processes of group $1 other than the leader.
worker_rss() {
  local g=$1 pid max=0 rss
  [[ -n $g ]] || { echo "-"; return; }
  for pid in $(ps -e -o pid=,pgid= | awk -v g="$g" '$2 == g && $1 != g { print $1 }'); do
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    ((rss > max)) && max=$rss
  done
  awk -v k="$max" 'BEGIN { printf "%.1f", k / 1024 }'
}

# --- the report -----------------------------------------------------------------------

ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }
ratio() {
  [[ -n ${R[$1,rps]:-} && -n ${R[$2,rps]:-} ]] || { echo "-"; return; }
  awk -v a="${R[$1,rps]}" -v b="${R[$2,rps]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'
}
p99ratio() {
  [[ -n ${R[$1,p99_us]:-} && -n ${R[$2,p99_us]:-} ]] || { echo "-"; return; }
  awk -v a="${R[$1,p99_us]}" -v b="${R[$2,p99_us]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'
}

report() {
  local key label conns
  echo "## make bench — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, ${SECONDS_PER_RUN} s per run"
  echo
  echo "phoneverify: $WORKERS workers × $WORKER_THREADS threads; floor responder $FLOOR_PROCESSES × $FLOOR_THREADS;"
  echo "wrk -t $WRK_THREADS; $ACCOUNTS accounts; $PAIRS pending codes; fake Sparrow ${SMS_DELAY_MS} ms,"
  echo "dispatcher ${CFG[dispatcher_in_flight]:-?} in flight at most;"
  echo "innodb_flush_log_at_trx_commit=1. CPU in % of one core over the run (fcgi = phoneverify-fcgi or"
  echo "the floor responder; gateway = the fake Sparrow); µs/req = server-side CPU (all but wrk) per request."
  echo
  echo "| scenario | -c | req/s | p50 ms | p99 ms | non-2xx | CPU wrk | nginx | fcgi | dispatcher | mysqld | gateway | µs/req | SMS/s | outbox max/end | outbox max, s of sends | stmts / redo B per req |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  for key in "${ROWS[@]}"; do
    label=${key%,*}
    conns=${key#*,}
    local fcgi_cpu=${R[$key,cpu_fcgi]}
    [[ $label == floor* ]] && fcgi_cpu=${R[$key,cpu_floor]}
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
      "$label" "$conns" "${R[$key,rps]}" "$(ms "${R[$key,p50_us]}")" "$(ms "${R[$key,p99_us]}")" \
      "${R[$key,non2xx]}$( ((R[$key,connect] + R[$key,read] + R[$key,write] + R[$key,timeout] > 0)) && echo " (+sock ${R[$key,connect]}/${R[$key,read]}/${R[$key,write]}/${R[$key,timeout]})")" \
      "${R[$key,cpu_wrk]}" "${R[$key,cpu_nginx]}" "$fcgi_cpu" "${R[$key,cpu_dispatcher]}" \
      "${R[$key,cpu_mysqld]}" "${R[$key,cpu_gateway]}" "${R[$key,us_per_req]}" "${R[$key,sms]}" \
      "${R[$key,depth]:--}" "$(depth_seconds "$key")" "${R[$key,db_per_req]:--}"
  done
  echo
  echo "verify non-2xx are the intended 400 otp_invalid (wrong guesses). send-paused: the dispatcher"
  echo "stopped (SIGSTOP) during the run, so the SMS delivery does not compete; outbox max/end = depth"
  echo "sampled every 0.5 s during the run; in the send rows its peak also in seconds of sends"
  echo "(depth / req/s; target at -c 32 with the dispatcher running: < 1 s)."
  echo
  echo "| ratio phoneverify / floor | -c | req/s / floor 2 | p99 / floor 2 | req/s / floor 3 | p99 / floor 3 |"
  echo "|---|---|---|---|---|---|"
  for conns in "${CONNECTIONS[@]}"; do
    echo "| send | $conns | $(ratio "send,$conns" "floor2-send,$conns") | $(p99ratio "send,$conns" "floor2-send,$conns") | $(ratio "send,$conns" "floor3-send,$conns") | $(p99ratio "send,$conns" "floor3-send,$conns") |"
    echo "| send, dispatcher paused | $conns | $(ratio "send-paused,$conns" "floor2-send,$conns") | $(p99ratio "send-paused,$conns" "floor2-send,$conns") | $(ratio "send-paused,$conns" "floor3-send,$conns") | $(p99ratio "send-paused,$conns" "floor3-send,$conns") |"
    echo "| verify | $conns | $(ratio "verify,$conns" "floor2-verify,$conns") | $(p99ratio "verify,$conns" "floor2-verify,$conns") | - | - |"
  done
  echo
  echo "Targets (issue 16): send-otp ≥ 0.7× floor 3 and verify-otp ≥ 0.8× floor 2 at -c 32; p99 ≤ 2× the floor's."
  echo "Statements per request$(stmts_conns_label): $(stmts_line)"
  echo "(MariaDB's Questions / requests: each executed prepared statement, CALL, BEGIN and COMMIT"
  echo "counts one, statements inside a procedure none; the send row includes the dispatcher's.)"
  echo
  echo "- RSS per worker (largest): phoneverify-fcgi ${RSS_FCGI} MiB, floor responder ${RSS_FLOOR} MiB"
  echo "- dispatcher after the send runs (${CFG[dispatcher_in_flight]:-?} in flight at most, fake gateway ${SMS_DELAY_MS} ms): outbox ${DRAIN:-not measured}"
  echo "- idle stack (nginx + fcgi + dispatcher + mysqld, 5 s, no requests): ${IDLE:-not measured}"
  [[ -z $F3_ROWS ]] || echo "- floor 3 wrote $F3_ROWS rows to f3_outbox ($F3_ACCEPTED requests answered 2xx; the few in flight when wrk stopped are written, not counted)"
  echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the machine may be shared: repeat runs)"
  wanted delivery && report_delivery
  return 0
}

# The -c whose statements per request the report states: 32 when measured, else the last.
stmts_conns() {
  local conns
  for conns in "${CONNECTIONS[@]}"; do ((conns == 32)) && { echo 32; return; }; done
  echo "${CONNECTIONS[-1]}"
}
stmts_conns_label() { echo " (-c $(stmts_conns))"; }
# "send X, send-paused Y, floor 3 Z, floor 2 W": the statements half of db_per_req.
stmts_line() {
  local conns label out="" value
  conns=$(stmts_conns)
  for label in send send-paused floor3-send floor2-send; do
    value=${R[$label,$conns,db_per_req]:-}
    value=${value%% /*}
    [[ -n $out ]] && out+=", "
    case $label in
      floor3-send) out+="floor 3 ${value:--}" ;;
      floor2-send) out+="floor 2 ${value:--}" ;;
      *) out+="$label ${value:--}" ;;
    esac
  done
  echo "$out"
}

# The send rows' peak outbox in seconds of sends ("-" for the other rows).
depth_seconds() {
  [[ $1 == send,* && -n ${R[$1,depth_s]:-} ]] || { echo "-"; return; }
  echo "${R[$1,depth_s]}"
}

report_delivery() {
  local need conns
  need=$(awk -v d="$DELIVERY_DELAY_MS" 'BEGIN { printf "%.0f", 250 * d / 1000 }')
  echo
  echo "### delivery at ${DELIVERY_DELAY_MS} ms"
  echo
  echo "The dispatcher on its default configuration (dispatcher_in_flight = ${D[in_flight]:-?}), alone: ${D[queued]:-?}"
  echo "codes queued while it was stopped, then delivered to a fake Sparrow answering after"
  echo "${DELIVERY_DELAY_MS} ms, from SIGCONT to the last answer (${D[seconds]:-?} s, ${D[sent]:-?} SMS answered$(
    ((${D[left]:-0} == 0)) || echo "; ${D[left]} still queued at the end of the wait, ${D[left_aside]:-0} set aside"))."
  echo "Targets: issue 14 (the lane dispatcher it replaced: 19 SMS/s, 4 in flight, 380-480 µs per SMS here)."
  echo
  echo "| figure | measured | target |"
  echo "|---|---|---|"
  echo "| SMS/s | ${D[sms_s]:-?} | ≥ 250 |"
  echo "| in flight at the gateway, peak / mean | ${D[peak]:-?} / ${D[mean]:-?} | mean ≥ $need (250 SMS/s × ${DELIVERY_DELAY_MS} ms) |"
  echo "| dispatcher CPU per SMS | ${D[cpu_us]:-?} µs | ≤ 100 µs (half of today's ~200) |"
  echo "| dispatcher threads (peak) | ${D[threads]:-?} | ≤ 4 |"
  echo "| dispatcher DB connections (peak) | ${D[db]:-?} | ≤ 4 |"
  echo "| connections to the gateway (peak) | ${D[gw_conns]:-?} | - |"
  for conns in "${CONNECTIONS[@]}"; do
    [[ -n ${R[send,$conns,depth_s]:-} ]] || continue
    echo "| outbox peak during send -c $conns (${CFG[dispatcher_in_flight]:-?} in flight at most, ${SMS_DELAY_MS} ms) | ${R[send,$conns,depth]%/*} = ${R[send,$conns,depth_s]} s of sends | $( ((conns >= 32)) && echo "< 1 s" || echo "-") |"
  done
  echo
  echo "Mean in flight = time the gateway spent on requests / the delivery's duration; CPU = utime +"
  echo "stime of the dispatcher's process group (/proc, ${TICK} ticks/s); threads from /proc/<pid>/status,"
  echo "DB connections from the dispatcher's sockets whose peer is MariaDB's, both sampled every 0.5 s."
}

main() {
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  start_stack
  start_floor
  find_groups
  say "creating $ACCOUNTS accounts"
  make_accounts
  seed_floor3_tokens
  if wanted verify || wanted floor2-verify; then
    say "seeding $PAIRS pending codes"
    seed_codes
  fi
  local conns
  for scenario in floor0 floor1 floor2-send floor3-send send send-paused floor2-verify verify me delivery; do
    wanted "$scenario" || continue
    if [[ $scenario == delivery ]]; then
      run_delivery
      continue
    fi
    for conns in "${CONNECTIONS[@]}"; do
      case $scenario in
        floor0) run floor0 send.lua /bench/floor0 "$conns" ;;
        floor1) run floor1 send.lua /bench/floor1 "$conns" ;;
        floor2-send) run floor2-send send.lua /bench/floor2/send "$conns" ;;
        floor3-send) run floor3-send send.lua /bench/floor3/send "$conns" ;;
        send) run send send.lua "" "$conns" ;;
        send-paused) run send-paused send.lua "" "$conns" ;;
        floor2-verify) run floor2-verify verify.lua /bench/floor2/verify "$conns" ;;
        verify) run verify verify.lua "" "$conns" ;;
        me) run me me.lua "" "$conns" ;;
      esac
    done
    if [[ $scenario == floor3-send ]]; then
      F3_ROWS=$(sql -e "SELECT COUNT(*) FROM f3_outbox")
      F3_ACCEPTED=0
      for conns in "${CONNECTIONS[@]}"; do
        F3_ACCEPTED=$((F3_ACCEPTED + R[floor3-send,$conns,requests] - R[floor3-send,$conns,non2xx]))
      done
      say "floor 3: $F3_ROWS rows in f3_outbox, $F3_ACCEPTED requests answered 2xx"
    fi
    if [[ $scenario == send-paused ]] || { [[ $scenario == send ]] && ! wanted send-paused; }; then
      say "waiting for the dispatcher to empty the outbox (at most ${DRAIN_SECONDS} s)"
      measure_drain
      set_aside_leftovers
      ((LEFT_ASIDE == 0)) || DRAIN+="; $LEFT_ASIDE set aside unsent before the next runs"
    fi
  done
  RSS_FCGI=$(worker_rss "${GROUP[fcgi]}")
  RSS_FLOOR=$(worker_rss "$FLOOR_PID")
  measure_idle
  local stamp file
  stamp=$(date -u +%Y%m%d-%H%M%S)
  file=$VAR/bench-$stamp.md
  report >"$file"
  cp "$file" "$VAR/bench-latest.md"
  echo
  cat "$file"
  echo
  say "written to ${file#"$ROOT"/}"
}

main "$@"; exit  # one line: editing this file during a run cannot change the run
