#!/usr/bin/env bash
# `make install`: lays phoneverify out for a system service. Everything lands under
# $DESTDIR (empty for a real install; a staging directory for packaging and tests), while
# the paths written into the files are the final ones (without DESTDIR).
#
#   $BINDIR       phoneverify-fcgi, phoneverify-dispatcher, phoneverify-admin
#   $SBINDIR      phoneverify-migrate (applies sql/ as a database administrator)
#   $DATADIR      sql/, www/ (when present), README.md, nginx-site-example.conf
#   $SYSCONFDIR/phoneverify/phoneverify.conf   commented; an existing one is kept and the
#                                              new one written beside it as .dist
#   $UNITDIR      phoneverify-fcgi.service, phoneverify-dispatcher.service (hardened)
#   $SYSUSERSDIR  phoneverify.conf (the service user, for systemd-sysusers)
#   $SYSCONFDIR/logrotate.d/phoneverify
#
# Variables (from the Makefile): DESTDIR PREFIX BINDIR SBINDIR DATADIR SYSCONFDIR UNITDIR
# SYSUSERSDIR WEB_GROUP. Needs the binaries built (make does that first).
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
BINDIR=${BINDIR:-$PREFIX/bin}
SBINDIR=${SBINDIR:-$PREFIX/sbin}
DATADIR=${DATADIR:-$PREFIX/share/phoneverify}
SYSCONFDIR=${SYSCONFDIR:-/etc}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
SYSUSERSDIR=${SYSUSERSDIR:-$PREFIX/lib/sysusers.d}
WEB_GROUP=${WEB_GROUP:-www-data}
BUILD_BIN=${BUILD_BIN:-build/bin}

die() { echo "install: error: $*" >&2; exit 1; }
say() { echo "  INSTALL $*"; }

for var in PREFIX BINDIR SBINDIR DATADIR SYSCONFDIR UNITDIR SYSUSERSDIR; do
  [[ ${!var} == /* ]] || die "$var must be an absolute path (got '${!var}')"
done
[[ -z $DESTDIR || $DESTDIR == /* ]] || DESTDIR=$ROOT/$DESTDIR
[[ $WEB_GROUP =~ ^[a-z_][a-z0-9_-]*$ ]] || die "WEB_GROUP '$WEB_GROUP' is not a group name"

# put MODE SOURCE TARGET: one file, parent directories 0755.
put() {
  install -d -m 0755 "$(dirname "$DESTDIR$3")"
  install -m "$1" "$2" "$DESTDIR$3"
  say "$3"
}

# render SOURCE: the template with its @NAME@ placeholders filled in, on stdout.
render() {
  local text
  text=$(<"$1")
  text=${text//@BINDIR@/$BINDIR}
  text=${text//@SBINDIR@/$SBINDIR}
  text=${text//@DATADIR@/$DATADIR}
  text=${text//@SYSCONFDIR@/$SYSCONFDIR}
  text=${text//@WEB_GROUP@/$WEB_GROUP}
  printf '%s\n' "$text"
}

# put_text MODE TARGET < text
put_text() {
  local temp
  temp=$(mktemp)
  cat >"$temp"
  put "$1" "$temp" "$2"
  rm -f "$temp"
}

system_config() {
  cat <<CONF
# phoneverify system configuration, installed by \`make install\` (a reinstall keeps this
# file and writes the new one beside it as phoneverify.conf.dist). Read by
# phoneverify-fcgi, phoneverify-dispatcher and phoneverify-admin; PHONEVERIFY_<KEY>
# environment variables override it. After editing:
#   systemctl reload phoneverify-fcgi phoneverify-dispatcher
#
# This file is world-readable: secrets do NOT belong here. Keep otp_hash_key,
# outbox_key, sparrow_token (and db_password, if the database account needs one) in
# /var/lib/phoneverify/secrets.conf, mode 0600, owner phoneverify. See
# $DATADIR/README.md, "Production install".

# --- set for the system service --------------------------------------------------------
var_dir = /var/lib/phoneverify
fcgi_socket = /run/phoneverify/fcgi.sock
# Mode 0660: the web server's group may connect, nobody else.
fcgi_socket_group = $WEB_GROUP
log_file = /var/log/phoneverify/phoneverify.log
sms_log = /var/log/phoneverify/sms.log
# Debian's MariaDB; the database account phoneverify is identified by the Unix user
# (unix_socket authentication), so no password is needed.
db_socket = /run/mysqld/mysqld.sock
# Real SMS. sparrow_token goes into the secrets file; until it and sparrow_from are set
# the services refuse to start (naming the missing key).
sms_backend = sparrow
sparrow_url = https://api.sparrowsms.com/v2/sms/
sparrow_from =

# --- every key with its built-in default (the source tree's conf/phoneverify.conf) -----
CONF
  sed -e 's/^/# /' -e 's/^# #/#/' -e 's/^# $/#/' conf/phoneverify.conf
}

install_binaries() {
  local program
  for program in phoneverify-fcgi phoneverify-dispatcher phoneverify-admin; do
    [[ -x $BUILD_BIN/$program ]] || die "$BUILD_BIN/$program is not built (run make)"
    put 0755 "$BUILD_BIN/$program" "$BINDIR/$program"
  done
  put 0755 src/ops/migrate.sh "$SBINDIR/phoneverify-migrate"
}

install_data() {
  local file
  for file in sql/*.sql; do put 0644 "$file" "$DATADIR/$file"; done
  if [[ -d www ]]; then
    while IFS= read -r -d '' file; do
      put 0644 "$file" "$DATADIR/$file"
    done < <(find www -type f -print0 | sort -z)
  fi
  put 0644 README.md "$DATADIR/README.md"
  put 0644 conf/nginx-site-example.conf "$DATADIR/nginx-site-example.conf"
}

install_config() {
  local target=$SYSCONFDIR/phoneverify/phoneverify.conf
  if [[ -e $DESTDIR$target ]]; then
    target=$target.dist
    echo "install: keeping the existing $SYSCONFDIR/phoneverify/phoneverify.conf;" \
      "the new default is $target"
  fi
  system_config | put_text 0644 "$target"
}

install_service_files() {
  local unit
  for unit in phoneverify-fcgi phoneverify-dispatcher; do
    render "conf/systemd/$unit.service.in" | put_text 0644 "$UNITDIR/$unit.service"
  done
  put 0644 conf/phoneverify.sysusers "$SYSUSERSDIR/phoneverify.conf"
  put 0644 conf/logrotate/phoneverify "$SYSCONFDIR/logrotate.d/phoneverify"
}

install_binaries
install_data
install_config
install_service_files
echo "install: done (DESTDIR='${DESTDIR}' PREFIX=$PREFIX); next steps: $DATADIR/README.md," \
  "\"Production install\""
