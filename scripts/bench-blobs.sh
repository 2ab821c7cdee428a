#!/usr/bin/env bash
# Issue 19 "Speed", the blob store's part of archiving (BENCHMARKS.md, "Issue 19 — the blob
# store"): N distinct files of KB KB written as a document's file is (staged and hashed, placed,
# flushed or uploaded) by WORKERS threads, then all read back and re-hashed — on a local folder
# and on a one-node Garage bucket (started here on free ports, the same machine), in one run.
#   bash scripts/bench-blobs.sh
#   NO_BUILD=1 N=2000 WORKERS=16 bash scripts/bench-blobs.sh
#   NO_BUILD=1 N=300 WORKERS=1 KEEP_ALIVE=true bash scripts/bench-blobs.sh   # connections reused
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
W=${BENCH_DIR:-/tmp/kyso-bench-blobs}
N=${N:-5000}
KB=${KB:-50}
WORKERS=${WORKERS:-8}
KEEP_ALIVE=${KEEP_ALIVE:-false}
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p kyso-store --example blob_bench
T=${BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/release}
BENCH="$T/examples/blob_bench"
rm -rf "$W"; mkdir -p "$W"
echo "$(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg); release build; tree $(git describe --always --dirty 2>/dev/null || echo '?')"

. scripts/bench-lib.sh
start_garage kyso-bench
trap stop_garage EXIT

"$BENCH" folder "$W/folder" "$N" "$KB" "$WORKERS"
KYSO_S3_ACCESS_KEY_ID=$key_id KYSO_S3_SECRET_ACCESS_KEY=$secret \
  "$BENCH" "s3://kyso-bench?endpoint=http://127.0.0.1:$s3_port&keep-alive=$KEEP_ALIVE" "$W/staging" "$N" "$KB" "$WORKERS"
# The peer for the bucket's figures: curl (SigV4) writing and reading one 50 KB object the same
# number of times, one request at a time, against the same Garage.
head -c $((KB * 1024)) /dev/urandom >"$W/one.pdf"
url="http://127.0.0.1:$s3_port/kyso-bench/peer/one.pdf"
sig=(--aws-sigv4 "aws:amz:garage:s3" --user "$key_id:$secret" -s -o /dev/null)
curl "${sig[@]}" -T "$W/one.pdf" "$url"
M=${PEER_REQUESTS:-200}
python3 - "$M" "$url" "$W/one.pdf" "${sig[@]}" <<'PY'
import subprocess, sys, time
m, url, body, sig = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
for label, extra in (("PUT", ["-T", body]), ("GET", [])):
    t = time.time()
    for _ in range(m):
        subprocess.run(["curl", *sig, *extra, url], check=True)
    dt = time.time() - t
    print(f"RESULT peer curl {label}: {m} requests one at a time: {dt:.2f} s, {m / dt:.0f} requests/s ({dt / m * 1000:.1f} ms each)")
PY
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
