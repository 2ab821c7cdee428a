#!/usr/bin/env bash
# Issue 5 (BENCHMARKS.md, "Issue 5 — signing with tokens and remote keys", subsection "CSC on
# loopback"): 1,000 one-page PDFs signed by one `kyso sign --out-dir` process through kyso's
# CSC service (`kyso csc serve`) on 127.0.0.1, against the same key used locally as a PKCS#12
# file, in the same run. Every remote signature is one credentials/authorize (PIN check =
# decrypting the PKCS#12 file) plus one signatures/signHash.
#   bash scripts/bench-csc.sh              # release build, N=1000, 3 runs each (median)
#   N=200 RUNS=1 PROFILE=debug bash scripts/bench-csc.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
N=${N:-1000}
RUNS=${RUNS:-3}
PORT=${PORT:-18780}
PROFILE=${PROFILE:-release}
W=${BENCH_DIR:-/tmp/kyso-bench-csc}
if [ "$PROFILE" = release ]; then cargo build --release -q -p kyso --bins; else cargo build -q -p kyso --bins; fi
K=${CARGO_TARGET_DIR:-$root/target}/$PROFILE/kyso
rm -rf "$W"
mkdir -p "$W/in"
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; }
trap cleanup EXIT
export KYSO_BENCH_PW=bench-123456 KYSO_BENCH_LOGIN=bench-login-pw
"$K" pki init "$W/pki" --password-env KYSO_BENCH_PW >/dev/null
for i in $(seq -w 1 "$N"); do cp tests/corpus/one-page.pdf "$W/in/doc$i.pdf"; done
"$K" csc init-config "$W/pki" --user demo --password-env KYSO_BENCH_LOGIN -o "$W/csc.json"
"$K" csc serve --config "$W/csc.json" --listen "127.0.0.1:$PORT" >/dev/null 2>"$W/serve.log" &
pid=$!
for _ in $(seq 100); do curl -s -o /dev/null -X POST "http://127.0.0.1:$PORT/csc/v2/info" && break; sleep 0.1; done

now() { date +%s.%N; }
median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
run() { # run LABEL ARGS...: seconds of one batch
  local out=$W/out-$1; shift; rm -rf "$out"
  local t0; t0=$(now)
  "$K" sign "$W"/in/*.pdf --out-dir "$out" --invisible "$@"
  python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$t0" "$(now)"
}
p12=(); csc=()
for _ in $(seq "$RUNS"); do
  p12+=("$(run p12 --p12 "$W/pki/personal.p12" --password-env KYSO_BENCH_PW)")
  csc+=("$(run csc --csc "http://127.0.0.1:$PORT" --credential personal --csc-user demo \
          --csc-password-env KYSO_BENCH_LOGIN --pin-env KYSO_BENCH_PW)")
done
tp=$(median "${p12[@]}"); tc=$(median "${csc[@]}")
auth=$(grep -c "csc audit: authorize user=demo credential=personal hashes=1" "$W/serve.log")
[ "$auth" -eq $((N * RUNS)) ] || { echo "expected $((N * RUNS)) authorizations, saw $auth" >&2; exit 1; }
ls "$W/out-csc" | wc -l | grep -qx "$N"
python3 - "$N" "$tp" "$tc" <<'PY'
import sys
n, tp, tc = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print(f"PKCS#12 locally      : {n} documents in {tp:.2f} s = {n/tp:,.0f} documents/s")
print(f"CSC on loopback      : {n} documents in {tc:.2f} s = {n/tc:,.0f} documents/s")
print(f"ratio local / remote : {tc/tp:.1f}x")
PY
echo "runs (s): p12 ${p12[*]}; csc ${csc[*]}"
