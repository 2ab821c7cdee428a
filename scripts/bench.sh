#!/usr/bin/env bash
# Benchmarks of issue 2, each side by side with its peer in the same run (see BENCHMARKS.md).
#   bash scripts/bench.sh            # 1-page, batch, 100 MB
#   BIG=1 bash scripts/bench.sh      # also the 1 GB file
# Needs the test environment (bash scripts/setup-test-env.sh: hyperfine, pyHanko, openssl).
# Work files go to $BENCH_DIR (default /tmp/kyso-bench); the machine should be otherwise idle.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
W=${BENCH_DIR:-/tmp/kyso-bench}
mkdir -p "$W"
cargo build --release -q -p kyso
K=$root/target/release/kyso
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
hf() { local shell=(-N); [ -n "$3" ] && shell=(-S "$3"); rm -f "$W/$1.json"
       hyperfine --style none -w 1 -r "$2" "${shell[@]}" --export-json "$W/$1.json" "$4" \
         >/dev/null 2>&1
       python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['results'][0]['median']*1000, 1))" "$W/$1.json"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.3f}')" "$1" "$2"; }
rss() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -1; }

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
python3 - "$P12" "$W/pass.txt" "$W/batch" <<'PY'
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
