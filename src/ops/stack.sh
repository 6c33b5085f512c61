#!/usr/bin/env bash
# The local phoneverify stack: MariaDB (own data directory), sql/ migrations,
# phoneverify-fcgi, phoneverify-dispatcher and nginx, all under <var_dir>. With
# http_front = apache, Apache httpd (Debian's apache2, its own configuration rendered from
# conf/apache.conf.in) replaces nginx; with http_front = apache-fcgid, Apache's mod_fcgid
# also spawns phoneverify-fcgi itself (no fcgi component of ours).
#
#   src/ops/stack.sh run          set up, start everything, stay in the foreground;
#                                 a component that dies is started again with backoff
#                                 (5 deaths of one within 60s stop everything);
#                                 Ctrl-C/SIGTERM/SIGHUP stops everything (reverse order)
#   src/ops/stack.sh start        the same set-up in the background; returns once
#                                 GET /healthz answers 200 through nginx
#   src/ops/stack.sh stop         stops what start started and waits for every process
#   src/ops/stack.sh restart-app  restarts phoneverify-fcgi and phoneverify-dispatcher only
#                                 (and Apache with an apache front),
#                                 with the current environment (PHONEVERIFY_* overrides)
#   src/ops/stack.sh status       what runs; exit 0 when everything runs, 3 otherwise
#   src/ops/stack.sh reload       SIGHUP to phoneverify-fcgi and phoneverify-dispatcher: they
#                                 reopen their logs and re-read their configuration file
#                                 (the environment they started with stays)
#   src/ops/stack.sh start-db     starts only the local MariaDB of a started stack (after
#                                 it died or was killed: fault-injection tests, operators)
#
# Options: --config PATH (default: $PHONEVERIFY_CONFIG, else conf/phoneverify.conf).
# The configuration is read through `phoneverify-fcgi --print-config`, so the scripts and
# the binaries always agree. Two stacks run side by side when PHONEVERIFY_VAR_DIR and
# PHONEVERIFY_HTTP_PORT differ. STACK_BIN_DIR overrides build/bin (testing only).
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true  # '&' in a path must stay literal

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=src/ops/common.sh
. "$ROOT/src/ops/common.sh"
BIN_DIR=${STACK_BIN_DIR:-$ROOT/build/bin}
FCGI_BIN=$BIN_DIR/phoneverify-fcgi
DISPATCHER_BIN=$BIN_DIR/phoneverify-dispatcher
NGINX_TEMPLATE=$ROOT/conf/nginx.conf.in
APACHE_TEMPLATE=$ROOT/conf/apache.conf.in
APACHE_FCGID_SNIPPET=$ROOT/conf/apache-fcgid-example.conf
APACHE_BIN=${STACK_APACHE_BIN:-/usr/sbin/apache2}

# Components in start order; stop goes in reverse.
COMPONENTS=(mariadb fcgi dispatcher nginx)
declare -A PROCESS_NAME=([mariadb]=mariadbd [fcgi]=phoneverify-fcgi
                         [dispatcher]=phoneverify-dispatcher [nginx]=nginx [apache]=apache2)
# Apache: SIGWINCH is its graceful stop (requests in progress finish, within
# GracefulShutdownTimeout); mod_fcgid's processes get SIGTERM from Apache.
declare -A STOP_SIGNAL=([mariadb]=TERM [fcgi]=TERM [dispatcher]=TERM [nginx]=QUIT
                        [apache]=WINCH)
declare -A STOP_TIMEOUT=([mariadb]=60 [fcgi]=20 [dispatcher]=20 [nginx]=10 [apache]=20)
declare -A OWN_LOGS=([mariadb]="mysqld.log" [fcgi]="phoneverify-fcgi.out phoneverify.log"
                     [dispatcher]="phoneverify-dispatcher.out phoneverify.log"
                     [nginx]="nginx.out nginx-error.log"
                     [apache]="apache.out apache-error.log phoneverify.log")
FRONT=nginx  # the component in front: nginx or apache (set_paths)

declare -A CFG=()
MODE=""
CONFIG=""
STARTED=()  # components this invocation started, for clean-up on failure

say() { echo "stack.sh: $*"; }
die() { echo "stack.sh: error: $*" >&2; exit 1; }

usage() {
  echo "usage: src/ops/stack.sh {run|start|stop|restart-app|status|reload|start-db} [--config PATH]" >&2
  exit 2
}

