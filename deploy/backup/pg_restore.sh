#!/usr/bin/env bash
# Restore a dump made by pg_backup.sh into a database.
#
#   pg_restore.sh DUMP_FILE TARGET_DATABASE_URL
#
# The target database is created when missing, and the dump restored in one transaction. If
# the target already holds tables the script stops, unless RESTORE_REPLACE=1: then the dump is
# restored into a new database NAME_restoring, and only when that succeeded the two are
# swapped by renaming; the previous database is kept as NAME_replaced_<time> for a rollback.
# Renaming needs every session closed: stop web, worker, beat and RADIUS services first.
set -euo pipefail

dump="${1:?usage: pg_restore.sh DUMP_FILE TARGET_DATABASE_URL}"
url="${2:?usage: pg_restore.sh DUMP_FILE TARGET_DATABASE_URL}"
[[ -r "$dump" ]] || { echo "cannot read $dump" >&2; exit 2; }
if [[ -r "$dump.sha256" ]]; then
    (cd "$(dirname "$dump")" && sha256sum --check --quiet "$(basename "$dump").sha256")
fi
pg_restore --list "$dump" >/dev/null

name="${url##*/}"
name="${name%%\?*}"
base="${url%/*}"
query="${url#*\?}"; [[ "$query" == "$url" ]] && query="" || query="?$query"
admin_url="$base/postgres$query"

sql() { psql --no-psqlrc -X -q -v ON_ERROR_STOP=1 "$@"; }

exists="$(psql --no-psqlrc -X -tA -v ON_ERROR_STOP=1 -v name="$name" --dbname="$admin_url" \
    <<<"SELECT 1 FROM pg_database WHERE datname = :'name'")"
if [[ "$exists" != "1" ]]; then
    sql -v db="$name" --dbname="$admin_url" <<<'CREATE DATABASE :"db"'
    echo "created database $name"
fi

restore_into() {
    pg_restore --no-owner --no-privileges --exit-on-error --single-transaction \
        --dbname="$1" "$dump"
}

tables="$(psql --no-psqlrc -X -tA -v ON_ERROR_STOP=1 --dbname="$url" <<<"SELECT count(*)
    FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")"
if [[ "$tables" == "0" ]]; then
    restore_into "$url"
    echo "restored $dump into $name"
    exit 0
fi
if [[ "${RESTORE_REPLACE:-0}" != "1" ]]; then
    echo "database $name already has $tables tables; set RESTORE_REPLACE=1 to replace it" >&2
    exit 3
fi

staging="${name}_restoring"
previous="${name}_replaced_$(date -u +%Y%m%d%H%M%S)"
sql -v db="$staging" --dbname="$admin_url" <<<'DROP DATABASE IF EXISTS :"db"'
sql -v db="$staging" --dbname="$admin_url" <<<'CREATE DATABASE :"db"'
if ! restore_into "$base/$staging$query"; then
    sql -v db="$staging" --dbname="$admin_url" <<<'DROP DATABASE IF EXISTS :"db"'
    echo "restore failed; $name is unchanged" >&2
    exit 4
fi
sql -v old="$name" -v keep="$previous" -v new="$staging" --dbname="$admin_url" <<'SQL'
ALTER DATABASE :"old" RENAME TO :"keep";
ALTER DATABASE :"new" RENAME TO :"old";
SQL
echo "restored $dump into $name; the previous database is kept as $previous"
