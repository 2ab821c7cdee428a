#!/usr/bin/env bash
# Issue 19 "Speed", the blob store's part of archiving (BENCHMARKS.md, "Issue 19 — the blob
# store"): N distinct files of KB KB written as a document's file is (staged and hashed, placed,
# flushed or uploaded) by WORKERS threads, then all read back and re-hashed — on a local folder
# and on a one-node Garage bucket (started here on free ports, the same machine), in one run.
#   bash scripts/bench-blobs.sh
#   NO_BUILD=1 N=2000 WORKERS=16 bash scripts/bench-blobs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
W=${BENCH_DIR:-/tmp/kyso-bench-blobs}
N=${N:-5000}
KB=${KB:-50}
WORKERS=${WORKERS:-8}
GARAGE=${KYSO_GARAGE:-$HOME/.cache/kyso/garage/bin/garage}
[ -x "$GARAGE" ] || { echo "needs Garage: bash scripts/setup-test-env.sh" >&2; exit 1; }
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p kyso-store --example blob_bench
T=${BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/release}
BENCH="$T/examples/blob_bench"
rm -rf "$W"; mkdir -p "$W"
echo "$(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg); release build; tree $(git describe --always --dirty 2>/dev/null || echo '?')"

port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rpc=$(port); s3=$(port); admin=$(port)
cat >"$W/garage.toml" <<EOF
metadata_dir = "$W/garage/meta"
data_dir = "$W/garage/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$rpc"
rpc_secret = "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3"
root_domain = ".s3.garage.localhost"
[admin]
api_bind_addr = "127.0.0.1:$admin"
EOF
g() { "$GARAGE" -c "$W/garage.toml" "$@"; }
RUST_LOG=garage=warn "$GARAGE" -c "$W/garage.toml" server >"$W/garage.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do g status >/dev/null 2>&1 && break; sleep 0.2; done
node=$(g node id -q | cut -d@ -f1)
g layout assign -z dc1 -c 10G "$node" >/dev/null
g layout apply --version 1 >/dev/null
key_id="GK$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
secret="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
g key import --yes -n bench "$key_id" "$secret" >/dev/null
g bucket create kyso-bench >/dev/null
g bucket allow --read --write --owner kyso-bench --key bench >/dev/null

"$BENCH" folder "$W/folder" "$N" "$KB" "$WORKERS"
KYSO_S3_ACCESS_KEY_ID=$key_id KYSO_S3_SECRET_ACCESS_KEY=$secret \
  "$BENCH" "s3://kyso-bench?endpoint=http://127.0.0.1:$s3" "$W/staging" "$N" "$KB" "$WORKERS"
# The peer for the bucket's figures: curl (SigV4) writing and reading one 50 KB object the same
# number of times, one request at a time, against the same Garage.
head -c $((KB * 1024)) /dev/urandom >"$W/one.pdf"
url="http://127.0.0.1:$s3/kyso-bench/peer/one.pdf"
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
