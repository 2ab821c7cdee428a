#!/usr/bin/env bash
# Issue 5 benchmark: 1,000 small PDFs signed in one `kyso sign … --out-dir` run with
#   (a) the demo PKI's personal RSA-2048 key from its PKCS#12 file, and
#   (b) the same key imported into a SoftHSM2 token (PKCS#11), with the default pool of
#       sessions and with a single session (every signature through the login session),
# each with and without fsync, side by side in the same run (see BENCHMARKS.md, issue 5).
#   bash scripts/bench-keys.sh          # NO_BUILD=1: use the last release build
# Needs the test environment (bash scripts/setup-test-env.sh: softhsm2, opensc, openssl).
# Work files go to $BENCH_DIR (default /tmp/kyso-bench); the machine should be otherwise idle.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
W=${BENCH_DIR:-/tmp/kyso-bench}
mkdir -p "$W"
[ "${NO_BUILD:-0}" = 1 ] || cargo build --release -q -p kyso
K=${CARGO_TARGET_DIR:-$root/target}/release/kyso
MODULE=/usr/lib/softhsm/libsofthsm2.so
export KYSO_BENCH_PW=bench-123456 KYSO_BENCH_PIN=bench-pin-4711
[ -f "$W/pki/personal.p12" ] || "$K" pki init "$W/pki" --password-env KYSO_BENCH_PW >/dev/null
P12=$W/pki/personal.p12
cp tests/corpus/one-page.pdf "$W/1page.pdf"
if [ "$(ls "$W/batch/in" 2>/dev/null | wc -l)" != 1000 ]; then
  rm -rf "$W/batch/in" && mkdir -p "$W/batch/in"
  for i in $(seq -w 1 1000); do cp "$W/1page.pdf" "$W/batch/in/d$i.pdf"; done
  sync; sleep 5
fi

# A fresh SoftHSM2 token holding the PKCS#12 key, its certificate and the CA certificates.
H=$W/softhsm
rm -rf "$H" && mkdir -p "$H/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$H/tokens" \
  > "$H/softhsm2.conf"
export SOFTHSM2_CONF=$H/softhsm2.conf
softhsm2-util --init-token --free --label bench --so-pin bench-so-0000 --pin "$KYSO_BENCH_PIN" >/dev/null
openssl pkcs12 -in "$P12" -nocerts -nodes -passin env:KYSO_BENCH_PW | openssl pkey -out "$H/key.pem"
openssl pkcs12 -in "$P12" -nokeys -clcerts -passin env:KYSO_BENCH_PW | openssl x509 -outform DER -out "$H/cert.der"
softhsm2-util --import "$H/key.pem" --token bench --label personal --id 01 --pin "$KYSO_BENCH_PIN" >/dev/null
rm -f "$H/key.pem"
p11() { pkcs11-tool --module "$MODULE" --token-label bench --login --pin "$KYSO_BENCH_PIN" "$@" >/dev/null 2>&1; }
p11 --write-object "$H/cert.der" --type cert --id 01 --label personal
i=0
for ca in intermediate root; do
  openssl x509 -in "$W/pki/$ca.pem" -outform DER -out "$H/$ca.der"
  p11 --write-object "$H/$ca.der" --type cert --id "c$i" --label "$ca"; i=$((i+1))
done

p12="$K sign --p12 $P12 --password-env KYSO_BENCH_PW --invisible"
tok="$K sign --pkcs11-module $MODULE --token bench --pin-env KYSO_BENCH_PIN --invisible"
# batch NAME COMMAND…: documents/second signing the 1,000 PDFs into a fresh folder.
batch() { local name=$1; shift
  local out="$W/batch/out-$name-$RANDOM"
  local t0 t1; t0=$(date +%s.%N)
  "$@" "$W"/batch/in/*.pdf --out-dir "$out"
  t1=$(date +%s.%N)
  rm -rf "$out"
  python3 -c "print(round(1000/($t1-$t0), 1))"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.3f}')" "$1" "$2"; }

for mode in "" "--no-fsync"; do
  label=${mode:-fsync}
  echo "== 1,000 small PDFs, one process ($label)"
  a=$(batch "p12-$label" $p12 $mode)
  b=$(batch "tok-$label" $tok $mode)
  c=$(batch "tok1-$label" $tok --token-sessions 1 $mode)
  echo "  (a) PKCS#12 key:                      $a documents/s"
  echo "  (b) SoftHSM2 token, 4 sessions:       $b documents/s  (b/a = $(ratio "$b" "$a"))"
  echo "  (b') SoftHSM2 token, 1 session:       $c documents/s  (b'/a = $(ratio "$c" "$a"))"
done
