#!/usr/bin/env bash
# Benchmarks of issues 2 (signing) and 3 (verifying), each side by side with its peer in the same
# run (see BENCHMARKS.md).
#   bash scripts/bench.sh            # signing: 1-page, batch, 100 MB; then verifying
#   BIG=1 bash scripts/bench.sh      # also signing the 1 GB file
#   ONLY=verify bash scripts/bench.sh  # only the verify section (ONLY=sign: only signing)
# Needs the test environment (bash scripts/setup-test-env.sh: hyperfine, pyHanko, openssl).
# Work files go to $BENCH_DIR (default /tmp/kyso-bench); the machine should be otherwise idle.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
W=${BENCH_DIR:-/tmp/kyso-bench}
mkdir -p "$W"
[ "${NO_BUILD:-0}" = 1 ] || cargo build --release -q -p kyso  # NO_BUILD=1: use the last build
K=${CARGO_TARGET_DIR:-$root/target}/release/kyso
export KYSO_BENCH_PW=bench-123456
[ -f "$W/pki/personal.p12" ] || "$K" pki init "$W/pki" --password-env KYSO_BENCH_PW >/dev/null
P12=$W/pki/personal.p12
printf '%s' "$KYSO_BENCH_PW" > "$W/pass.txt"
[ -f "$W/100mb.pdf" ] || python3 tests/bench/make_large.py "$W/100mb.pdf" 100
[ "${BIG:-0}" = 1 ] && { [ -f "$W/1gb.pdf" ] || python3 tests/bench/make_large.py "$W/1gb.pdf" 1024; }
cp tests/corpus/one-page.pdf "$W/1page.pdf"

sign="$K sign --p12 $P12 --password-env KYSO_BENCH_PW --invisible"
pyh="pyhanko sign addsig --field Sig1 pkcs12 --passfile $W/pass.txt"
# hf NAME RUNS SHELL COMMAND: median wall time (ms) of COMMAND over RUNS runs (1 warm-up).
# HF_IGNORE=1 hf ...: a non-zero exit status is expected (kyso verify --offline exits 2).
hf() { local shell=(-N) ign=(); [ -n "$3" ] && shell=(-S "$3"); rm -f "$W/$1.json"
       [ "${HF_IGNORE:-0}" = 1 ] && ign=(-i)
       hyperfine --style none -w 1 -r "$2" "${shell[@]}" "${ign[@]}" --export-json "$W/$1.json" \
         "$4" >/dev/null 2>&1
       python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['results'][0]['median']*1000, 1))" "$W/$1.json"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.3f}')" "$1" "$2"; }
rss() { { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null || true; } | tail -1; }

if [ "${ONLY:-sign}" != verify ]; then
echo "== 1-page PDF: kyso sign vs pyHanko CLI (both B-B, RSA-2048 PKCS#12, process start included)"
k=$(hf one 30 "" "$sign $W/1page.pdf -o $W/1page-kyso.pdf")
p=$(hf one-py 5 "" "$pyh $W/1page.pdf $W/1page-py.pdf $P12")
echo "  kyso sign: $k ms; pyhanko sign addsig: $p ms; pyHanko/kyso = $(ratio "$p" "$k")x"

echo "== 1,000 small PDFs in one process"
if [ "$(ls "$W/batch/in" 2>/dev/null | wc -l)" != 1000 ]; then
  rm -rf "$W/batch/in" && mkdir -p "$W/batch/in"
  for i in $(seq -w 1 1000); do cp "$W/1page.pdf" "$W/batch/in/d$i.pdf"; done
  sync; sleep 5
