#!/usr/bin/env bash
# Issue 18 "Speed", intake of incoming documents through the API (BENCHMARKS.md, "Issue 18 —
# intake"), release build, each figure beside its peer from the same run:
#  - letters: DOCS distinct signed 1-page letters sent for SECS seconds by CONNS integrators at once
#    (`POST /api/v1/incoming`, the PDF as the body, the metadata in the query string; wrk with
#    a Lua script, each letter once) to a fresh `kyso serve` on SQLite and on PostgreSQL:
#    verify (online revocation: none to fetch, the demo PKI's certificates name no responder)
#    + store + register the arrival; every answer must be 201. Beside it: `kyso verify` alone
#    on the same files, RUNS of them one after another (process start included; `kyso verify`
#    takes one file, so the validator alone in one process needs an example program: not yet).
#  - large: a signed 100 MB scanned annex (tests/bench/make_large.py, signed by `kyso sign`
#    with the demo PKI) sent once as the raw body: the server's peak RSS before and after
#    (VmHWM), its wall time beside `sha256sum` of the file and `kyso verify` of it.
#   bash scripts/bench-intake.sh
#   ONLY=large BACKENDS=sqlite NO_BUILD=1 BIN_DIR=DIR bash scripts/bench-intake.sh
#   DOCS=4000 CONNS=16 bash scripts/bench-intake.sh
#   NO_BUILD=1 BIN_DIRS="BEFORE_DIR AFTER_DIR" ONLY=letters bash scripts/bench-intake.sh
# BIN_DIRS: several builds compared in one run, one after the other on each engine (the same
# letters, signed once by the first).
# PostgreSQL: a fresh schema in $PG_BASE (default postgres://postgres@127.0.0.1:5432/test),
# dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
W=${BENCH_DIR:-/tmp/kyso-bench-intake}
BACKENDS=${BACKENDS:-sqlite postgres}
ONLY=${ONLY:-letters large}
DOCS=${DOCS:-3000}
SECS=${SECS:-10}
CONNS=${CONNS:-8}
RUNS=${RUNS:-20}
LARGE_MB=${LARGE_MB:-100}
PG_BASE=${PG_BASE:-postgres://postgres@127.0.0.1:5432/test}
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool: bash scripts/setup-test-env.sh" >&2; exit 1; }
done
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p kyso
T=${BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/release}
KYSO="$T/kyso"
BIN_DIRS=${BIN_DIRS:-$T}
schema=kyso_intake_$$
server=""
psql_q() { PGOPTIONS="--client-min-messages=warning" psql "$PG_BASE" -X -q -v ON_ERROR_STOP=1 -c "$1" >/dev/null; }
stop_server() { [ -z "$server" ] || { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""; }; }
cleanup() {
  stop_server
  case " $BACKENDS " in *" postgres "*) psql_q "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null || true ;; esac
}
trap cleanup EXIT
rm -rf "$W"; mkdir -p "$W"
echo "$(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg); release build; tree $(git describe --always --dirty 2>/dev/null || echo '?')"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"

# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
start_server() { # BACKEND → $server, $TOKEN (the first administrator's API token)
  local url=()
  if [ "$1" = postgres ]; then
    psql_q "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema"
    url=(--database-url "$PG_BASE?options=-c%20search_path%3D$schema")
  fi
  serve_with_demo_pki "$W/serve-$1.log" "${url[@]}"
  AGENCY=$(curl -fsS -H "Authorization: Bearer $TOKEN" "$base/api/v1/agencies?limit=500" | python3 -c '
import json, sys
d = json.load(sys.stdin)
items = d["items"] if isinstance(d, dict) else d
print(sorted(items, key=lambda a: a["id"])[1]["id"])')
}

# The server's peak RSS (kB).
hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$server/status"; }

# Distinct letters: the committed one-page letter with a line of its own appended, signed in one
# batch with the demo PKI's personal key (PAdES B-B, invisible), as any agency's letter arrives.
make_letters() { # N → $W/letters/*.pdf
  mkdir -p "$W/drafts" "$W/letters"
  python3 - "$1" "$W/drafts" <<'EOF'
import sys
n, out = int(sys.argv[1]), sys.argv[2]
base = open("tests/corpus/one-page.pdf", "rb").read()
for i in range(n):
    open(f"{out}/l{i:05d}.pdf", "wb").write(base + b"%% letter %d\n" % i)
EOF
  KYSO_BENCH_P12=kyso-demo "$KYSO" sign "$W"/drafts/*.pdf --out-dir "$W/letters" \
    --p12 "$W/pki/personal.p12" --password-env KYSO_BENCH_P12 --invisible >/dev/null
}

# wrk: each thread sends its share of the letters, each once, for SECS seconds; one RESULT line.
cat > "$W/intake.lua" <<'EOF'
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  local dir, n, nthreads = os.getenv("LETTERS"), tonumber(os.getenv("DOCS")), tonumber(os.getenv("THREADS"))
  files = {}
  for i = id, n - 1, nthreads do
    local f = assert(io.open(string.format("%s/l%05d.pdf", dir, i), "rb"))
    files[#files + 1] = {i, f:read("*a")}
    f:close()
  end
  next_file, bad = 1, 0
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
  wrk.headers["Content-Type"] = "application/pdf"
end
function request()
  local f = files[next_file]
  if f == nil then
    -- Out of letters (DOCS too small for SECS): the repeat is refused (409), an error.
    f = files[1]
  end
  next_file = next_file + 1
  local q = string.format("/api/v1/incoming?agency_id=%s&sender_code=G11.07.05&sender_name=Bench&number=%d&notation=CV-BENCH&doc_date=2026-12-01&subject=Intake%%20bench%%20%d&file_name=l%05d.pdf",
    os.getenv("AGENCY"), f[1] + 1, f[1], f[1])
  return wrk.format("POST", q, nil, f[2])
end
function response(status, headers, body)
  if status ~= 201 then
    bad = bad + 1
    if bad <= 3 then io.stderr:write("status " .. status .. ": " .. body:sub(1, 300) .. "\n") end
  end
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT rps=%.1f p50=%.1f p99=%.1f max=%.1f errors=%d requests=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    e.connect + e.read + e.write + e.status + e.timeout, summary.requests))
end
EOF

status=0
case " $ONLY " in *" letters "*)
  for backend in $BACKENDS; do
   for bin in $BIN_DIRS; do
    KYSO="$bin/kyso"
    start_server "$backend"
    if [ ! -d "$W/letters" ]; then
      make_letters "$DOCS"
      f0="$W/letters/l00000.pdf"
      echo "letters: $DOCS distinct, $(stat -c %s "$f0") bytes each, $("$KYSO" verify --json --trust "$W/pki/root.pem" "$f0" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["verdict"], d["reasons"])')"
    fi
    threads=2
    la=$(cut -d' ' -f1-3 /proc/loadavg)
    out=$(LETTERS="$W/letters" DOCS=$DOCS THREADS=$threads TOKEN=$TOKEN AGENCY=$AGENCY \
      wrk -t"$threads" -c"$CONNS" -d"${SECS}s" --timeout 30s --latency -s "$W/intake.lua" "$base" 2>"$W/wrk-$backend.err" | grep '^RESULT' || true)
    echo "$backend intake ($bin), ${SECS} s, $CONNS connections (load average before $la): $out"
    [ -s "$W/wrk-$backend.err" ] && { head -5 "$W/wrk-$backend.err"; }
    rows=$(curl -fsS -H "Authorization: Bearer $TOKEN" "$base/api/v1/incoming?agency_id=$AGENCY&limit=5000" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d), sorted(set(x["verdict"] for x in d)))')
    echo "$backend: arrived (the queue lists at most 500) $rows"
    case $out in *" errors=0 "*) ;; *) status=1 ;; esac
    grep -q panicked "$W/serve-$backend.log" && { echo "the server panicked" >&2; status=1; }
    stop_server
    [ "$backend" != postgres ] || psql_q "DROP SCHEMA IF EXISTS $schema CASCADE"
   done
  done
  KYSO="${BIN_DIRS##* }/kyso"
  # Beside it: `kyso verify` alone on the same files, one process each and all in one process.
  : >"$W/cli.txt"
  for i in $(seq 0 $((RUNS - 1))); do
    f=$(printf '%s/letters/l%05d.pdf' "$W" "$i")
    s=$(date +%s.%N)
    "$KYSO" verify --trust "$W/pki/root.pem" "$f" >/dev/null || [ $? -le 2 ]
    python3 -c "import time; print(time.time() - $s)" >>"$W/cli.txt"
  done
  python3 - "$W/cli.txt" <<'EOF'
import sys
t = sorted(float(l) * 1000 for l in open(sys.argv[1]) if l.strip())
print(f"kyso verify alone, {len(t)} files one after another: p50 {t[len(t)//2]:.1f} ms, "
      f"max {t[-1]:.1f} ms, {1000 * len(t) / sum(t):.1f} files/s")
EOF
  ;;
esac

case " $ONLY " in *" large "*)
  backend=${BACKENDS%% *}
  start_server "$backend"
  python3 tests/bench/make_large.py "$W/large-draft.pdf" "$LARGE_MB"
  KYSO_BENCH_P12=kyso-demo "$KYSO" sign "$W/large-draft.pdf" -o "$W/large.pdf" \
    --p12 "$W/pki/personal.p12" --password-env KYSO_BENCH_P12 --kind attachment --invisible >/dev/null
  rm -f "$W/large-draft.pdf"
  size=$(stat -c %s "$W/large.pdf")
  cat "$W/large.pdf" >/dev/null # warm page cache, like every peer below
  la=$(cut -d' ' -f1-3 /proc/loadavg)
  before=$(hwm)
  out=$(curl -sS -o "$W/large.json" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/pdf' --data-binary "@$W/large.pdf" \
    "$base/api/v1/incoming?agency_id=$AGENCY&sender_code=G11.07.05&number=1&doc_date=2026-12-01&subject=Large&file_name=large.pdf")
  after=$(hwm)
  verdict=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("verdict"), d.get("size"), d.get("sha256","")[:12])' "$W/large.json")
  echo "$backend large: $size bytes, answer ${out% *} in ${out#* } s ($verdict), server VmHWM $before kB -> $after kB (+$(((after - before) / 1024)) MB), load average before $la"
  [ "${out% *}" = 201 ] || { cat "$W/large.json"; status=1; }
  [ $(((after - before) / 1024)) -le 64 ] || { echo "peak RSS grew by more than 64 MB" >&2; status=1; }
  stop_server
  [ "$backend" != postgres ] || psql_q "DROP SCHEMA IF EXISTS $schema CASCADE"
  # Peers on the same file, warm page cache: one hash pass (the floor) and the validator alone.
  for cmd in "sha256sum $W/large.pdf" "$KYSO verify --offline --trust $W/pki/root.pem $W/large.pdf"; do
    best=""
    for _ in 1 2 3 4 5; do
      s=$(date +%s.%N); $cmd >/dev/null || [ $? -le 2 ]; e=$(date +%s.%N)
      best=$(python3 -c "b='$best'; t=$e-$s; print(t if not b else min(float(b), t))")
    done
    echo "beside: $cmd, best of 5: $best s" | sed "s|$W/||g; s|$T/||g"
  done
  ;;
esac
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
