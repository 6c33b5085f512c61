#!/usr/bin/env bash
# make cluster: the several-hosts topology of the contract (section 8) on this one machine.
#
#   <name>-db1 .. -db3    MariaDB Galera nodes, 10.77.0.11-13, MariaDB on 3306
#   <name>-app1, -app2    phoneverify-fcgi (FastCGI on TCP 9000) and phoneverify-dispatcher,
#                         10.77.0.21-22, using db_hosts = the three nodes in that order
#   root namespace        10.77.0.1 on the bridge <name>-br; nginx on 127.0.0.1:<http_port>
#                         balancing over the application hosts; this supervisor
#
# Each host is a network namespace joined to the bridge by a veth pair; no namespace has a
# default route, and nothing is sent to a 10.77.0.0/24 address before `ip route get` shows
# it on our bridge: nothing leaves this machine. Data lives under <var_dir>/cluster/.
#
#   src/ops/cluster.sh run              set up, start everything, supervise, stay in the
#                                       foreground; Ctrl-C/SIGTERM stops everything and
#                                       removes every namespace, link and the bridge
#   src/ops/cluster.sh start            the same in the background; returns once GET
#                                       /healthz answers 200 through nginx
#   src/ops/cluster.sh stop             stops what start (or run) started, cleans up
#   src/ops/cluster.sh status           hosts, processes, Galera state
#   src/ops/cluster.sh kill HOST        kill -9 every process of a host (a crash); the
#                                       supervisor brings it back (a node with recovery)
#   src/ops/cluster.sh restart HOST     a clean stop of the host's processes; waits until
#                                       the supervisor has it back
#   src/ops/cluster.sh partition HOST   cuts the host off the bridge (its link down)
#   src/ops/cluster.sh heal HOST        puts it back
#   src/ops/cluster.sh wait HOST        waits until the host serves again (db: Synced)
#
# HOST is db1, db2, db3, app1 or app2. Needs root. Options: --config PATH as stack.sh.
# Supervision as in stack.sh: a component that dies comes back with backoff (0.5 s,
# doubling, at most 8 s); 5 deaths of one within 60 s stop everything.
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=src/ops/common.sh
. "$ROOT/src/ops/common.sh"
BIN_DIR=${STACK_BIN_DIR:-$ROOT/build/bin}
FCGI_BIN=$BIN_DIR/phoneverify-fcgi
DISPATCHER_BIN=$BIN_DIR/phoneverify-dispatcher
GALERA=/usr/lib/galera/libgalera_smm.so
SUBNET=10.77.0
declare -A ADDRESS=([db1]=$SUBNET.11 [db2]=$SUBNET.12 [db3]=$SUBNET.13 [app1]=$SUBNET.21
                    [app2]=$SUBNET.22)
DB_NODES=(db1 db2 db3)
APP_HOSTS=(app1 app2)
FCGI_PORT=9000
# Components the supervisor watches, in start order (stop goes in reverse).
COMPONENTS=(db1 db2 db3 app1-fcgi app1-dispatcher app2-fcgi app2-dispatcher nginx)

declare -A CFG=()
CONFIG=""
MODE=""
TARGET=""

say() { printf "cluster.sh: %(%T)T %s\n" -1 "$*"; }
die() { echo "cluster.sh: error: $*" >&2; exit 1; }

usage() {
  echo "usage: src/ops/cluster.sh {run|start|stop|status} [--config PATH]" >&2
  echo "       src/ops/cluster.sh {kill|restart|partition|heal|wait} HOST [--config PATH]" >&2
  exit 2
}

