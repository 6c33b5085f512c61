#!/usr/bin/env bash
# Applies the schema migrations (NNN_name.sql) of a directory once each, in order,
# recording each in the schema_migrations table. Run it as a MariaDB account that may
# change the schema: the application's own account may only read and write rows.
#
#   migrate.sh --dir SQL_DIR --database NAME [-- MARIADB_CLIENT_OPTIONS...]
#
# e.g. (installed as phoneverify-migrate, against the system MariaDB as root):
#   phoneverify-migrate --dir /usr/local/share/phoneverify/sql --database phoneverify
# src/ops/stack.sh uses it for the local database of make run / make test.
# Exit status: 0 when every migration is applied, 1 when one failed (it is not recorded:
# fix the database and run again), 2 on bad arguments.
set -euo pipefail

DIR=""
DATABASE=""
CLIENT=()

die() { echo "migrate: error: $*" >&2; exit "${2:-1}"; }
usage() { echo "usage: migrate.sh --dir SQL_DIR --database NAME [-- MARIADB_OPTIONS...]" >&2; exit 2; }

while (($#)); do
  case $1 in
    --dir) (($# >= 2)) || usage; DIR=$2; shift 2 ;;
    --database) (($# >= 2)) || usage; DATABASE=$2; shift 2 ;;
    --) shift; CLIENT=("$@"); break ;;
    *) usage ;;
  esac
done
[[ -n $DIR && -n $DATABASE ]] || usage
[[ -d $DIR ]] || die "no directory $DIR" 2
[[ $DATABASE =~ ^[A-Za-z0-9_]{1,64}$ ]] || die "database name must be letters, digits or _" 2

sql() { mariadb "${CLIENT[@]}" --batch --database="$DATABASE" "$@"; }

sql <<'SQL'
CREATE TABLE IF NOT EXISTS schema_migrations (
  version INT NOT NULL PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB;
SQL
applied=" $(sql --skip-column-names -e 'SELECT version FROM schema_migrations' | tr '\n' ' ') "
declare -A seen=()
count=0
for file in "$DIR"/*.sql; do
  [[ -e $file ]] || continue
  base=$(basename "$file" .sql)
  [[ $base =~ ^[0-9]{3}_[A-Za-z0-9_]+$ ]] || die "$base.sql: name must be NNN_name.sql"
  version=$((10#${base%%_*}))
  [[ -z ${seen[$version]:-} ]] || die "two migrations numbered ${base%%_*}"
  seen[$version]=1
  [[ $applied == *" $version "* ]] && continue
  echo "migrate: applying $base.sql"
  # DDL commits implicitly in MariaDB: a failed migration is reported, not recorded.
  { cat "$file"; printf "\nINSERT INTO schema_migrations (version, name) VALUES (%d, '%s');\n" \
    "$version" "$base"; } | sql || die "migration $base.sql failed"
  count=$((count + 1))
done
echo "migrate: $count applied, $(($(wc -w <<<"$applied"))) already present"
