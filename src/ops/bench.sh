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
#   phoneverify  send-otp (distinct phones, tokens rotating over the accounts), verify-otp
#             (wrong guesses over BENCH_PAIRS pending codes, attempt limit raised), GET /me;
#             send-paused is send-otp with the dispatcher stopped (SIGSTOP) for the run:
#             the web path alone, without the SMS delivery competing for the machine
# and prints requests/s, p50/p99, non-2xx, CPU of each process group, RSS per worker, the
# phoneverify/floor 2 ratios, the dispatcher's SMS/s and the outbox depth, plus idle CPU.
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
#   BENCH_ONLY="..."        subset of scenarios (floor0 floor1 floor2-send send
#                           send-paused floor2-verify verify me); default all
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
ONLY=${BENCH_ONLY:-floor0 floor1 floor2-send send send-paused floor2-verify verify me}
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

free_port() {
  local port
  for ((port = 20000 + RANDOM % 20000; ; port++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

# --- the stack under test ------------------------------------------------------------

HTTP_PORT=$(free_port)
SPARROW_PORT=$(free_port)
((SPARROW_PORT != HTTP_PORT)) || SPARROW_PORT=$((HTTP_PORT + 1))
export PHONEVERIFY_VAR_DIR=$VAR
export PHONEVERIFY_HTTP_PORT=$HTTP_PORT
export PHONEVERIFY_SMS_BACKEND=sparrow
export PHONEVERIFY_SPARROW_URL=http://127.0.0.1:$SPARROW_PORT/v2/sms/
export PHONEVERIFY_SPARROW_TOKEN=bench-sparrow-token
export PHONEVERIFY_SPARROW_FROM=Bench
# Limits off (0), so every request does the full work instead of a quick 429; the
# attempt limit raised rather than off, so the attempt count is still checked and kept.
export PHONEVERIFY_OTP_RESEND_COOLDOWN=0 PHONEVERIFY_OTP_MAX_SENDS_PER_DAY=0
export PHONEVERIFY_IP_MAX_SENDS_PER_HOUR=0 PHONEVERIFY_IP_MAX_SIGNUPS_PER_HOUR=0
export PHONEVERIFY_ACCOUNT_MAX_SENDS_PER_DAY=0 PHONEVERIFY_LOGIN_MAX_FAILURES=0
export PHONEVERIFY_LOGIN_MAX_FAILURES_PER_IP=0
export PHONEVERIFY_SMS_DAILY_BUDGET=0 PHONEVERIFY_PREFIX_MAX_SENDS_PER_HOUR=0
export PHONEVERIFY_OTP_MAX_ATTEMPTS=${PHONEVERIFY_OTP_MAX_ATTEMPTS:-1000000000}
export PHONEVERIFY_OTP_TTL=${PHONEVERIFY_OTP_TTL:-3600}
# Enough lanes to keep up with a fast send-otp against a 50 ms gateway (~20 SMS/s each).
export PHONEVERIFY_DISPATCHER_LANES=${PHONEVERIFY_DISPATCHER_LANES:-128}

URL=http://127.0.0.1:$HTTP_PORT
SPARROW_PID=""
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

# Outbox depth every second into $1 until killed (a COUNT over the queue: not more often).
start_sampler() {
  (while true; do outbox_depth; sleep 1; done) >"$1" 2>/dev/null &
  SAMPLER_PID=$!
}
stop_sampler() {
  kill "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=""
}

declare -A R=()  # results: R[scenario,conns,field]
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
# dispatcher does not work through them during the next runs.
set_aside_leftovers() {
  local left
  left=$(sql -e "SELECT COUNT(*) FROM outbox WHERE state IN ('queued', 'retry')")
  ((left > 0)) || return 0
  sql -e "UPDATE outbox SET state = 'superseded', sealed_text = NULL, claim_token = NULL
          WHERE state IN ('queued', 'retry')"
  DRAIN+="; $left set aside unsent before the next runs"
  sleep 2  # messages already claimed finish
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
  echo "dispatcher ${CFG[dispatcher_lanes]:-?} lanes;"
  echo "innodb_flush_log_at_trx_commit=1. CPU in % of one core over the run (fcgi = phoneverify-fcgi or"
  echo "the floor responder; gateway = the fake Sparrow); µs/req = server-side CPU (all but wrk) per request."
  echo
  echo "| scenario | -c | req/s | p50 ms | p99 ms | non-2xx | CPU wrk | nginx | fcgi | dispatcher | mysqld | gateway | µs/req | SMS/s | outbox max/end | stmts / redo B per req |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  for key in "${ROWS[@]}"; do
    label=${key%,*}
    conns=${key#*,}
    local fcgi_cpu=${R[$key,cpu_fcgi]}
    [[ $label == floor* ]] && fcgi_cpu=${R[$key,cpu_floor]}
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
      "$label" "$conns" "${R[$key,rps]}" "$(ms "${R[$key,p50_us]}")" "$(ms "${R[$key,p99_us]}")" \
      "${R[$key,non2xx]}$( ((R[$key,connect] + R[$key,read] + R[$key,write] + R[$key,timeout] > 0)) && echo " (+sock ${R[$key,connect]}/${R[$key,read]}/${R[$key,write]}/${R[$key,timeout]})")" \
      "${R[$key,cpu_wrk]}" "${R[$key,cpu_nginx]}" "$fcgi_cpu" "${R[$key,cpu_dispatcher]}" \
      "${R[$key,cpu_mysqld]}" "${R[$key,cpu_gateway]}" "${R[$key,us_per_req]}" "${R[$key,sms]}" \
      "${R[$key,depth]:--}" "${R[$key,db_per_req]:--}"
  done
  echo
  echo "verify non-2xx are the intended 400 otp_invalid (wrong guesses). send-paused: the dispatcher"
  echo "stopped (SIGSTOP) during the run, so the SMS delivery does not compete; outbox max/end = depth"
  echo "sampled each second during the run."
  echo
  echo "| ratio phoneverify / floor 2 | -c | req/s | p99 |"
  echo "|---|---|---|---|"
  for conns in "${CONNECTIONS[@]}"; do
    echo "| send | $conns | $(ratio "send,$conns" "floor2-send,$conns") | $(p99ratio "send,$conns" "floor2-send,$conns") |"
    echo "| send, dispatcher paused | $conns | $(ratio "send-paused,$conns" "floor2-send,$conns") | $(p99ratio "send-paused,$conns" "floor2-send,$conns") |"
    echo "| verify | $conns | $(ratio "verify,$conns" "floor2-verify,$conns") | $(p99ratio "verify,$conns" "floor2-verify,$conns") |"
  done
  echo
  echo "- RSS per worker (largest): phoneverify-fcgi ${RSS_FCGI} MiB, floor responder ${RSS_FLOOR} MiB"
  echo "- dispatcher after the send runs (${CFG[dispatcher_lanes]:-?} lanes, fake gateway ${SMS_DELAY_MS} ms): outbox ${DRAIN:-not measured}"
  echo "- idle stack (nginx + fcgi + dispatcher + mysqld, 5 s, no requests): ${IDLE:-not measured}"
  echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the machine may be shared: repeat runs)"
}

main() {
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  start_stack
  start_floor
  find_groups
  say "creating $ACCOUNTS accounts"
  make_accounts
  if wanted verify || wanted floor2-verify; then
    say "seeding $PAIRS pending codes"
    seed_codes
  fi
  local conns
  for scenario in floor0 floor1 floor2-send send send-paused floor2-verify verify me; do
    wanted "$scenario" || continue
    for conns in "${CONNECTIONS[@]}"; do
      case $scenario in
        floor0) run floor0 send.lua /bench/floor0 "$conns" ;;
        floor1) run floor1 send.lua /bench/floor1 "$conns" ;;
        floor2-send) run floor2-send send.lua /bench/floor2/send "$conns" ;;
        send) run send send.lua "" "$conns" ;;
        send-paused) run send-paused send.lua "" "$conns" ;;
        floor2-verify) run floor2-verify verify.lua /bench/floor2/verify "$conns" ;;
        verify) run verify verify.lua "" "$conns" ;;
        me) run me me.lua "" "$conns" ;;
      esac
    done
    if [[ $scenario == send-paused ]] || { [[ $scenario == send ]] && ! wanted send-paused; }; then
      say "waiting for the dispatcher to empty the outbox (at most ${DRAIN_SECONDS} s)"
      measure_drain
      set_aside_leftovers
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