parse_args() {
  (($# >= 1)) || usage
  MODE=$1
  shift
  case $MODE in
    kill | restart | partition | heal | wait)
      (($# >= 1)) || usage
      TARGET=$1
      shift
      [[ -n ${ADDRESS[$TARGET]:-} ]] || die "no host '$TARGET' (db1 db2 db3 app1 app2)"
      ;;
    run | start | stop | status) ;;
    *) usage ;;
  esac
  CONFIG=${PHONEVERIFY_CONFIG:-conf/phoneverify.conf}
  while (($#)); do
    case $1 in
      --config) (($# >= 2)) || usage; CONFIG=$2; shift 2 ;;
      *) usage ;;
    esac
  done
}

absolute() { if [[ $1 == /* ]]; then echo "$1"; else echo "$ROOT/$1"; fi; }

# The resolved configuration, through the binary (as stack.sh does).
load_config() {
  local out line
  [[ -x $FCGI_BIN ]] || die "$FCGI_BIN is not built (run make first)"
  # A gateway on the bridge's root side (10.77.0.1, where tests run theirs) is on this
  # machine: plain http to it is allowed as to the loopback. Anything else is checked as
  # the configuration says.
  out=$(PHONEVERIFY_SPARROW_ALLOW_HTTP=${PHONEVERIFY_SPARROW_ALLOW_HTTP:-true} \
    "$FCGI_BIN" --config "$CONFIG" --print-config) || die "the configuration is not valid"
  CFG=()
  while IFS= read -r line; do
    [[ $line == *' = '* ]] && CFG[${line%% = *}]=${line#* = }
  done <<<"$out"
  if ! gateway_on_bridge; then
    "$FCGI_BIN" --config "$CONFIG" --print-config >/dev/null || die "the configuration is not valid"
  fi
  NAME=${CFG[cluster_name]:-pv}
  BRIDGE=$NAME-br
  VAR=$(absolute "${CFG[var_dir]:-var}")
  C=$VAR/cluster
  RUN=$C/run
  PORT=${CFG[http_port]:-8080}
  URL=http://127.0.0.1:$PORT/
}

require_root() { (($(id -u) == 0)) || die "make cluster needs root (network namespaces)"; }

ns() { echo "$NAME-$1"; }
host_of() { echo "${1%%-*}"; }

# --- the network --------------------------------------------------------------------

net_up() {
  local host
  for host in "${DB_NODES[@]}" "${APP_HOSTS[@]}"; do
    [[ -z $(ip netns pids "$(ns "$host")" 2>/dev/null) ]] ||
      die "$(ns "$host") exists and runs processes: another cluster named $NAME is up (stop it, or set cluster_name)"
  done
  net_down quiet  # what a killed earlier run left
  ip link add "$BRIDGE" type bridge
  ip addr add "$SUBNET.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  for host in "${DB_NODES[@]}" "${APP_HOSTS[@]}"; do
    ip netns add "$(ns "$host")"
    ip link add "$(ns "$host")" type veth peer name eth0 netns "$(ns "$host")"
    ip link set "$(ns "$host")" master "$BRIDGE" up
    ip -n "$(ns "$host")" link set lo up
    ip -n "$(ns "$host")" addr add "${ADDRESS[$host]}/24" dev eth0
    ip -n "$(ns "$host")" link set eth0 up
  done
  check_route
  say "network: bridge $BRIDGE ($SUBNET.1/24), namespaces $(ns db1) .. $(ns app2)"
}

# Every host address must route over our bridge, directly (no gateway): never elsewhere.
check_route() {
  local host route
  for host in "${DB_NODES[@]}" "${APP_HOSTS[@]}"; do
    route=$(ip route get "${ADDRESS[$host]}" 2>/dev/null) || die "no route to ${ADDRESS[$host]}"
    if [[ $route != *" dev $BRIDGE "* || $route == *" via "* ]]; then
      net_down quiet
      die "${ADDRESS[$host]} would not go over $BRIDGE ($route); another network uses $SUBNET.0/24"
    fi
  done
}

# Kills whatever runs in our namespaces and removes them, their links and the bridge.
net_down() {
  local host name pids
  for host in "${DB_NODES[@]}" "${APP_HOSTS[@]}"; do
    name=$(ns "$host")
    if ip netns list | grep -qw "^$name"; then
      pids=$(ip netns pids "$name" 2>/dev/null || true)
      [[ -z $pids ]] || kill -KILL $pids 2>/dev/null || true
      ip netns del "$name" 2>/dev/null || true
    fi
    ip link del "$name" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  [[ -n ${1:-} ]] || say "network removed"
}

# --- processes ----------------------------------------------------------------------

pid_file() { echo "$RUN/$1.pid"; }

pid_of() {
  local pid stat
  pid=$(cat "$(pid_file "$1")" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  stat=$(ps -o stat= -p "$pid" 2>/dev/null) || return 1
  [[ $stat != Z* ]] || return 1
  echo "$pid"
}

# spawn NAME HOST LOGFILE COMMAND...: in HOST's namespace ("" = the root namespace), in
# its own session, in the background.
spawn() {
  local name=$1 host=$2 out=$3
  shift 3
  if [[ -n $host ]]; then
    setsid ip netns exec "$(ns "$host")" "$@" </dev/null >>"$out" 2>&1 9>&- &
  else
    setsid "$@" </dev/null >>"$out" 2>&1 9>&- &
  fi
  echo $! >"$(pid_file "$name")"
}

stop_pid() {
  local pid=$1 signal=$2 seconds=$3 tenths
  kill -"$signal" "$pid" 2>/dev/null || return 0
  for ((tenths = 0; tenths < seconds * 10; tenths++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

stop_component() {
  local name=$1 pid signal=TERM
  [[ $name == nginx ]] && signal=QUIT
  pid=$(pid_of "$name") || { rm -f "$(pid_file "$name")"; return 0; }
  rm -f "$(pid_file "$name")"
  stop_pid "$pid" "$signal" 60
}

# --- database nodes -----------------------------------------------------------------

node_dir() { echo "$C/$1"; }
node_socket() { echo "$C/$1/mysqld.sock"; }

node_sql() {
  local node=$1
  shift
  mariadb --no-defaults --socket="$(node_socket "$node")" --user=root --batch \
    --skip-column-names --connect-timeout=2 "$@"
}

galera_options() {
  # Suspect a silent node after 3 s (default 5 s): the survivors' writes stall for about
  # that long after a node in use dies. gcache large enough for a restarted node to catch
  # up by IST (incremental) rather than a full state transfer.
  echo "gcache.size=256M;evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S;evs.keepalive_period=PT0.5S;evs.inactive_check_period=PT0.5S;evs.install_timeout=PT6S"
}

mariadbd_args() {
  local node=$1 dir
  dir=$(node_dir "$node")
  MARIADBD_ARGS=(mariadbd --no-defaults --datadir="$dir/data" --socket="$(node_socket "$node")"
    --bind-address="${ADDRESS[$node]}" --port=3306 --pid-file="$dir/mariadbd.pid"
    --log-error="$dir/mysqld.log" --user="$(id -un)"
    --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=1 --max-connections=500
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci
    --binlog-format=ROW --default-storage-engine=InnoDB --innodb-autoinc-lock-mode=2
    --wsrep-slave-threads=2
    --wsrep-on=ON --wsrep-provider="$GALERA" --wsrep-cluster-name="$NAME"
    --wsrep-cluster-address="gcomm://$SUBNET.11,$SUBNET.12,$SUBNET.13"
    --wsrep-node-address="${ADDRESS[$node]}" --wsrep-node-name="$node"
    --wsrep-sst-method="$(sst_method)" --wsrep-provider-options="$(galera_options)")
}

init_node_dir() {
  local node=$1 dir
  dir=$(node_dir "$node")
  [[ -d $dir/data/mysql ]] && return 0
  mkdir -p "$dir"
  rm -rf "$dir/data"
  if [[ $node != db1 ]]; then  # a joiner receives everything by state transfer
    mkdir -p "$dir/data"
    return 0
  fi
  say "initialising $dir/data"
  mariadb-install-db --no-defaults --datadir="$dir/data.tmp" --user="$(id -un)" \
    --auth-root-authentication-method=socket --skip-test-db >"$dir/install.log" 2>&1 ||
    { cat "$dir/install.log" >&2; die "mariadb-install-db failed for $node"; }
  mv "$dir/data.tmp" "$dir/data"
}

grastate() { sed -n "s/^$2:[[:space:]]*//p" "$(node_dir "$1")/data/grastate.dat" 2>/dev/null; }

# The node's last committed position after a crash (grastate.dat says -1): what
# galera_recovery does, --wsrep-recover, which reads it from InnoDB.
recovered_position() {
  local node=$1 dir log uuid seqno
  dir=$(node_dir "$node")
  uuid=$(grastate "$node" uuid)
  seqno=$(grastate "$node" seqno)
  if [[ -n $uuid && -n $seqno && $seqno != -1 ]]; then
    echo "$uuid:$seqno"
    return 0
  fi
  log=$dir/recover.log
  mariadbd_args "$node"
  : >"$log"
  ip netns exec "$(ns "$node")" "${MARIADBD_ARGS[@]}" --wsrep-recover --log-error="$log" \
    --skip-networking >/dev/null 2>&1 || true
  sed -n 's/.*WSREP: Recovered position: *\([^ ]*\).*/\1/p' "$log" | tail -n1
}

# Galera's rsync state transfer (wsrep_sst_rsync) starts `rsync --daemon` on the joiner
# without a uid; an rsync daemon started by root then writes as 'nobody', who may not
# enter the data directory. mariadbd puts its own bin directory first on the script's
# PATH, so as root the nodes use the method `pvrsync`: Debian's rsync transfer, with an
# rsync first on its PATH whose daemon keeps root's uid.
sst_scripts() {
  local dir=$C/bin
  mkdir -p "$dir"
  cat >"$dir/rsync" <<'SH'
#!/bin/sh
# Written by src/ops/cluster.sh (see sst_scripts there).
case " $* " in
  *" --daemon "*) exec /usr/bin/rsync --dparam=uid=root --dparam=gid=root "$@" ;;
esac
exec /usr/bin/rsync "$@"
SH
  cat >"$dir/wsrep_sst_pvrsync" <<SH
#!/bin/sh
# Written by src/ops/cluster.sh (see sst_scripts there).
PATH=$dir:\$PATH exec /usr/bin/wsrep_sst_rsync "\$@"
SH
  chmod 755 "$dir/rsync" "$dir/wsrep_sst_pvrsync"
}

sst_method() { if (($(id -u) == 0)); then echo pvrsync; else echo rsync; fi; }

# spawn_node NODE [bootstrap]: a new cluster from this node, or join the running one.
spawn_node() {
  local node=$1 extra=() position
  mariadbd_args "$node"
  if [[ ${2:-} == bootstrap ]]; then
    sed -i 's/^safe_to_bootstrap:.*/safe_to_bootstrap: 1/' "$(node_dir "$node")/data/grastate.dat" \
      2>/dev/null || true
    extra=(--wsrep-new-cluster)
  elif [[ -e $(node_dir "$node")/data/grastate.dat ]]; then
    position=$(recovered_position "$node")
    [[ -z $position ]] || extra=(--wsrep-start-position="$position")
  fi
  spawn "$node" "$node" "$(node_dir "$node")/mysqld.out" env "PATH=$C/bin:$PATH" \
    "${MARIADBD_ARGS[@]}" "${extra[@]}"
}

node_state() { node_sql "$1" -e "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null | cut -f2; }

await_node() {
  local node=$1 tenths
  for ((tenths = 0; tenths < 1800; tenths++)); do
    pid_of "$node" >/dev/null || { tail -n 20 "$(node_dir "$node")/mysqld.log" >&2; return 1; }
    [[ $(node_state "$node") == Synced ]] && return 0
    sleep 0.1
  done
  tail -n 20 "$(node_dir "$node")/mysqld.log" >&2
  return 1
}

# After a clean stop of the whole cluster the last node down has safe_to_bootstrap: 1; after
# a crash of all of them, the node with the highest recovered position starts the cluster.
bootstrap_node() {
  local node best="" best_seqno=-2 position seqno
  for node in "${DB_NODES[@]}"; do
    [[ $(grastate "$node" safe_to_bootstrap) == 1 ]] && { echo "$node"; return; }
  done
  for node in "${DB_NODES[@]}"; do
    [[ -e $(node_dir "$node")/data/grastate.dat ]] || continue
    position=$(recovered_position "$node")
    seqno=${position##*:}
    [[ $seqno =~ ^-?[0-9]+$ ]] || continue
    ((seqno > best_seqno)) && { best=$node; best_seqno=$seqno; }
  done
  echo "${best:-db1}"
}

# The schema and the application's account, on the first node (Galera replicates both).
prepare_database() {
  local node=$1 db=${CFG[db_name]:-phoneverify} user=${CFG[db_user]:-phoneverify} password
  password=$(secret_in "$C/secrets.conf" db_password)
  account_sql "$db" "$user" "$SUBNET.%" "$password" | node_sql "$node"
  "$ROOT/src/ops/migrate.sh" --dir "$ROOT/sql" --database "$db" -- --no-defaults \
    --socket="$(node_socket "$node")" --user=root | sed 's/^migrate: /cluster.sh: /' ||
    die "migrations failed on $node"
}

start_databases() {
  local first node
  for node in "${DB_NODES[@]}"; do init_node_dir "$node"; done
  sst_scripts
  first=$(bootstrap_node)
  say "starting the Galera cluster from $first"
  spawn_node "$first" bootstrap
  await_node "$first" || die "$first did not reach Synced"
  prepare_database "$first"
  for node in "${DB_NODES[@]}"; do [[ $node == "$first" ]] || spawn_node "$node"; done
  for node in "${DB_NODES[@]}"; do
    [[ $node == "$first" ]] && continue
    await_node "$node" || die "$node did not join the cluster"
    say "$node joined ($(node_sql "$node" -e "SHOW STATUS LIKE 'wsrep_cluster_size'" | cut -f2) nodes)"
  done
}

# --- application hosts --------------------------------------------------------------

# One set of secrets for every application host: a code hashed on one host must verify on
# the other, a session made on one must be read on the other.
ensure_secrets() {
  local host
  ensure_secrets_file "$C/secrets.conf" src/ops/cluster.sh
  for host in "${APP_HOSTS[@]}"; do
    mkdir -p "$C/$host/run" "$C/$host/log"
    cp -p "$C/secrets.conf" "$C/$host/secrets.conf"
  done
}

# A gateway URL on this cluster's own side of the bridge is on this machine: plain http
# to it is as safe as to the loopback.
gateway_on_bridge() {
  local url
  for url in "${CFG[sparrow_url]:-}" "${CFG[sms_http_url]:-}"; do
    [[ $url == "http://$SUBNET.1:"* || $url == "http://$SUBNET.1/"* ]] && return 0
  done
  return 1
}

app_env() {
  local host=$1
  APP_ENV=(env "PHONEVERIFY_VAR_DIR=$C/$host" "PHONEVERIFY_FCGI_LISTEN=${ADDRESS[$host]}:$FCGI_PORT"
    "PHONEVERIFY_DB_HOSTS=$SUBNET.11:3306,$SUBNET.12:3306,$SUBNET.13:3306"
    "FCGI_WEB_SERVER_ADDRS=$SUBNET.1")
  gateway_on_bridge && APP_ENV+=("PHONEVERIFY_SPARROW_ALLOW_HTTP=true")
  return 0
}

spawn_app() {
  local host=$1 part=$2 bin
  bin=$FCGI_BIN
  [[ $part == dispatcher ]] && bin=$DISPATCHER_BIN
  app_env "$host"
  spawn "$host-$part" "$host" "$C/$host/log/phoneverify-$part.out" "${APP_ENV[@]}" "$bin" \
    --config "$CONFIG"
}

fcgi_answers() { (exec 3<>"/dev/tcp/${ADDRESS[$1]}/$FCGI_PORT") 2>/dev/null; }

await_app() {
  local host=$1 tenths
  for ((tenths = 0; tenths < 200; tenths++)); do
    pid_of "$host-fcgi" >/dev/null || break
    fcgi_answers "$host" && return 0
    sleep 0.1
  done
  tail -n 20 "$C/$host/log/phoneverify-fcgi.out" >&2
  return 1
}

start_apps() {
  local host
  ensure_secrets
  for host in "${APP_HOSTS[@]}"; do
    spawn_app "$host" fcgi
    spawn_app "$host" dispatcher
  done
  for host in "${APP_HOSTS[@]}"; do await_app "$host" || die "$host's phoneverify-fcgi did not start"; done
}

# --- nginx --------------------------------------------------------------------------

# For tests and demonstrations, a request may name the application host that serves it
# (header X-Phoneverify-Host: app1 or app2; otherwise nginx balances), and every answer
# says which host served it (X-Phoneverify-Upstream). A production nginx has neither
# (conf/nginx-cluster-example.conf).
render_host_choice() {
  local front=$1 host
  mkdir -p "$front/nginx/http.d" "$front/nginx/server.d"
  {
    echo "map \$http_x_phoneverify_host \$phoneverify_upstream {"
    echo "    default phoneverify;"
    for host in "${APP_HOSTS[@]}"; do echo "    $host phoneverify_$host;"; done
    echo "}"
    for host in "${APP_HOSTS[@]}"; do
      echo "upstream phoneverify_$host { server ${ADDRESS[$host]}:$FCGI_PORT; keepalive 4; }"
    done
  } >"$front/nginx/http.d/cluster.conf"
  echo 'add_header X-Phoneverify-Upstream $upstream_addr always;' \
    >"$front/nginx/server.d/cluster.conf"
}

render_nginx_conf() {
  local text servers="" host front=$C/front
  mkdir -p "$front/run" "$front/log" "$front/nginx"
  for host in "${APP_HOSTS[@]}"; do
    servers+="server ${ADDRESS[$host]}:$FCGI_PORT max_fails=1 fail_timeout=2s; "
  done
  render_host_choice "$front"
  text=$(<"$ROOT/conf/nginx.conf.in")
  text=${text//@NGINX_USER@/user $(id -un) $(id -gn);}
  text=${text//@HTTP_PORT@/$PORT}
  text=${text//@VAR_DIR@/$front}
  text=${text//@FCGI_SERVERS@/$servers}
  text=${text//@FCGI_PASS@/phoneverify}
  text=${text//@FCGI_MAIN@/\$phoneverify_upstream}
  text=${text//@FCGI_CONNECT_TIMEOUT@/1s}
  text=${text//@FCGI_READ_TIMEOUT@/15s}
  text=${text//@WWW_DIR@/$ROOT/www}
  text=${text//@FCGI_KEEPALIVE@/8}
  printf '%s\n' "$text" >"$front/nginx/nginx.conf"
}

spawn_nginx() {
  local front=$C/front
  render_nginx_conf
  nginx -p "$front/nginx/" -c "$front/nginx/nginx.conf" -e "$front/log/nginx-error.log" -t \
    >"$front/log/nginx-test.out" 2>&1 || { cat "$front/log/nginx-test.out" >&2; return 1; }
  spawn nginx "" "$front/log/nginx.out" nginx -p "$front/nginx/" -c "$front/nginx/nginx.conf" \
    -e "$front/log/nginx-error.log" -g 'daemon off;'
}

healthz_status() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 2 "${URL}healthz" 2>/dev/null || true
}

wait_healthy() {
  local tenths
  for ((tenths = 0; tenths < 300; tenths++)); do
    [[ $(healthz_status) == 200 ]] && return 0
    sleep 0.1
  done
  die "GET ${URL}healthz did not answer 200 within 30s"
}

# --- run, stop, supervise -----------------------------------------------------------

lock() {
  exec 9>"$C/cluster.lock"
  flock -n 9 || die "another make cluster runs on $C"
}

bring_up() {
  require_root
  mkdir -p "$C" "$RUN"
  chmod 700 "$VAR" "$C" 2>/dev/null || true
  lock
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    die "127.0.0.1:$PORT is already in use (set http_port or PHONEVERIFY_HTTP_PORT)"
  fi
  echo $$ >"$RUN/supervisor.pid"
  net_up
  ensure_secrets
  start_databases
  start_apps
  spawn_nginx || die "nginx did not start"
  wait_healthy
}

shutdown() {
  trap - INT TERM HUP EXIT
  [[ $1 != 129 ]] || exec >/dev/null 2>&1
  [[ -z ${STEP_PID:-} ]] || kill "$STEP_PID" 2>/dev/null || true
  say "stopping"
  local i name
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    name=${COMPONENTS[i]}
    stop_component "$name"
  done
  net_down
  rm -f "$RUN/supervisor.pid"
  exit "$1"
}

MAX_DEATHS=5
DEATH_WINDOW=60
declare -A DEATHS=()
declare -A DUE=()  # component -> EPOCHREALTIME (ms) when it is started again
STEP_PID=""

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# One death more of $1 within the window; prints the count.
count_death() {
  local now=$EPOCHSECONDS t kept=()
  for t in ${DEATHS[$1]:-} "$now"; do ((now - t < DEATH_WINDOW)) && kept+=("$t"); done
  DEATHS[$1]="${kept[*]}"
  echo "${#kept[@]}"
}

db_alive_besides() {
  local node
  for node in "${DB_NODES[@]}"; do
    [[ $node != "$1" ]] && pid_of "$node" >/dev/null && return 0
  done
  return 1
}

restart_component() {
  local name=$1 host
  host=$(host_of "$name")
  case $name in
    db*)
      # A crashed node rejoins with its recovered position (IST from a survivor); with no
      # survivor it has to start the cluster again itself.
      if db_alive_besides "$name"; then spawn_node "$name"; else spawn_node "$name" bootstrap; fi
      ;;
    app*-fcgi) spawn_app "$host" fcgi ;;
    app*-dispatcher) spawn_app "$host" dispatcher ;;
    nginx) spawn_nginx ;;
  esac
}

# Non-blocking: a dead component is noted, and started again once its backoff is over, so
# one slow restart (a node's recovery) never delays noticing the others.
supervise_once() {
  local name deaths delay now
  now=$(now_ms)
  for name in "${COMPONENTS[@]}"; do
    pid_of "$name" >/dev/null && continue
    if [[ -z ${DUE[$name]:-} ]]; then
      deaths=$(count_death "$name")
      if ((deaths >= MAX_DEATHS)); then
        say "$name died $deaths times within ${DEATH_WINDOW}s: giving up"
        shutdown 1
      fi
      delay=$((500 << (deaths - 1)))
      ((delay > 8000)) && delay=8000
      DUE[$name]=$((now + delay))
      say "$name exited unexpectedly (death $deaths within ${DEATH_WINDOW}s); restarting it in ${delay}ms"
    elif ((now >= ${DUE[$name]})); then
      unset "DUE[$name]"
      if restart_component "$name"; then
        say "$name restarted (pid $(cat "$(pid_file "$name")"))"
      else
        say "$name did not start again"
      fi
    fi
  done
}

supervise() {
  while true; do
    supervise_once
    sleep 0.25 &
    STEP_PID=$!
    wait "$STEP_PID" || true
    STEP_PID=""
  done
}

cmd_run() {
  trap 'shutdown 130' INT
  trap 'shutdown 143' TERM
  trap 'shutdown 129' HUP
  trap 'shutdown 1' EXIT
  local started=$SECONDS
  bring_up
  say "phoneverify cluster is up in $((SECONDS - started))s: $URL (hosts: $(ns db1)..$(ns app2), data $C)"
  say "faults: src/ops/cluster.sh {kill|restart|partition|heal} HOST; press Ctrl-C to stop everything"
  supervise
}

cmd_start() {
  require_root
  mkdir -p "$C"
  local out=$C/cluster.out pid tenths
  : >"$out"
  setsid "$ROOT/src/ops/cluster.sh" run --config "$CONFIG" </dev/null >>"$out" 2>&1 &
  pid=$!
  for ((tenths = 0; tenths < 3000; tenths++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$out" >&2
      die "the cluster did not come up"
    fi
    grep -q 'phoneverify cluster is up' "$out" && { grep 'cluster is up' "$out"; return 0; }
    sleep 0.1
  done
  cat "$out" >&2
  kill -TERM "$pid" 2>/dev/null || true
  die "the cluster did not come up within 300s"
}

cmd_stop() {
  require_root
  local pid tenths
  pid=$(cat "$RUN/supervisor.pid" 2>/dev/null || true)
  if [[ $pid =~ ^[0-9]+$ ]] && kill -TERM "$pid" 2>/dev/null; then
    for ((tenths = 0; tenths < 1800; tenths++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  # Whatever a killed supervisor left.
  pid=$(pid_of nginx 2>/dev/null) && stop_pid "$pid" QUIT 10
  rm -f "$RUN"/*.pid 2>/dev/null || true
  net_down quiet
  say "stopped"
}

cmd_status() {
  local host name pid
  for name in "${COMPONENTS[@]}"; do
    if pid=$(pid_of "$name"); then printf '%-16s running (pid %s)\n' "$name" "$pid"
    else printf '%-16s stopped\n' "$name"; fi
  done
  for host in "${DB_NODES[@]}"; do
    printf '%-16s %s, cluster size %s\n' "$host" "$(node_state "$host" || true)" \
      "$(node_sql "$host" -e "SHOW STATUS LIKE 'wsrep_cluster_size'" 2>/dev/null | cut -f2 || true)"
  done
  printf '%-16s %s -> %s\n' healthz "${URL}healthz" "$(healthz_status)"
}

host_pids() { ip netns pids "$(ns "$1")" 2>/dev/null || true; }

cmd_kill() {
  require_root
  local pids
  pids=$(host_pids "$TARGET")
  [[ -n $pids ]] || die "nothing runs on $TARGET"
  # shellcheck disable=SC2086  # a list of pids
  kill -KILL $pids
  say "killed every process of $TARGET ($(echo $pids | wc -w))"
}

cmd_restart() {
  require_root
  local pids
  pids=$(host_pids "$TARGET")
  # shellcheck disable=SC2086  # a list of pids
  [[ -z $pids ]] || kill -TERM $pids 2>/dev/null || true
  say "stopping $TARGET; the supervisor starts it again"
  sleep 1
  cmd_wait
}

cmd_wait() {
  local tenths
  for ((tenths = 0; tenths < 1800; tenths++)); do
    case $TARGET in
      db*) [[ $(node_state "$TARGET") == Synced ]] && { say "$TARGET is Synced"; return 0; } ;;
      app*) fcgi_answers "$TARGET" && pid_of "$TARGET-dispatcher" >/dev/null &&
        { say "$TARGET serves"; return 0; } ;;
    esac
    sleep 0.1
  done
  die "$TARGET is not back after 180s"
}

cmd_partition() {
  require_root
  ip -n "$(ns "$TARGET")" link set eth0 down
  say "$TARGET is cut off (eth0 down in $(ns "$TARGET"))"
}

cmd_heal() {
  require_root
  ip -n "$(ns "$TARGET")" link set eth0 up
  say "$TARGET is back on the bridge"
}

main() {
  parse_args "$@"
  load_config
  case $MODE in
    run) cmd_run ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    kill) cmd_kill ;;
    restart) cmd_restart ;;
    partition) cmd_partition ;;
    heal) cmd_heal ;;
    wait) cmd_wait ;;
  esac
}

main "$@"
