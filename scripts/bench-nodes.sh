#!/usr/bin/env bash
# Issue 19 "Speed", two nodes against one (BENCHMARKS.md, "Issue 19 — two nodes"): two `kyso
# serve` (release) on one PostgreSQL schema and one Garage bucket (started here), given the same
# key files; a clerk's incoming document uploaded through node A; then wrk reads, for DURATION
# seconds with CONNS connections in all, a document's record (database) and its file (bucket,
# re-hashed) — first through node A alone, then through both at once (half the connections
# each). Both nodes, Garage, PostgreSQL and wrk share this machine's cores: the figure is the
# overhead of a second node, not scaling.
#   bash scripts/bench-nodes.sh
#   NO_BUILD=1 DURATION=10 CONNS=8 bash scripts/bench-nodes.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
W=${BENCH_DIR:-/tmp/kyso-bench-nodes}
DURATION=${DURATION:-15}
CONNS=${CONNS:-16}
PG=${KYSO_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}
for tool in curl python3 wrk psql; do
  command -v "$tool" >/dev/null || { echo "needs $tool: bash scripts/setup-test-env.sh" >&2; exit 1; }
done
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p kyso
T=${BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/release}
KYSO="$T/kyso"
rm -rf "$W"; mkdir -p "$W/keys"
echo "$(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg); release build; tree $(git describe --always --dirty 2>/dev/null || echo '?')"

. scripts/bench-lib.sh
start_garage kyso-nodes
schema="kyso_bench_nodes_$$"
psql "$PG" -qc "CREATE SCHEMA $schema"
server=""; node_b=""
cleanup() {
  for p in $server $node_b; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  stop_garage
  psql "$PG" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
}
trap cleanup EXIT
printf '%s\n%s\n' "$key_id" "$secret" >"$W/s3-key"
chmod 600 "$W/s3-key"
common=(--database-url "$PG?options=-c%20search_path%3D$schema"
        --blob-store "s3://kyso-nodes?endpoint=http://127.0.0.1:$s3_port"
        --s3-credentials-file "$W/s3-key" --audit-key-file "$W/keys/audit.key")

# Node A makes the database and the keys; node B is given the same.
port=$(free_port); base="http://127.0.0.1:$port"
serve_with_demo_pki "$W/a.log" "${common[@]}" --audit-checkpoint-file "$W/a-checkpoints.jsonl"
a=$base
port_b=$(free_port); b="http://127.0.0.1:$port_b"
"$KYSO" serve --lang en --listen "127.0.0.1:$port_b" --data-dir "$W/b" "${common[@]}" \
  --audit-checkpoint-file "$W/b-checkpoints.jsonl" >"$W/b.log" 2>&1 &
node_b=$!
for _ in $(seq 1 240); do
  curl -fsS -o /dev/null "$b/healthz" 2>/dev/null && break
  kill -0 "$node_b" 2>/dev/null || { cat "$W/b.log" >&2; exit 1; }
  sleep 0.25
done

# A clerk of the Department (API token) and one incoming document uploaded through node A.
read -r CLERK DOC < <(A=$a ADMIN=$TOKEN PDF="$root/tests/corpus/letter-classic.pdf" python3 - <<'EOF'
import base64, json, os, urllib.request
a, admin = os.environ["A"], os.environ["ADMIN"]
def call(method, path, body=None, token=None):
    req = urllib.request.Request(a + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        text = r.read()
        return json.loads(text) if text else {}
dost = next(x["id"] for x in call("GET", "/api/v1/agencies", token=admin)["items"] if x["code"] == "H99.37")
call("POST", "/api/v1/users", {"username": "vanthu.bench", "full_name": "Văn thư đo tải",
     "email": "vanthu.bench@example.gov.vn", "agency_id": dost, "password": "mat-khau-ban-dau-2026",
     "must_change_password": True, "roles": [{"role": "clerk", "agency_id": dost}]}, admin)
s = call("POST", "/api/v1/auth/login", {"username": "vanthu.bench", "password": "mat-khau-ban-dau-2026"})
call("POST", "/api/v1/me/password", {"old_password": "mat-khau-ban-dau-2026", "new_password": "Do-tai-2026-demo"}, s["token"])
s = call("POST", "/api/v1/auth/login", {"username": "vanthu.bench", "password": "Do-tai-2026-demo"})
token = call("POST", "/api/v1/tokens", {"name": "bench", "days": 1}, s["token"])["token"]
pdf = open(os.environ["PDF"], "rb").read()
doc = call("POST", "/api/v1/incoming/upload", {"agency_id": dost, "sender_name": "Sở Tài chính",
     "number": "501", "notation": "STC-VP", "doc_date": "2026-12-01", "doc_type": "Công văn",
     "subject": "Về việc đo tải hai máy chủ", "signer": "Giám đốc", "file_name": "letter-classic.pdf",
     "scanned": True, "file_base64": base64.b64encode(pdf).decode()}, token)
print(token, doc["id"])
EOF
)
curl -fsS -o /dev/null -H "Authorization: Bearer $CLERK" "$b/api/v1/incoming/$DOC/file"

# wrk LABEL URL… : the summed requests/s and each node's p99 (one wrk per URL, run together).
measure() {
  local label=$1
  shift
  local n=$# i=0 pids=()
  for u in "$@"; do
    wrk -t1 -c$((CONNS / n)) -d"${DURATION}s" --latency -H "Authorization: Bearer $CLERK" "$u" \
      >"$W/wrk-$label-$i.txt" 2>&1 &
    pids+=($!)
    i=$((i + 1))
  done
  wait "${pids[@]}"
  python3 - "$label" "$W"/wrk-"$label"-*.txt <<'EOF'
import re, sys
label, files = sys.argv[1], sys.argv[2:]
rps, p99s, errs = 0.0, [], 0
for f in files:
    t = open(f).read()
    rps += float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    m = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", t)
    p99s.append(float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)])
    e = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    errs += int(e.group(1)) if e else 0
print(f"RESULT {label}: {rps:.0f} requests/s, p99 " + " / ".join(f"{p:.1f} ms" for p in p99s)
      + f", non-2xx {errs}")
EOF
}
measure "record, node A alone" "$a/api/v1/incoming/$DOC"
measure "record, nodes A and B" "$a/api/v1/incoming/$DOC" "$b/api/v1/incoming/$DOC"
measure "file, node A alone" "$a/api/v1/incoming/$DOC/file"
measure "file, nodes A and B" "$a/api/v1/incoming/$DOC/file" "$b/api/v1/incoming/$DOC/file"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
