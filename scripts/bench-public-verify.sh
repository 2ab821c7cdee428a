#!/usr/bin/env bash
# Issue 18 "Speed", public verification (BENCHMARKS.md): release build, a fresh `kyso serve`
# (SQLite, the demo province), ROUNDS rounds of CONCURRENT simultaneous uploads of one signed
# 1-page document to the page (`POST /kiem-tra`, multipart) and to the API
# (`POST /api/v1/verify`, the PDF as the body), each request from its own client address
# (`X-Forwarded-For` believed from 127.0.0.1 with `--trusted-proxy`, as behind the province's
# proxy: the per-address rate limit is not what is measured); every answer must be 200.
# Beside it, in the same run: `kyso verify --offline` alone on the same file, RUNS times.
#   bash scripts/bench-public-verify.sh
#   ROUNDS=10 CONCURRENT=50 NO_BUILD=1 BIN_DIR=DIR bash scripts/bench-public-verify.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
W=${BENCH_DIR:-/tmp/kyso-bench-public-verify}
ROUNDS=${ROUNDS:-4}
CONCURRENT=${CONCURRENT:-50}
RUNS=${RUNS:-20}
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p kyso
T=${BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/release}
KYSO="$T/kyso"
rm -rf "$W"; mkdir -p "$W"
server=""
cleanup() { [ -z "$server" ] || { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }; }
trap cleanup EXIT
echo "$(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg); release build; tree $(git describe --always --dirty 2>/dev/null || echo "?")"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
"$KYSO" serve --listen "127.0.0.1:$port" --data-dir "$W/data" --trusted-proxy 127.0.0.1 \
  >"$W/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 240); do
  curl -fsS -o /dev/null "$base/healthz" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$W/serve.log" >&2; exit 1; }
  sleep 0.5
done

# The signed 1-page document: the committed one-page letter signed with the demo PKI's
# personal certificate (PAdES B-B), as any agency's letter arrives.
KYSO_BENCH_P12=kyso-demo "$KYSO" sign tests/corpus/one-page.pdf -o "$W/signed.pdf" \
  --p12 "$W/data/demo-pki/personal.p12" --password-env KYSO_BENCH_P12 --invisible >/dev/null
file="$W/signed.pdf"
echo "file: $(stat -c %s "$file") bytes, $("$KYSO" verify --offline --json --trust "$W/data/demo-pki/root.pem" "$file" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["verdict"], [s["etsi"]["indication"] for s in d["signatures"]])')"

# One request: prints "STATUS SECONDS".
one() { # ROUTE ROUND I
  local ip="10.$((200 + $2)).$(($3 / 250)).$(($3 % 250 + 1))"
  case $1 in
    page) curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' -H "X-Forwarded-For: $ip" \
            -H "Origin: $base" -F "file=@$file;type=application/pdf" "$base/kiem-tra" ;;
    api) curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' -H "X-Forwarded-For: $ip" \
            -H 'Content-Type: application/pdf' --data-binary "@$file" "$base/api/v1/verify" ;;
  esac
}
export -f one
export file base

report() { # NAME FILE → count, errors, p50/p99/max (ms), throughput
  python3 - "$1" "$2" "$3" <<'EOF'
import sys
name, path, wall = sys.argv[1], sys.argv[2], float(sys.argv[3])
rows = [l.split() for l in open(path) if l.strip()]
bad = [r for r in rows if r[0] != "200"]
t = sorted(float(r[1]) * 1000 for r in rows)
q = lambda p: t[min(len(t) - 1, int(p * len(t)))]
print(f"{name}: {len(rows)} requests, {len(bad)} not 200 {sorted(set(r[0] for r in bad))}, "
      f"p50 {q(0.50):.1f} ms, p99 {q(0.99):.1f} ms, max {t[-1]:.1f} ms, "
      f"{len(rows) / wall:.1f} requests/s")
sys.exit(1 if bad else 0)
EOF
}

status=0
for route in page api; do
  : >"$W/$route.txt"
  start=$(date +%s.%N)
  for r in $(seq 1 "$ROUNDS"); do
    seq 1 "$CONCURRENT" | xargs -P "$CONCURRENT" -I{} bash -c "one $route $r {}" >>"$W/$route.txt"
  done
  wall=$(python3 -c "import time; print(time.time() - $start)")
  label="POST /kiem-tra"; [ "$route" = page ] || label="POST /api/v1/verify"
  report "$label, $ROUNDS × $CONCURRENT concurrent" "$W/$route.txt" "$wall" || status=1
done

# Beside it: the command alone on the same file (process start included).
: >"$W/cli.txt"
for _ in $(seq 1 "$RUNS"); do
  s=$(date +%s.%N)
  "$KYSO" verify --offline --trust "$W/data/demo-pki/root.pem" "$file" >/dev/null || [ $? -le 2 ]
  python3 -c "import time; print('200', time.time() - $s)" >>"$W/cli.txt"
done
report "kyso verify --offline alone, $RUNS runs one after another" "$W/cli.txt" 1e9 | sed 's/, [0-9.]* requests\/s//'
grep -q panicked "$W/serve.log" && { echo "the server panicked" >&2; status=1; }
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