parse_args() {
  (($# >= 1)) || usage
  MODE=$1
  shift
  CONFIG=${PHONEVERIFY_CONFIG:-conf/phoneverify.conf}
  while (($#)); do
    case $1 in
      --config) (($# >= 2)) || usage; CONFIG=$2; shift 2 ;;
      *) usage ;;
    esac
  done
  case $MODE in run | start | stop | restart-app | status | reload | start-db) ;; *) usage ;; esac
  [[ $CONFIG == /* ]] || CONFIG=$ROOT/$CONFIG
}

# --- configuration ------------------------------------------------------------------

# Fills CFG from `phoneverify-fcgi --print-config` (key = value lines).
load_config() {
  local quiet=${1:-} out line err
  [[ -x $FCGI_BIN ]] || die "$FCGI_BIN is not built (run make first)"
  err=$(mktemp)
  if ! out=$("$FCGI_BIN" --config "$CONFIG" --print-config 2>"$err"); then
    cat "$err" >&2
    rm -f "$err"
    die "the configuration is not valid (see above)"
  fi
  [[ -n $quiet ]] || cat "$err" >&2
  rm -f "$err"
  CFG=()
  while IFS= read -r line; do
    [[ $line == *' = '* ]] && CFG[${line%% = *}]=${line#* = }
  done <<<"$out"
  [[ -n ${CFG[var_dir]:-} && -n ${CFG[http_port]:-} ]] ||
    die "$FCGI_BIN --print-config printed no var_dir/http_port"
  set_paths
}

# stop/status must work without a binary (after make clean) or with a broken config.
load_config_for_stop() {
  if [[ -x $FCGI_BIN ]] && (load_config quiet >/dev/null 2>&1); then
    load_config quiet
    return
  fi
  local var=${PHONEVERIFY_VAR_DIR:-}
  if [[ -z $var && -r $CONFIG ]]; then
    var=$(sed -n 's/^[[:space:]]*var_dir[[:space:]]*=[[:space:]]*\([^#]*\).*/\1/p' "$CONFIG" |
      tail -n1 | sed 's/[[:space:]]*$//')
  fi
  CFG=([var_dir]=${var:-var} [http_port]=${PHONEVERIFY_HTTP_PORT:-8080})
  set_paths
}

absolute() { if [[ $1 == /* ]]; then echo "$1"; else echo "$ROOT/$1"; fi; }

set_paths() {
  VAR=$(absolute "${CFG[var_dir]}")
  RUN=$VAR/run
  LOG=$VAR/log
  PORT=${CFG[http_port]}
  DB_SOCKET=$(absolute "${CFG[db_socket]:-${CFG[var_dir]}/run/mysqld.sock}")
  FCGI_SOCKET=$(absolute "${CFG[fcgi_socket]:-${CFG[var_dir]}/run/fcgi.sock}")
  URL=http://127.0.0.1:$PORT/
  # The front, and with apache-fcgid no phoneverify-fcgi of ours: mod_fcgid spawns it.
  case ${CFG[http_front]:-nginx} in
    apache) FRONT=apache; COMPONENTS=(mariadb fcgi dispatcher apache) ;;
    apache-fcgid) FRONT=apache; COMPONENTS=(mariadb dispatcher apache) ;;
    *) FRONT=nginx ;;
  esac
  # With an external database (db_host, or db_hosts: a Galera cluster), there is no
  # local MariaDB to manage.
  if [[ -n ${CFG[db_host]:-}${CFG[db_hosts]:-} ]]; then COMPONENTS=("${COMPONENTS[@]:1}"); fi
}

check_paths() {
  local path plain='^[A-Za-z0-9_./@+:,-]+$'
  for path in "$VAR" "$ROOT" "$DB_SOCKET" "$FCGI_SOCKET"; do
    [[ $path =~ $plain ]] ||
      die "path '$path' has spaces or characters nginx.conf cannot carry; choose another"
  done
  # sockaddr_un.sun_path holds 108 bytes including the terminator.
  for path in "$DB_SOCKET" "$FCGI_SOCKET"; do
    ((${#path} < 108)) || die "socket path too long (${#path} > 107 bytes): $path"
  done
  if [[ $FRONT == apache && ! -x $APACHE_BIN ]]; then
    die "http_front = ${CFG[http_front]} needs $APACHE_BIN (Debian: apache2-bin, libapache2-mod-fcgid)"
  fi
}

# --- processes ----------------------------------------------------------------------

pid_file() { echo "$RUN/$1.pid"; }

# A pid that is running (not a zombie), without running_pid's program check: right after
# spawn the child may not have exec'd its program yet (its command line is still this
# script's), and the pid was written just now, so it cannot name an unrelated process.
started_pid() {
  local name=$1 pid stat
  pid=$(cat "$(pid_file "$name")" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  stat=$(ps -o stat= -p "$pid" 2>/dev/null) || return 1
  [[ $stat != Z* ]] || return 1
  echo "$pid"
}

# A pid that is running (not a zombie) and is still the program we started.
running_pid() {
  local name=$1 pid
  pid=$(started_pid "$name") || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "${PROCESS_NAME[$name]}" || return 1
  echo "$pid"
}

# True while any live (non-zombie) process is in process group $1.
group_alive() {
  ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}

pid_alive() {
  local stat
  stat=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $stat != Z* ]]
}

# wait_gone TEST ARG SECONDS: polls until `TEST ARG` fails; false on time-out.
wait_gone() {
  local tenths
  for ((tenths = 0; tenths < $3 * 10; tenths++)); do
    "$1" "$2" || return 0
    sleep 0.1
  done
  ! "$1" "$2"
}

# Each component runs in its own session (setsid), so its pid is also its process group:
# stopping the group catches workers a crashed or killed master left behind.
stop_component() {
  local name=$1 pid
  if ! pid=$(running_pid "$name"); then
    rm -f "$(pid_file "$name")"
    return 0
  fi
  kill -"${STOP_SIGNAL[$name]}" "$pid" 2>/dev/null || true
  if ! wait_gone pid_alive "$pid" "${STOP_TIMEOUT[$name]}"; then
    say "$name (pid $pid) did not stop within ${STOP_TIMEOUT[$name]}s; killing it"
  fi
  # The leader is gone (or stuck): give its group a moment, then kill what is left.
  if ! wait_gone group_alive "$pid" 3; then
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait_gone group_alive "$pid" 5 || say "warning: process group $pid survived SIGKILL"
  fi
  wait "$pid" 2>/dev/null || true  # reap it when it is our child (run mode)
  rm -f "$(pid_file "$name")"
  say "stopped $name"
}

stop_all() {
  local i
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    stop_component "${COMPONENTS[i]}"
  done
}

# spawn NAME LOGFILE COMMAND...: background, own session, no inherited terminal or lock.
spawn() {
  local name=$1 out=$2
  shift 2
  setsid "$@" </dev/null >>"$out" 2>&1 9>&- &
  echo $! >"$(pid_file "$name")"
  STARTED+=("$name")
}

LOG_FILES=(mariadb-install.log mysqld.log phoneverify-fcgi.out phoneverify-dispatcher.out
  phoneverify.log nginx-test.out nginx.out nginx-error.log apache-test.out apache.out
  apache-error.log)
declare -A LOG_MARK=()

# Remembers where each log ends, so a failure shows only what this run wrote.
mark_logs() {
  local file
  for file in "${LOG_FILES[@]}"; do
    LOG_MARK[$file]=$(stat -c %s "$LOG/$file" 2>/dev/null || echo 0)
  done
}

# show_logs [FILE...]: the new lines of these logs (default: all of them).
show_logs() {
  local file new files=("$@")
  ((${#files[@]})) || files=("${LOG_FILES[@]}")
  for file in "${files[@]}"; do
    [[ -s $LOG/$file ]] || continue
    new=$(tail -c +"$((${LOG_MARK[$file]:-0} + 1))" "$LOG/$file" | tail -n 15)
    [[ -n $new ]] || continue
    echo "----- $LOG/$file (last lines) -----" >&2
    echo "$new" >&2
  done
}

# Dies with the logs when a component that should run does not (during start-up).
require_running() {
  local name
  for name in "$@"; do
    started_pid "$name" >/dev/null || { show_logs; die "$name exited during start-up"; }
  done
}

# --- set-up steps -------------------------------------------------------------------

make_dirs() {
  mkdir -p "$RUN" "$LOG" "$VAR/nginx"
  chmod 700 "$VAR"  # secrets, database files and sockets live here
  if [[ $FRONT == apache ]]; then
    mkdir -p "$VAR/apache/run" "$VAR/apache/htdocs"
    rm -rf "$VAR/apache/fcgid"  # mod_fcgid's sockets of an earlier run
  fi
}

# Secrets are generated locally on first use and never committed (contract section 2).
ensure_secrets() { ensure_secrets_file "$VAR/secrets.conf" src/ops/stack.sh; }

secret_value() { secret_in "$VAR/secrets.conf" "$1"; }

db_admin_user() { id -un; }

sql() { mariadb --no-defaults --socket="$DB_SOCKET" --user="$(db_admin_user)" --batch "$@"; }

init_database_dir() {
  [[ -d $VAR/db/mysql ]] && return 0
  say "initialising the MariaDB data directory $VAR/db"
  rm -rf "$VAR/db.tmp"
  mkdir -p "$VAR/db.tmp"
  if ! mariadb-install-db --no-defaults --datadir="$VAR/db.tmp" --user="$(id -un)" \
    --auth-root-authentication-method=socket --skip-test-db \
    >"$LOG/mariadb-install.log" 2>&1; then
    show_logs
    die "mariadb-install-db failed"
  fi
  rm -rf "$VAR/db"
  mv "$VAR/db.tmp" "$VAR/db"  # only a complete data directory ever gets the final name
}

start_mariadb() { spawn_mariadb; await_mariadb; }

# mariadbd keeps its own pid file apart from ours: it removes its file when it shuts down,
# and a missing run/mariadb.pid means "stopped from outside" to the watcher.
spawn_mariadb() {
  spawn mariadb "$LOG/mysqld.log" mariadbd --no-defaults --datadir="$VAR/db" \
    --socket="$DB_SOCKET" --skip-networking --pid-file="$RUN/mariadbd.pid" \
    --log-error="$LOG/mysqld.log" --user="$(id -un)" \
    --innodb-buffer-pool-size=64M --innodb_flush_log_at_trx_commit=1 --max-connections=1000 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci
}

await_mariadb() {
  local tenths
  for ((tenths = 0; tenths < 600; tenths++)); do
    require_running mariadb
    if [[ -S $DB_SOCKET ]] && mariadb-admin --no-defaults --socket="$DB_SOCKET" \
      --user="$(db_admin_user)" --connect-timeout=2 ping >/dev/null 2>&1; then
      say "MariaDB is up (socket $DB_SOCKET)"
      return 0
    fi
    sleep 0.1
  done
  show_logs
  die "MariaDB did not answer within 60s"
}

# Idempotent: database, application user (password from the secrets), privileges.
ensure_database() {
  local db=${CFG[db_name]:-phoneverify} user=${CFG[db_user]:-phoneverify} password
  password=${PHONEVERIFY_DB_PASSWORD-$(secret_value db_password)}
  [[ -n $password ]] || die "db_password is empty"
  # The application needs rows, not schema: migrations run here as the admin.
  account_sql "$db" "$user" localhost "$password" | sql
}

# Applies each sql/NNN_name.sql once, in order (src/ops/migrate.sh, also installed as
# phoneverify-migrate).
migrate() {
  "$ROOT/src/ops/migrate.sh" --dir "$ROOT/sql" --database "${CFG[db_name]:-phoneverify}" -- \
    --no-defaults --socket="$DB_SOCKET" --user="$(db_admin_user)" | sed 's/^migrate: /stack.sh: /' ||
    die "migrations failed; fix the database (or remove $VAR/db) and retry"
}

has_component() {
  local name
  for name in "${COMPONENTS[@]}"; do [[ $name == "$1" ]] && return 0; done
  return 1
}

# The FastCGI socket is 0660: the group that may connect. Apache's children may run as
# another user (apache_user): theirs. Otherwise ours (nginx runs as us), unless configured.
socket_group() {
  local user
  [[ $FRONT == apache ]] && user=$(apache_user) && [[ -n $user ]] && { id -gn "$user"; return; }
  echo "${PHONEVERIFY_FCGI_SOCKET_GROUP:-${CFG[fcgi_socket_group]:-}}"
}

start_app() {
  if has_component fcgi; then  # apache-fcgid: mod_fcgid starts phoneverify-fcgi
    spawn_fcgi
    await_fcgi
  fi
  spawn_dispatcher
}

spawn_fcgi() {
  rm -f "$FCGI_SOCKET"  # a socket left by a killed master would refuse connections
  spawn fcgi "$LOG/phoneverify-fcgi.out" env "PHONEVERIFY_FCGI_SOCKET_GROUP=$(socket_group)" \
    "$FCGI_BIN" --config "$CONFIG"
}

await_fcgi() {
  local tenths
  for ((tenths = 0; tenths < 200; tenths++)); do
    require_running fcgi
    [[ -S $FCGI_SOCKET ]] && return 0
    sleep 0.1
  done
  show_logs
  die "phoneverify-fcgi made no socket at $FCGI_SOCKET"
}

spawn_dispatcher() {
  spawn dispatcher "$LOG/phoneverify-dispatcher.out" "$DISPATCHER_BIN" --config "$CONFIG"
}

# Idle connections each nginx worker (one per core) may keep to phoneverify-fcgi: half of
# its serving threads shared out, so kept connections can never hold every thread.
fcgi_keepalive() {
  local threads=$((${CFG[workers]:-1} * ${CFG[worker_threads]:-1})) cores keep
  cores=$(nproc 2>/dev/null || echo 1)
  keep=$((threads / (2 * cores)))
  ((keep < 1)) && keep=1
  ((keep > 32)) && keep=32
  echo "$keep"
}

render_nginx_conf() {
  local text user_line=""
  text=$(<"$NGINX_TEMPLATE")
  # As root, nginx would drop its workers to 'nobody', who cannot reach our sockets or
  # var_dir (0700): run them as the user who runs everything else.
  [[ $(id -u) -eq 0 ]] && user_line="user $(id -un) $(id -gn);"
  text=${text//@NGINX_USER@/$user_line}
  text=${text//@HTTP_PORT@/$PORT}
  text=${text//@VAR_DIR@/$VAR}
  text=${text//@FCGI_SERVERS@/server unix:$FCGI_SOCKET;}
  text=${text//@FCGI_PASS@/unix:$FCGI_SOCKET}
  text=${text//@FCGI_MAIN@/phoneverify}
  text=${text//@FCGI_CONNECT_TIMEOUT@/5s}
  text=${text//@FCGI_READ_TIMEOUT@/60s}
  text=${text//@WWW_DIR@/$ROOT/www}
  text=${text//@FCGI_KEEPALIVE@/$(fcgi_keepalive)}
  printf '%s\n' "$text" >"$VAR/nginx/nginx.conf"
}

start_nginx() { prepare_nginx; spawn_nginx; }

nginx_args() { NGINX_ARGS=(-p "$VAR/nginx/" -c "$VAR/nginx/nginx.conf" -e "$LOG/nginx-error.log"); }

prepare_nginx() {
  render_nginx_conf
  nginx_args
  if ! nginx "${NGINX_ARGS[@]}" -t >"$LOG/nginx-test.out" 2>&1; then
    show_logs
    die "nginx rejected $VAR/nginx/nginx.conf"
  fi
}

spawn_nginx() {
  nginx_args
  spawn nginx "$LOG/nginx.out" nginx "${NGINX_ARGS[@]}" -g 'daemon off;'
}

# Apache refuses to serve as root. As root, its children (and the phoneverify-fcgi
# processes mod_fcgid spawns) run as the owner of var_dir, or www-data when that is root
# (STACK_APACHE_USER overrides); that user's group may then traverse var_dir (0710), read
# the secrets and append to the log: the database files stay the invoking user's alone.
apache_user() {
  local owner
  [[ $(id -u) -eq 0 ]] || return 0
  if [[ -n ${STACK_APACHE_USER:-} ]]; then echo "$STACK_APACHE_USER"; return; fi
  owner=$(stat -c %U "$VAR")
  [[ $owner != root ]] && { echo "$owner"; return; }
  echo www-data
}

grant_apache_user() {
  local user=$1 group
  group=$(id -gn "$user") || die "no such user: $user (set STACK_APACHE_USER)"
  chgrp "$group" "$VAR" "$VAR/secrets.conf" "$VAR/apache" "$VAR/apache/run"
  chmod 0710 "$VAR"
  chmod 0640 "$VAR/secrets.conf"
  chmod 0750 "$VAR/apache" "$VAR/apache/run"
  local log
  log=$(absolute "${CFG[log_file]:-$LOG/phoneverify.log}")
  touch "$log"
  chgrp "$group" "$log"
  chmod 0660 "$log"
}

# A word for Apache's configuration: double-quoted, backslashes and quotes escaped.
apache_quote() {
  local s=${1//\\/\\\\}
  printf '"%s"' "${s//\"/\\\"}"
}

# InitialEnv arguments for the processes mod_fcgid spawns: the PHONEVERIFY_* overrides
# stack.sh runs with (they start with a clean environment), var_dir and www_dir made
# absolute (their working directory is the binary's).
fcgid_env() {
  local name out=""
  while IFS= read -r name; do
    case $name in PHONEVERIFY_CONFIG | PHONEVERIFY_VAR_DIR | PHONEVERIFY_WWW_DIR | PHONEVERIFY_TEST_*) continue ;; esac
    [[ ${!name} != *$'\n'* ]] || die "$name holds a line break"
    out+=" InitialEnv $(apache_quote "$name=${!name}")"
  done < <(compgen -e | grep '^PHONEVERIFY_' || true)
  out+=" InitialEnv $(apache_quote "PHONEVERIFY_VAR_DIR=$VAR")"
  out+=" InitialEnv $(apache_quote "PHONEVERIFY_WWW_DIR=$APACHE_WWW")"
  echo "$out"
}

# As root, Apache's children and the processes mod_fcgid spawns run as another user, who
# may not reach the checkout (a clone under /root, say). They get what they read from a
# copy under var_dir, refreshed at every start: phoneverify-fcgi, its configuration file,
# www/ and the error and wall documents. Sets APACHE_{BIN,CONFIG,WWW,CONF} to what the
# rendered configuration names.
stage_for_apache() {
  local user=$1 group stage=$VAR/apache/stage
  APACHE_BIN_PATH=$FCGI_BIN APACHE_CONFIG=$CONFIG APACHE_CONF=$ROOT/conf
  APACHE_WWW=$(absolute "${CFG[www_dir]:-www}")
  [[ -n $user ]] || return 0
  group=$(id -gn "$user")
  rm -rf "$stage"
  mkdir -p "$stage/conf"
  cp "$FCGI_BIN" "$stage/phoneverify-fcgi"
  cp "$CONFIG" "$stage/phoneverify.conf"
  cp -R "$APACHE_WWW" "$stage/www"
  cp -R "$ROOT/conf/apache-errors" "$ROOT/conf/apache-wall" "$stage/conf/"
  chgrp -R "$group" "$stage"
  chmod -R g+rX,o-rwx "$stage"
  APACHE_BIN_PATH=$stage/phoneverify-fcgi APACHE_CONFIG=$stage/phoneverify.conf
  APACHE_CONF=$stage/conf APACHE_WWW=$stage/www
  if ! runuser -u "$user" -- test -x "$stage/phoneverify-fcgi"; then
    die "Apache's children run as $user, who cannot reach $VAR: choose a var_dir below" \
      "directories $user may enter (e.g. PHONEVERIFY_VAR_DIR=/var/lib/phoneverify-dev)"
  fi
}

render_apache_conf() {
  local text user user_lines="" define=""
  user=$(apache_user)
  if [[ -n $user ]]; then
    grant_apache_user "$user"
    user_lines="User $user"$'\n'"Group $(id -gn "$user")"
  fi
  stage_for_apache "$user"
  [[ ${CFG[http_front]} == apache-fcgid ]] && define="Define PHONEVERIFY_FCGID"
  text=$(<"$APACHE_TEMPLATE")
  text=${text//@APACHE_USER@/$user_lines}
  text=${text//@FCGID_DEFINE@/$define}
  text=${text//@FCGID_ENV@/$(fcgid_env)}
  text=${text//@HTTP_PORT@/$PORT}
  text=${text//@VAR_DIR@/$VAR}
  text=${text//@FCGI_SOCKET@/$FCGI_SOCKET}
  text=${text//@WWW_DIR@/$APACHE_WWW}
  text=${text//@CONF_DIR@/$APACHE_CONF}
  text=${text//@FCGI_BIN@/$APACHE_BIN_PATH}
  text=${text//@CONFIG@/$APACHE_CONFIG}
  printf '%s\n' "$text" >"$VAR/apache/apache.conf"
  text=$(<"$APACHE_FCGID_SNIPPET")
  text=${text//@FCGI_BIN@/$APACHE_BIN_PATH}
  printf '%s\n' "$text" >"$VAR/apache/fcgid.conf"
}

start_apache() { prepare_apache; spawn_apache; }

prepare_apache() {
  render_apache_conf
  if ! "$APACHE_BIN" -d "$VAR/apache" -f "$VAR/apache/apache.conf" -t \
    >"$LOG/apache-test.out" 2>&1; then
    show_logs
    die "apache2 rejected $VAR/apache/apache.conf"
  fi
}

spawn_apache() {
  spawn apache "$LOG/apache.out" "$APACHE_BIN" -d "$VAR/apache" -f "$VAR/apache/apache.conf" \
    -DFOREGROUND
}

start_front() { if [[ $FRONT == apache ]]; then start_apache; else start_nginx; fi; }

healthz_status() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 2 "${URL}healthz" 2>/dev/null || true
}

wait_healthy() {
  local tenths code=""
  for ((tenths = 0; tenths < 300; tenths++)); do
    require_running "$@"
    code=$(healthz_status)
    [[ $code == 200 ]] && return 0
    sleep 0.1
  done
  show_logs
  die "GET ${URL}healthz answered '${code:-nothing}' instead of 200 after 30s"
}

# --- commands -----------------------------------------------------------------------

lock() {
  exec 9>"$RUN/stack.lock"
  flock -w 300 9 || die "another stack.sh holds $RUN/stack.lock"
}
unlock() { exec 9>&-; }

refuse_if_running() {
  local name pids=""
  for name in "${COMPONENTS[@]}"; do
    running_pid "$name" >/dev/null && pids+=" $name"
  done
  [[ -z $pids ]] && return 0
  die "already running in $VAR:$pids (stop it with: $(stop_hint))"
}

refuse_busy_port() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    die "127.0.0.1:$PORT is already in use (set http_port or PHONEVERIFY_HTTP_PORT)"
  fi
}

stop_hint() {
  local env=""
  [[ -n ${PHONEVERIFY_VAR_DIR:-} ]] && env="PHONEVERIFY_VAR_DIR=$PHONEVERIFY_VAR_DIR "
  local config=""
  [[ $CONFIG != "$ROOT/conf/phoneverify.conf" ]] && config=" --config $CONFIG"
  echo "${env}src/ops/stack.sh stop$config"
}

# How to run phoneverify-admin against this instance (same var_dir and config).
admin_hint() {
  local env="" config=""
  [[ -n ${PHONEVERIFY_VAR_DIR:-} ]] && env="PHONEVERIFY_VAR_DIR=$PHONEVERIFY_VAR_DIR "
  [[ $CONFIG != "$ROOT/conf/phoneverify.conf" ]] && config=" --config $CONFIG"
  echo "${env}${BIN_DIR#"$ROOT"/}/phoneverify-admin$config COMMAND (try: stats, accounts, outbox, --help)"
}

on_setup_failure() {
  local name i
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    name=${STARTED[i]}
    stop_component "$name"
  done
}

bring_up() {
  load_config
  check_paths
  make_dirs
  lock
  refuse_if_running
  refuse_busy_port
  mark_logs
  ensure_secrets
  load_config quiet  # the secrets must parse too
  trap 'on_setup_failure' EXIT
  if [[ -n ${CFG[db_host]:-}${CFG[db_hosts]:-} ]]; then
    say "db_host(s) set: using the database at ${CFG[db_hosts]:-${CFG[db_host]}}; no local MariaDB, no migrations"
  else
    init_database_dir
    start_mariadb
    ensure_database
    migrate
  fi
  start_app
  start_front
  wait_healthy "${COMPONENTS[@]}"
}

cmd_start() {
  bring_up
  trap - EXIT
  unlock
  say "phoneverify is up: $URL (var_dir $VAR)"
  say "admin tool: $(admin_hint)"
  say "stop it with: $(stop_hint)"
}

cmd_run() {
  # Installed before anything starts so an early Ctrl-C still cleans up.
  trap 'shutdown 130' INT
  trap 'shutdown 143' TERM
  trap 'shutdown 129' HUP
  bring_up
  trap 'shutdown 1' EXIT
  unlock
  say "phoneverify is up: $URL (var_dir $VAR)"
  say "admin tool: $(admin_hint)"
  say "press Ctrl-C to stop everything"
  watch_children
}

shutdown() {
  trap - INT TERM HUP EXIT
  # SIGHUP: the terminal is gone, and writing to it would fail (EIO) and, under set -e,
  # end this script before it stopped anything.
  [[ $1 != 129 ]] || exec >/dev/null 2>&1
  [[ -z $STEP_PID ]] || kill "$STEP_PID" 2>/dev/null || true
  echo
  say "stopping"
  local name
  for name in "${STARTED[@]}"; do  # a leader that just died may have left processes
    running_pid "$name" >/dev/null || kill_leftovers "$name"
  done
  stop_all
  exit "$1"
}

# --- the watcher (run) --------------------------------------------------------------
# Why bash and not supervisord, s6 or runit (all in Debian): none of them gives up after
# N deaths in T seconds and then stops the rest without event-listener or finish scripts
# of our own; the one-shot steps (data directory, migrations, rendered configurations,
# readiness checks) and start/stop/restart-app/start-db, which tests and operators use,
# stay here anyway; and a second process tree would need its own Ctrl-C and clean-up
# path. Reusing the start steps costs about 100 lines here; a supervisor would cost more.

MAX_DEATHS=5     # deaths of one component within DEATH_WINDOW seconds that stop the stack
DEATH_WINDOW=60
declare -A DEATHS=()  # component -> times (EPOCHSECONDS) of its deaths within the window
DEATH_COUNT=0
STEP_PID=""  # a background sleep or readiness check that shutdown must not leave behind

# Foreground: wakes when a component seems dead (or a signal arrives), then checks
# every component under the lock, so a concurrent restart-app, start-db or stop is not
# mistaken for a crash. A component whose pid file is gone was stopped on purpose: the
# rest stops too. One that died is started again (revive).
watch_children() {
  local name
  while true; do
    wait_for_a_death
    lock
    for name in "${COMPONENTS[@]}"; do
      running_pid "$name" >/dev/null && continue
      if [[ ! -e $(pid_file "$name") ]]; then
        say "$name was stopped from outside (src/ops/stack.sh stop?)"
        shutdown 0
      fi
      revive "$name"
    done
    unlock
  done
}

# Returns once a component seems dead, checking once a second (by reading /proc: no
# process but the sleep while all is well). (`wait -n PID...` misses a child that dies between listing and
# waiting: bash reports "no such job" and waits for the others.)
wait_for_a_death() {
  while all_alive; do in_background sleep 1 || true; done
}

all_alive() {
  local name pid state
  for name in "${COMPONENTS[@]}"; do
    read -r pid 2>/dev/null <"$RUN/$name.pid" || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    read -r _ _ state _ 2>/dev/null <"/proc/$pid/stat" || return 1
    [[ $state != [ZX] ]] || return 1
  done
}

# Runs a command in the background and waits for it, so that a signal's trap runs at once
# (bash runs traps only between foreground commands); shutdown ends it.
in_background() {
  local rc=0
  "$@" &
  STEP_PID=$!
  wait "$STEP_PID" || rc=$?
  STEP_PID=""
  return "$rc"
}

# revive NAME: NAME died. Starts it again after a backoff (0.5 s, doubling per death
# within the window, at most 8 s), until it runs; a start that fails counts as another
# death. MAX_DEATHS within DEATH_WINDOW seconds stop the whole stack, with NAME's logs.
revive() {
  local name=$1 delay
  while true; do
    count_death "$name"
    if ((DEATH_COUNT >= MAX_DEATHS)); then
      say "$name died $DEATH_COUNT times within ${DEATH_WINDOW}s: giving up"
      # shellcheck disable=SC2086  # OWN_LOGS holds a word list
      show_logs ${OWN_LOGS[$name]}
      shutdown 1
    fi
    delay=$(backoff "$DEATH_COUNT")
    say "$name exited unexpectedly (death $DEATH_COUNT within ${DEATH_WINDOW}s); restarting it in ${delay}s"
    in_background sleep "$delay" || true
    if restart_component "$name"; then
      say "$name restarted (pid $(cat "$(pid_file "$name")"))"
      return 0
    fi
    say "$name did not start again"
  done
}

count_death() {
  local now=$EPOCHSECONDS t kept=()
  for t in ${DEATHS[$1]:-} "$now"; do
    ((now - t < DEATH_WINDOW)) && kept+=("$t")
  done
  DEATHS[$1]="${kept[*]}"
  DEATH_COUNT=${#kept[@]}
}

backoff() {
  local ms=$((500 << ($1 - 1)))
  ((ms > 8000)) && ms=8000
  printf '%d.%03d\n' $((ms / 1000)) $((ms % 1000))
}

# Starts one component with the steps start-up uses. The steps that may die (render and
# test a configuration, wait until ready) run in a subshell, where die ends only that step.
restart_component() {
  local name=$1
  kill_leftovers "$name"
  if declare -F "prepare_$name" >/dev/null; then in_background "prepare_$name" || return 1; fi
  "spawn_$name"
  if declare -F "await_$name" >/dev/null; then in_background "await_$name" || return 1; fi
  return 0
}

# What is left of the component's process group after its leader died (or hung on the way
# up): a killed nginx master leaves its workers holding the port.
kill_leftovers() {
  local pid
  pid=$(cat "$(pid_file "$1")" 2>/dev/null) || return 0
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  group_alive "$pid" || return 0
  kill -TERM -- "-$pid" 2>/dev/null || true
  wait_gone group_alive "$pid" 3 || kill -KILL -- "-$pid" 2>/dev/null || true
  wait_gone group_alive "$pid" 5 || say "warning: process group $pid survived SIGKILL"
}

cmd_stop() {
  load_config_for_stop
  if [[ ! -d $RUN ]]; then
    say "nothing to stop in $VAR"
    return 0
  fi
  lock
  # Whatever front and app processes run, whichever http_front the configuration names
  # now (a component without a pid file is skipped).
  COMPONENTS=(mariadb fcgi dispatcher nginx apache)
  stop_all
  rm -f "$FCGI_SOCKET"
}

cmd_restart_app() {
  load_config
  check_paths
  [[ -d $RUN ]] || die "no stack in $VAR (use start)"
  lock
  running_pid "$FRONT" >/dev/null || die "the stack is not running in $VAR (use start)"
  # Under Apache, mod_fcgid's processes (the wall's authorizer; every phoneverify-fcgi
  # with apache-fcgid) take their environment from Apache's configuration: Apache
  # restarts too, with the configuration rendered again.
  [[ $FRONT == apache ]] && stop_component apache
  stop_component dispatcher
  stop_component fcgi
  mark_logs
  trap 'on_setup_failure' EXIT
  start_app
  [[ $FRONT == apache ]] && start_apache
  local name app=()
  for name in "${COMPONENTS[@]}"; do [[ $name == mariadb ]] || app+=("$name"); done
  wait_healthy "${app[@]}"
  trap - EXIT
  say "phoneverify-fcgi and phoneverify-dispatcher restarted"
}

# The rest of the stack keeps running: workers and the dispatcher reconnect on their own.
cmd_start_db() {
  load_config
  check_paths
  [[ -z ${CFG[db_host]:-}${CFG[db_hosts]:-} ]] || die "db_host(s) set: there is no local MariaDB to start"
  [[ -d $VAR/db/mysql ]] || die "no database in $VAR (use start)"
  lock
  running_pid mariadb >/dev/null && die "MariaDB is already running in $VAR"
  mark_logs
  trap 'on_setup_failure' EXIT
  start_mariadb
  trap - EXIT
}

cmd_status() {
  load_config_for_stop
  local name pid up=0
  for name in "${COMPONENTS[@]}"; do
    if pid=$(running_pid "$name"); then
      printf '%-11s running (pid %s)\n' "$name" "$pid"
      up=$((up + 1))
    else
      printf '%-11s stopped\n' "$name"
    fi
  done
  ((up > 0)) && printf '%-11s %s -> %s\n' healthz "${URL}healthz" "$(healthz_status)"
  ((up == ${#COMPONENTS[@]})) || return 3
}

cmd_reload() {
  load_config_for_stop
  local name pid
  for name in fcgi dispatcher; do
    pid=$(running_pid "$name") || die "$name is not running in $VAR"
    kill -HUP "$pid"
    say "sent SIGHUP to $name (pid $pid)"
  done
}

main() {
  parse_args "$@"
  case $MODE in
    run) cmd_run ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart-app) cmd_restart_app ;;
    status) cmd_status ;;
    reload) cmd_reload ;;
    start-db) cmd_start_db ;;
  esac
}

main "$@"
