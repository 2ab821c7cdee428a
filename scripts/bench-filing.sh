#!/usr/bin/env bash
# Issue 19's archiving target: documents filed per second with their metadata and a ~50 KB PDF —
# ≥ 500/s on the local folder, ≥ 200/s on Garage — on SQLite and on PostgreSQL, beside the blob
# store alone writing files of the same size (scripts/bench-blobs.sh's blob_bench, same run).
#
#   bash scripts/bench-filing.sh
#   NO_BUILD=1 N=1000 WORKERS=4 bash scripts/bench-filing.sh
#
# crates/kyso-store/examples/archive_filing.rs: N letters laid out and their registered incoming
# documents queued (not timed), then each letter written to the blob store, its text read and
# the document filed (entry, index row, audit entry, queue row gone: one transaction), by
# WORKERS tasks at once. Garage is started here on free ports (scripts/bench-lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
W=${BENCH_DIR:-/tmp/kyso-bench-filing}
N=${N:-3000}
WORKERS=${WORKERS:-8}
PG_BASE=${PG_BASE:-postgres://postgres@127.0.0.1:5432/test}
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p kyso-store --example archive_filing --example blob_bench
T=${BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/release}/examples
# The peer's binary, even with NO_BUILD (a fresh machine has not built it for bench-blobs.sh).
[ -x "$T/blob_bench" ] || cargo build --release -q -p kyso-store --example blob_bench
rm -rf "$W"; mkdir -p "$W"
echo "$(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg); release build; tree $(git describe --always --dirty 2>/dev/null || echo '?')"
. scripts/bench-lib.sh
start_garage kyso-filing
schemas=()
cleanup() {
  stop_garage
  for s in "${schemas[@]}"; do psql "$PG_BASE" -X -q -c "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
run=0
for db in sqlite postgres; do
  for store in folder garage; do
    run=$((run + 1))
    case "$db" in
      sqlite) url="sqlite://$W/filing-$run.db" ;;
      postgres)
        s="kyso_bench_filing_$$_$run"; schemas+=("$s")
        psql "$PG_BASE" -X -q -c "CREATE SCHEMA $s" >/dev/null
        url="$PG_BASE?options=-c%20search_path%3D$s" ;;
    esac
    case "$store" in
      folder) place="$W/blobs-$run" ;;
      garage) place="s3://kyso-filing/run-$run?endpoint=http://127.0.0.1:$s3_port" ;;
    esac
    printf '%-8s %-6s ' "$db" "$store"
    KYSO_S3_ACCESS_KEY_ID=$key_id KYSO_S3_SECRET_ACCESS_KEY=$secret \
      "$T/archive_filing" --database-url "$url" --blob-store "$place" --staging "$W/staging" \
      --documents "$N" --workers "$WORKERS" 2>"$W/filing-$run.err" || { cat "$W/filing-$run.err"; exit 1; }
  done
done
echo "-- the blob store alone, the same number of 50 KB files by the same number of threads:"
"$T/blob_bench" folder "$W/alone-folder" "$N" 50 "$WORKERS" | grep -i write || true
KYSO_S3_ACCESS_KEY_ID=$key_id KYSO_S3_SECRET_ACCESS_KEY=$secret \
  "$T/blob_bench" "s3://kyso-filing/alone?endpoint=http://127.0.0.1:$s3_port" "$W/staging" "$N" 50 "$WORKERS" | grep -i write || true
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
