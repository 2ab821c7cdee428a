#!/usr/bin/env bash
# Issue 4 item 6 (BENCHMARKS.md, "Issue 4 — TSA and OCSP under load"): kyso's TSA and OCSP
# responder (`kyso pki serve`, release build) under load from a second process on loopback,
# side by side with certomancer 0.16's (`certomancer animate`) in the same run.
#   bash scripts/bench-pki.sh                    # 32 connections, 10 s per measurement
#   CONNS=64 SECS=20 bash scripts/bench-pki.sh
# Load client: crates/kyso/examples/pki_load.rs (std only; N keep-alive connections, one
# thread each, the same request body over and over; reports responses/s, p50, p99).
# Requests are made by openssl (`ts -query -sha256 -cert`, `ocsp -reqout` with and without a
# nonce); each service's first answer is checked with openssl before it is measured.
# Needs the test environment (bash scripts/setup-test-env.sh: openssl, curl, certomancer).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
W=${BENCH_DIR:-/tmp/kyso-bench-pki}
CONNS=${CONNS:-32}
SECS=${SECS:-10}
KPORT=${KPORT:-18765}
CPORT=${CPORT:-9876}
cargo build --release -q -p kyso --bins --example pki_load
T=${CARGO_TARGET_DIR:-$root/target}/release
K=$T/kyso
L=$T/examples/pki_load
rm -rf "$W"
mkdir -p "$W/cm/keys"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_port() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done
              echo "server on port $1 did not start" >&2; exit 1; }
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/max(float(sys.argv[2]),1e-9):.1f}')" "$1" "$2"; }
load() { "$L" "$1" "$2" "$3" "$CONNS" "$SECS"; }

echo "data to stamp" > "$W/data.txt"
openssl ts -query -data "$W/data.txt" -sha256 -cert -out "$W/req.tsq" 2>/dev/null

# --- kyso
export KYSO_BENCH_PW=bench-123456
"$K" pki init "$W/pki" --password-env KYSO_BENCH_PW --base-url "http://127.0.0.1:$KPORT" >/dev/null
"$K" pki serve "$W/pki" --listen "127.0.0.1:$KPORT" --password-env KYSO_BENCH_PW >"$W/kyso.log" 2>&1 &
pids+=($!)
wait_port "$KPORT"
P=$W/pki
openssl ocsp -issuer "$P/intermediate.pem" -cert "$P/personal.pem" -reqout "$W/k-nonce.req" >/dev/null 2>&1
openssl ocsp -issuer "$P/intermediate.pem" -cert "$P/personal.pem" -no_nonce -reqout "$W/k-plain.req" >/dev/null 2>&1
curl -s --data-binary @"$W/req.tsq" -H 'Content-Type: application/timestamp-query' \
  "http://127.0.0.1:$KPORT/tsa" -o "$W/k.tsr"
openssl ts -verify -data "$W/data.txt" -in "$W/k.tsr" -CAfile "$P/chain.pem" -untrusted "$P/tsa.pem" 2>&1 | grep -q "Verification: OK"
openssl ocsp -issuer "$P/intermediate.pem" -cert "$P/personal.pem" -url "http://127.0.0.1:$KPORT/ocsp" \
  -CAfile "$P/chain.pem" 2>&1 | grep -q "personal.pem: good"
k_tsa=$(load "http://127.0.0.1:$KPORT/tsa" "$W/req.tsq" application/timestamp-query)
k_ocsp=$(load "http://127.0.0.1:$KPORT/ocsp" "$W/k-nonce.req" application/ocsp-request)
k_ocsp_plain=$(load "http://127.0.0.1:$KPORT/ocsp" "$W/k-plain.req" application/ocsp-request)
kill "${pids[0]}"; pids=()

# --- certomancer (same shape and key types, keys made here)
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/cm/keys/root.key.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/cm/keys/subca.key.pem" 2>/dev/null
for k in tsa ocsp leaf; do
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/cm/keys/$k.key.pem"
done
CM=(certomancer --config "$root/tests/bench/certomancer-pki.yml" --key-root "$W/cm/keys")
"${CM[@]}" mass-summon --flat --no-pfx bench "$W/cm/certs" >/dev/null
"${CM[@]}" animate --port "$CPORT" >"$W/certomancer.log" 2>&1 &
pids+=($!)
wait_port "$CPORT"
C=$W/cm/certs
openssl ocsp -issuer "$C/subca.cert.pem" -cert "$C/leaf.cert.pem" -reqout "$W/c-nonce.req" >/dev/null 2>&1
openssl ocsp -issuer "$C/subca.cert.pem" -cert "$C/leaf.cert.pem" -no_nonce -reqout "$W/c-plain.req" >/dev/null 2>&1
cat "$C/subca.cert.pem" "$C/root.cert.pem" > "$C/chain.pem"
curl -s --data-binary @"$W/req.tsq" -H 'Content-Type: application/timestamp-query' \
  "http://127.0.0.1:$CPORT/bench/tsa/tsa" -o "$W/c.tsr"
openssl ts -verify -data "$W/data.txt" -in "$W/c.tsr" -CAfile "$C/chain.pem" -untrusted "$C/tsa.cert.pem" 2>&1 | grep -q "Verification: OK"
openssl ocsp -issuer "$C/subca.cert.pem" -cert "$C/leaf.cert.pem" -url "http://127.0.0.1:$CPORT/bench/ocsp/subca" \
  -CAfile "$C/chain.pem" 2>&1 | grep -q "leaf.cert.pem: good"
c_tsa=$(load "http://127.0.0.1:$CPORT/bench/tsa/tsa" "$W/req.tsq" application/timestamp-query)
c_ocsp=$(load "http://127.0.0.1:$CPORT/bench/ocsp/subca" "$W/c-nonce.req" application/ocsp-request)
c_ocsp_plain=$(load "http://127.0.0.1:$CPORT/bench/ocsp/subca" "$W/c-plain.req" application/ocsp-request)

echo "== $(nproc) cores, $CONNS connections, $SECS s each; responses/s, p50 / p99 ms"
row() { printf '  %-34s %8s r/s  p50 %6s ms  p99 %7s ms  errors %s\n' "$1" "$(field "$2" rps)" \
          "$(field "$2" p50_ms)" "$(field "$2" p99_ms)" "$(field "$2" errors)"; }
row "kyso TSA" "$k_tsa"
row "certomancer TSA" "$c_tsa"
row "kyso OCSP (nonce, signed each time)" "$k_ocsp"
row "certomancer OCSP (nonce)" "$c_ocsp"
row "kyso OCSP (no nonce, cached)" "$k_ocsp_plain"
row "certomancer OCSP (no nonce)" "$c_ocsp_plain"
echo "  kyso/certomancer: TSA $(ratio "$(field "$k_tsa" rps)" "$(field "$c_tsa" rps)")x," \
  "OCSP $(ratio "$(field "$k_ocsp" rps)" "$(field "$c_ocsp" rps)")x," \
  "OCSP without nonce $(ratio "$(field "$k_ocsp_plain" rps)" "$(field "$c_ocsp_plain" rps)")x"
echo "raw:"; for r in "$k_tsa" "$c_tsa" "$k_ocsp" "$c_ocsp" "$k_ocsp_plain" "$c_ocsp_plain"; do echo "  $r"; done
