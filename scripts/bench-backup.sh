#!/usr/bin/env bash
# Issue 19 "Speed", `kyso backup verify` over BLOBS blobs beside `sha256sum` of the same files
# (BENCHMARKS.md, "Issue 19 — backups"), release build:
#  - a demo data folder (SQLite) made by `kyso serve`, stopped; then BLOBS distinct files of
#    BLOB_KB KB each written into its blob folder (named by SHA-256, as the store names them)
#    and referred to by the database (one finished signing session each, inserted with
#    sqlite3: the backup copies and checks every blob the database refers to, whichever table
#    refers to it);
#  - `kyso backup create` of it once (timed: every blob copied and re-hashed on the way);
#  - then, page cache warm for both, best of RUNS: `kyso backup verify` (re-hashes every blob of
#    the backup, checks every referenced one is there, the manifest and the database snapshot)
#    beside `find blobs -type f | xargs sha256sum` over the backup's blob folder.
#   bash scripts/bench-backup.sh
#   NO_BUILD=1 BLOBS=10000 bash scripts/bench-backup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
W=${BENCH_DIR:-/tmp/kyso-bench-backup}
BLOBS=${BLOBS:-100000}
BLOB_KB=${BLOB_KB:-10}
RUNS=${RUNS:-3}
for tool in curl python3 sha256sum; do
  command -v "$tool" >/dev/null || { echo "needs $tool: bash scripts/setup-test-env.sh" >&2; exit 1; }
done
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p kyso
T=${BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/release}
KYSO="$T/kyso"
rm -rf "$W"; mkdir -p "$W"
server=""
stop_server() { [ -z "$server" ] || { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""; }; }
trap stop_server EXIT
echo "$(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg); release build; tree $(git describe --always --dirty 2>/dev/null || echo '?')"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$KYSO" serve --lang en --listen "127.0.0.1:$port" --data-dir "$W/data" >"$W/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 480); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$W/serve.log" >&2; exit 1; }
  sleep 0.25
done
stop_server

python3 - "$W/data" "$BLOBS" "$BLOB_KB" <<'EOF'
import hashlib, os, sqlite3, sys, time
data, n, kb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
blobs = os.path.join(data, "blobs")
db = sqlite3.connect(os.path.join(data, "kyso.db"))
user = db.execute("SELECT MIN(id) FROM users").fetchone()[0]
now = int(time.time())
rows = []
for i in range(n):
    body = os.urandom(kb * 1024 - 32) + i.to_bytes(32, "big")
    name = hashlib.sha256(body).hexdigest()
    d = os.path.join(blobs, name[:2])
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name[2:]), "wb") as f:
        f.write(body)
    rows.append((f"bench{i:08d}", user, "bench", name, "{}", "00", now, now, now))
with db:
    db.executemany(
        "INSERT INTO signing_sessions (id, user_id, mode, source_blob, params, digest, "
        "created_at, expires_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
db.close()
print(f"{n} blobs of {kb} KB written and referred to")
EOF

secs() { python3 -c 'import sys, time; print(f"{time.time():.6f}")'; }
t0=$(secs)
"$KYSO" backup create --backup-dir "$W/backup" --data-dir "$W/data" >"$W/create.log" 2>&1
t1=$(secs)
echo "kyso backup create: $(python3 -c "print(f'{$t1 - $t0:.2f}')") s ($(find "$W/backup/blobs" -type f | wc -l) blobs, $(du -sh "$W/backup/blobs" | cut -f1))"

best() { # LABEL CMD… → the best wall time of RUNS (after one warm-up run)
  local label=$1
  shift
  "$@" >/dev/null 2>&1 || { echo "$label failed" >&2; "$@" | tail -5 >&2; exit 1; }
  python3 - "$RUNS" "$label" "$@" <<'EOF'
import subprocess, sys, time
runs, label, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
times = []
for _ in range(runs):
    t = time.time()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times.append(time.time() - t)
print(f"RESULT {label}: best {min(times):.2f} s, median {sorted(times)[len(times) // 2]:.2f} s of {runs}")
EOF
}
best "kyso backup verify" "$KYSO" backup verify --backup-dir "$W/backup"
best "sha256sum of the backup's blobs" sh -c "cd '$W/backup/blobs' && find . -type f -print0 | xargs -0 sha256sum"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
