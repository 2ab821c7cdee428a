#!/usr/bin/env bash
# Issue 19's search target: an archive of ENTRIES documents (1,000,000 by default) searched with
# p99 < 100 ms over the whole province and inside one department, on SQLite and PostgreSQL,
# beside the database alone running the same statements.
#
#   bash scripts/bench-archive.sh                 # both backends
#   ENTRIES=100000 ROUNDS=20 bash scripts/bench-archive.sh sqlite
#
# Per backend: a fresh database with the province of crates/kyso-store/examples/gen_registry.rs
# (seed 1: 2,000 agencies), then crates/kyso-store/examples/archive_bench.rs generates the
# archive (entries and their index rows as filing writes them), and times each kind of search
# ROUNDS times through kyso_store::archive::search and, beside it, the same statement on a
# connection of its own. The release build is the script's.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
W=${BENCH_DIR:-/tmp/kyso-bench-archive}
ROUNDS=${ROUNDS:-40}
ENTRIES=${ENTRIES:-1000000}
PG_BASE=${PG_BASE:-postgres://postgres@127.0.0.1:5432/test}
backends=("${@:-sqlite postgres}")
read -r -a backends <<<"${backends[*]}"
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p kyso-store --example gen_registry --example archive_bench
T=${BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/release}/examples
rm -rf "$W"
mkdir -p "$W"
schema=""
cleanup() {
  [ -z "$schema" ] || [ -n "${KEEP:-}" ] || psql "$PG_BASE" -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
}
trap cleanup EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
for backend in "${backends[@]}"; do
  case "$backend" in
    sqlite) url="sqlite://$W/archive.db" ;;
    postgres)
      schema="kyso_bench_archive_$$"
      psql "$PG_BASE" -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null 2>&1
      url="$PG_BASE?options=-c%20search_path%3D$schema" ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac
  "$T/gen_registry" --database-url "$url" --seed 1 >"$W/gen-$backend.log" 2>"$W/gen-$backend.err"
  echo "== $backend: $(tail -1 "$W/gen-$backend.err")"
  "$T/archive_bench" --database-url "$url" --entries "$ENTRIES" --rounds "$ROUNDS" 2>"$W/archive-$backend.err" | tee "$W/archive-$backend.out"
  grep -E "GENERATED" "$W/archive-$backend.err" || true
  case "$backend" in
    sqlite) echo "database size: $(du -sh "$W" | cut -f1)" ;;
    postgres)
      PGOPTIONS="-c search_path=$schema" psql "$PG_BASE" -X -q -t -c \
        "SELECT 'archive tables: ' || pg_size_pretty(pg_total_relation_size('archive_entries') + pg_total_relation_size('archive_text'))"
      [ -n "${KEEP:-}" ] || { psql "$PG_BASE" -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1; schema=""; } ;;
  esac
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
