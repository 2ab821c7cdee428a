#!/usr/bin/env bash
# Issue 17 "Speed" (BENCHMARKS.md, "Issue 17 — outgoing documents"), release build, both
# database engines, each figure beside its peer from the same run:
#  - numbering: numbering + organization signature + registration of DOCS documents by CLERKS
#    concurrent clerks through the store (crates/kyso-store/examples/numbering_load.rs), beside
#    the database alone writing the same rows with raw sqlx at the same concurrency;
#  - flow: the server's time for the whole flow of one 1-page document, per request and its
#    share, ROUNDS documents through kyso-web's router in-process
#    (crates/kyso-web/examples/flow_time.rs), beside the two signatures made as `kyso agent`
#    makes them.
#   bash scripts/bench-documents.sh                      # both parts, both engines
#   ONLY=numbering BACKENDS=postgres CLERKS=50 DOCS=1000 bash scripts/bench-documents.sh
#   ONLY=flow ROUNDS=30 NO_BUILD=1 BIN_DIR=DIR bash scripts/bench-documents.sh
# PostgreSQL: a fresh schema in $PG_BASE (default postgres://postgres@127.0.0.1:5432/test),
# dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
W=${BENCH_DIR:-/tmp/kyso-bench-documents}
BACKENDS=${BACKENDS:-sqlite postgres}
ONLY=${ONLY:-numbering flow}
CLERKS=${CLERKS:-50}
DOCS=${DOCS:-1000}
ROUNDS=${ROUNDS:-30}
PG_BASE=${PG_BASE:-postgres://postgres@127.0.0.1:5432/test}
if [ -z "${NO_BUILD:-}" ]; then
  case " $ONLY " in *" numbering "*) cargo build --release -q -p kyso-store --example numbering_load ;; esac
  case " $ONLY " in *" flow "*) cargo build --release -q -p kyso-web --example flow_time ;; esac
fi
T=${BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/release}
# PostgreSQL: one schema per program run, made before it and dropped after it.
schema=kyso_docbench_$$
psql_q() { PGOPTIONS="--client-min-messages=warning" psql "$PG_BASE" -X -q -v ON_ERROR_STOP=1 -c "$1" >/dev/null; }
cleanup() { case " $BACKENDS " in *" postgres "*) psql_q "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null || true ;; esac; }
trap cleanup EXIT
url_of() { # BACKEND NAME → a fresh database
  case $1 in
    sqlite) rm -f "$W/$2.db"*; echo "sqlite://$W/$2.db" ;;
    postgres) echo "$PG_BASE?options=-c%20search_path%3D$schema" ;;
    *) echo "unknown backend $1" >&2; exit 1 ;;
  esac
}
rm -rf "$W"; mkdir -p "$W"
echo "$(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg); release build; tree $(git describe --always --dirty 2>/dev/null || echo '?')"
for part in $ONLY; do
  for backend in $BACKENDS; do
    [ "$backend" != postgres ] || psql_q "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema"
    url=$(url_of "$backend" "$part")
    rm -rf "$W/blobs-$part"; mkdir -p "$W/blobs-$part"
    case $part in
      numbering)
        "$T/examples/numbering_load" --database-url "$url" --blobs "$W/blobs-$part" \
          --clerks "$CLERKS" --docs "$DOCS" | sed "s/^/$backend /" ;;
      flow)
        "$T/examples/flow_time" --database-url "$url" --blobs "$W/blobs-$part" \
          --rounds "$ROUNDS" | sed "s/^/$backend /" ;;
      *) echo "unknown part $part" >&2; exit 1 ;;
    esac
    [ "$backend" != postgres ] || psql_q "DROP SCHEMA IF EXISTS $schema CASCADE"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
