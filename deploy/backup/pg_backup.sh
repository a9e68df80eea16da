#!/usr/bin/env bash
# Back up the portal's PostgreSQL database in pg_dump's custom format, then apply retention.
#
#   pg_backup.sh [DATABASE_URL]
#
# BACKUP_DIR        where dumps go (default /var/backups/isp-portal)
# BACKUP_KEEP_DAYS  dumps older than this many days are deleted (default 14) ...
# BACKUP_KEEP_MIN   ... except the newest BACKUP_KEEP_MIN, always kept (default 3)
#
# A dump is written under a temporary name, checked with pg_restore --list, and only then
# renamed to NAME-YYYYmmddTHHMMSSZ.dump (with a .sha256 beside it): a half-written file never
# looks like a backup, and retention never deletes the last good ones.
set -euo pipefail

url="${1:-${DATABASE_URL:?DATABASE_URL is not set}}"
dir="${BACKUP_DIR:-/var/backups/isp-portal}"
keep_days="${BACKUP_KEEP_DAYS:-14}"
keep_min="${BACKUP_KEEP_MIN:-3}"

name="${url##*/}"
name="${name%%\?*}"
[[ -n "$name" ]] || { echo "no database name in the URL" >&2; exit 2; }

umask 077
mkdir -p "$dir"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
final="$dir/$name-$stamp.dump"
partial="$dir/.$name-$stamp.dump.partial"
trap 'rm -f "$partial"' EXIT

pg_dump --format=custom --compress=6 --no-password --file="$partial" --dbname="$url"
pg_restore --list "$partial" >/dev/null
mv "$partial" "$final"
(cd "$dir" && sha256sum "$(basename "$final")" >"$(basename "$final").sha256")
echo "backup written: $final ($(du -h "$final" | cut -f1))"

# Retention: newest first; the first keep_min always stay, older-than-keep_days go.
mapfile -t dumps < <(find "$dir" -maxdepth 1 -name "$name-*.dump" -printf '%T@ %p\n' \
    | sort -rn | cut -d' ' -f2-)
for old in "${dumps[@]:keep_min}"; do
    if [[ -n "$(find "$old" -mmin +"$((keep_days * 1440))")" ]]; then
        rm -f -- "$old" "$old.sha256"
        echo "expired: $old"
    fi
done