fi
for mode in "" "--no-fsync"; do
  # A fresh output folder each time, removed only after timing: ext4 slows down creating files
  # where thousands were just deleted, which would measure the file system, not kyso.
  out="$W/batch/out-${mode:-fsync}-$RANDOM"
  t0=$(date +%s.%N)
  $sign $mode "$W"/batch/in/*.pdf --out-dir "$out"
  t1=$(date +%s.%N)
  rm -rf "$out"
  python3 -c "import sys; t=$t1-$t0; print(f'  kyso {\"$mode\" or \"(fsync each file)\"}: 1000 documents in {t:.2f} s = {1000/t:.0f} documents/s')"
done
python3 -W ignore - "$P12" "$W/pass.txt" "$W/batch" <<'PY'
import glob, os, sys, time
from pyhanko.sign import signers
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
p12, passfile, d = sys.argv[1:4]
signer = signers.SimpleSigner.load_pkcs12(p12, passphrase=open(passfile, 'rb').read())
files = sorted(glob.glob(os.path.join(d, 'in', '*.pdf')))[:200]
os.makedirs(os.path.join(d, 'py'), exist_ok=True)
t0 = time.perf_counter()
for f in files:
    with open(f, 'rb') as inf:
        w = IncrementalPdfFileWriter(inf)
        with open(os.path.join(d, 'py', os.path.basename(f)), 'wb') as out:
            signers.sign_pdf(w, signers.PdfSignatureMetadata(field_name='Sig1'), signer=signer, output=out)
t = time.perf_counter() - t0
print(f"  pyHanko in one process: {len(files)} documents in {t:.2f} s = {len(files)/t:.0f} documents/s")
PY
openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048/{print "  openssl speed rsa2048: " $6 " signs/s per core"}'

echo "== re-signing 100 pages carrying 5 signatures by another producer (pyHanko): kyso sign vs pyhanko sign addsig"
# The input is made once: 100 text pages signed five times in a row by pyHanko (each its own
# revision). kyso must rewrite the page and the form without changing a value of theirs; the
# check below fails the benchmark unless pyHanko and kyso keep all five intact.
if [ ! -f "$W/100p-py5.pdf" ]; then
  [ -f "$W/100p.pdf" ] || python3 tests/bench/make_pages.py "$W/100p.pdf" 100
  prev=$W/100p.pdf
  for i in 1 2 3 4 5; do
    pyhanko sign addsig --field "Py$i" pkcs12 --passfile "$W/pass.txt" "$prev" "$W/100p-pyhanko$i.pdf" "$P12" 2>/dev/null
    prev=$W/100p-pyhanko$i.pdf
  done
  mv "$prev" "$W/100p-py5.pdf"
fi
k=$(hf resign-5 20 "" "$sign $W/100p-py5.pdf -o $W/100p-py5-kyso.pdf")
p=$(hf resign-5-py 3 "" "pyhanko sign addsig --field Sig6 pkcs12 --passfile $W/pass.txt $W/100p-py5.pdf $W/100p-py5-py.pdf $P12")
echo "  kyso sign: $k ms; pyhanko sign addsig: $p ms; pyHanko/kyso = $(ratio "$p" "$k")x"
{ $K verify --offline --trust "$W/pki/root.pem" --json "$W/100p-py5-kyso.pdf" || true; } | python3 -c "
import json, sys
r = json.load(sys.stdin)
sigs = r['signatures']
assert len(sigs) == 6 and all(s['intact'] for s in sigs), 'kyso verify: not 6 intact signatures'
bad = [s['field'] for s in sigs[:-1] if s['changes_after']['verdict'] != 'allowed']
assert not bad, f'kyso verify: disallowed changes after {bad}'
print('  kyso verify: 6 signatures intact, only allowed changes after the first five')"
py=$({ pyhanko sign validate --trust-replace --trust "$W/pki/root.pem" --no-revocation-check "$W/100p-py5-kyso.pdf" 2>/dev/null || true; })
ok=$(grep -c ':INTACT:TRUSTED' <<<"$py" || true)
[ "$ok" -eq 6 ] || { echo "$py" >&2; echo "pyhanko: $ok of 6 signatures INTACT:TRUSTED after kyso re-signed" >&2; exit 1; }
echo "  pyhanko sign validate: 6 of 6 INTACT:TRUSTED"

for f in 100mb ${BIG:+1gb}; do
  [ -f "$W/$f.pdf" ] || continue
  echo "== $f: kyso sign vs openssl dgst -sha256 + cp (warm page cache)"
  peer="openssl dgst -sha256 $W/$f.pdf >/dev/null && cp $W/$f.pdf $W/$f-cp.pdf"
  o=$(hf "$f-peer" 5 bash "$peer")
  k=$(hf "$f" 5 bash "$sign $W/$f.pdf -o $W/$f-kyso.pdf")
  n=$(hf "$f-nofsync" 5 bash "$sign --no-fsync $W/$f.pdf -o $W/$f-kyso.pdf")
  s=$(hf "$f-peer-sync" 5 bash "$peer && sync $W/$f-cp.pdf")
  echo "  openssl dgst + cp: $o ms; kyso sign (fsync): $k ms, ratio $(ratio "$k" "$o")"
  echo "  kyso sign --no-fsync: $n ms, ratio $(ratio "$n" "$o"); openssl dgst + cp + sync: $s ms, kyso(fsync)/that $(ratio "$k" "$s")"
  echo "  peak RSS kyso sign: $(rss $sign "$W/$f.pdf" -o "$W/$f-kyso.pdf") KB"
  if [ "$f" = 100mb ]; then
    echo "  pyHanko CLI: $(hf "$f-py" 3 "" "$pyh $W/$f.pdf $W/$f-py.pdf $P12") ms"
    echo "  peak RSS pyHanko: $(rss $pyh "$W/$f.pdf" "$W/$f-py.pdf" "$P12") KB"
  fi
  rm -f "$W/$f-kyso.pdf" "$W/$f-cp.pdf" "$W/$f-py.pdf"
done
fi

[ "${ONLY:-verify}" = sign ] && exit 0
# Issue 3: kyso verify --offline (no revocation fetching) vs pyHanko's CLI without revocation
# checking, both trusting only the demo root. The signed inputs are made once and kept in $W.
ROOT=$W/pki/root.pem
vfy="$K verify --offline --trust $ROOT"
pyv="pyhanko sign validate --trust-replace --trust $ROOT --no-revocation-check"
[ -f "$W/100mb-signed.pdf" ] || $sign "$W/100mb.pdf" -o "$W/100mb-signed.pdf"
[ -f "$W/1page-signed.pdf" ] || $sign "$W/1page.pdf" -o "$W/1page-signed.pdf"
if [ ! -f "$W/100p-5sig.pdf" ]; then
  python3 tests/bench/make_pages.py "$W/100p.pdf" 100
  prev=$W/100p.pdf
  for c in personal personal2 organization ecdsa ecdsa384; do
    "$K" sign --p12 "$W/pki/$c.p12" --password-env KYSO_BENCH_PW --invisible "$prev" \
      -o "$W/100p-$c.pdf" >/dev/null
    prev=$W/100p-$c.pdf
  done
  mv "$prev" "$W/100p-5sig.pdf"
fi
# What the timings compare must hold first: kyso finds every signature intact, its only reason
# the revocation status it was told not to fetch (--offline); pyHanko finds each of them
# INTACT:TRUSTED. Anything else stops the benchmark.
for spec in 1page-signed:1 100p-5sig:5 100mb-signed:1; do
  f=${spec%%:*} n=${spec##*:}
  { $vfy --json "$W/$f.pdf" || true; } | python3 -c "
import json, sys
r = json.load(sys.stdin)
sigs = r['signatures']
codes = sorted({c for s in sigs for c in s['reasons']})
print(f'  {sys.argv[1]}: {len(sigs)} signature(s), verdict {r[\"verdict\"]}', codes)
assert len(sigs) == int(sys.argv[2]), f'kyso verify: {len(sigs)} signatures, expected {sys.argv[2]}'
assert all(s['intact'] for s in sigs), 'kyso verify: a signature is not intact'
assert codes == ['REVOCATION_UNKNOWN'], f'kyso verify: reasons {codes}'
assert r['verdict'] == 'indeterminate', r['verdict']" "$f" "$n"
  py=$({ $pyv "$W/$f.pdf" 2>/dev/null || true; } | sed 's/:[0-9a-f]\{64\}:/:/')
  echo "$py" | sed 's/^/    pyhanko: /'
  ok=$(grep -c ':INTACT:TRUSTED' <<<"$py" || true)
  [ "$ok" -eq "$n" ] || { echo "pyhanko: $ok of $n signatures INTACT:TRUSTED" >&2; exit 1; }
done

echo "== verify 1-page PDF: kyso verify vs pyhanko sign validate (process start included)"
k=$(HF_IGNORE=1 hf v-one 30 "" "$vfy $W/1page-signed.pdf")
p=$(hf v-one-py 5 "" "$pyv $W/1page-signed.pdf")
echo "  kyso verify: $k ms; pyhanko sign validate: $p ms; pyHanko/kyso = $(ratio "$p" "$k")x"

echo "== verify 100 pages, 5 signatures in 5 revisions"
k=$(HF_IGNORE=1 hf v-100p 20 "" "$vfy $W/100p-5sig.pdf")
p=$(hf v-100p-py 3 "" "$pyv $W/100p-5sig.pdf")
echo "  kyso verify: $k ms; pyhanko sign validate: $p ms; pyHanko/kyso = $(ratio "$p" "$k")x"

echo "== verify 100 MB signed: kyso verify vs openssl dgst -sha256 (warm page cache)"
o=$(hf v-100mb-peer 10 "" "openssl dgst -sha256 $W/100mb-signed.pdf")
k=$(HF_IGNORE=1 hf v-100mb 10 "" "$vfy $W/100mb-signed.pdf")
echo "  openssl dgst -sha256: $o ms; kyso verify: $k ms, ratio $(ratio "$k" "$o")"
echo "  peak RSS kyso verify: $(rss $vfy "$W/100mb-signed.pdf") KB"
echo "  peak RSS openssl dgst: $(rss openssl dgst -sha256 "$W/100mb-signed.pdf") KB"
echo "  pyHanko CLI: $(hf v-100mb-py 3 "" "$pyv $W/100mb-signed.pdf") ms"
echo "  peak RSS pyHanko: $(rss $pyv "$W/100mb-signed.pdf") KB"
