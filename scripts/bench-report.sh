#!/usr/bin/env bash
# Issue 21's speed target: the province's six-monthly report over 2,000 agencies, 50,000
# subscribers, 60,000 certificates and a year of documents (DOCUMENTS outgoing with their
# timelines, half as many incoming) computed in < 5 s and its PDF and workbook in < 2 s more,
# on SQLite and on PostgreSQL, beside the database alone running the same aggregate queries.
#
#   bash scripts/bench-report.sh            # both backends, 5 rounds
#   ROUNDS=3 NO_BUILD=1 bash scripts/bench-report.sh sqlite
#   WITHOUT_REPORT_INDEX=1 bash scripts/bench-report.sh   # migration 23's index dropped first
#
# Per backend: a fresh database filled by crates/kyso-store/examples/gen_registry.rs (seed 1,
# as scripts/bench-serve.sh); crates/kyso-store/examples/report_bench.rs times the figures of
# every reporting agency and of the whole province (the median of ROUNDS), submits every
# agency's report, reads the consolidation back, makes the consolidated workbook, lays out and
# signs the province's PDF and lays out one agency's, and writes the aggregate queries it ran
# (values written in) to a file; the database's own client (sqlite3 / psql) then runs that
# file: its wall time, client start included, is the peer. The release build is the script's.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
W=${BENCH_DIR:-/tmp/kyso-bench-report}
ROUNDS=${ROUNDS:-5}
DOCUMENTS=${DOCUMENTS:-400000}
PG_BASE=${PG_BASE:-postgres://postgres@127.0.0.1:5432/test}
backends=("${@:-sqlite postgres}")
read -r -a backends <<<"${backends[*]}"
for tool in sqlite3 psql; do
  command -v "$tool" >/dev/null || { echo "needs $tool: bash scripts/setup-test-env.sh" >&2; exit 1; }
done
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p kyso-store --example gen_registry --example report_bench
T=${BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/release}/examples
rm -rf "$W"
mkdir -p "$W"
schema=""
cleanup() {
  [ -z "$schema" ] || psql "$PG_BASE" -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
}
trap cleanup EXIT
now_ms() { date +%s%3N; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
for backend in "${backends[@]}"; do
  case "$backend" in
    sqlite) url="sqlite://$W/report.db" ;;
    postgres)
      schema="kyso_bench_report_$$"
      psql "$PG_BASE" -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null 2>&1
      url="$PG_BASE?options=-c%20search_path%3D$schema" ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac
  "$T/gen_registry" --database-url "$url" --seed 1 --documents "$DOCUMENTS" >"$W/gen-$backend.log" 2>"$W/gen-$backend.err"
  echo "== $backend: $(tail -1 "$W/gen-$backend.err")"
  if [ -n "${WITHOUT_REPORT_INDEX:-}" ]; then
    drop="DROP INDEX IF EXISTS document_events_report"
    case "$backend" in
      sqlite) sqlite3 "$W/report.db" "$drop; ANALYZE;" ;;
      postgres) PGOPTIONS="-c search_path=$schema" psql "$PG_BASE" -X -q -c "$drop" -c "VACUUM ANALYZE" >/dev/null ;;
    esac
    echo "== $backend: without document_events_report"
  fi
  out=$("$T/report_bench" --database-url "$url" --sql-out "$W/$backend.sql" --rounds "$ROUNDS")
  statements=$(grep -c ';$' "$W/$backend.sql")
  peer=()
  for _ in $(seq "$ROUNDS"); do
    t=$(now_ms)
    case "$backend" in
      sqlite) sqlite3 -readonly "$W/report.db" <"$W/$backend.sql" >/dev/null ;;
      postgres) PGOPTIONS="-c search_path=$schema" psql "$PG_BASE" -X -q -f "$W/$backend.sql" >/dev/null ;;
    esac
    peer+=($(( $(now_ms) - t )))
  done
  peer_ms=$(printf '%s\n' "${peer[@]}" | sort -n | sed -n "$(( (ROUNDS + 1) / 2 ))p")
  kyso_ms=$(sed -n 's/^FIGURES_ALL_AGENCIES_MS=//p' <<<"$out")
  echo "== $backend"
  echo "$out"
  echo "PEER_CLIENT_ALL_AGENCIES_MS=$peer_ms ($statements statements, client start included)"
  python3 -c "print(f'RATIO_KYSO_OVER_CLIENT={float(\"$kyso_ms\") / max(float(\"$peer_ms\"), 1):.2f}')"
  if [ "$backend" = postgres ]; then
    psql "$PG_BASE" -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1
    schema=""
  fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
