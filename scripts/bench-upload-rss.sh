#!/usr/bin/env bash
# Issue 18 "Speed", uploads held in memory or not (BENCHMARKS.md): the server's peak RSS
# (VmHWM of the `kyso serve` process) before and after one upload of a signed LARGE_MB PDF to
# each route that takes a document to check or sign, each on a fresh release server (SQLite,
# the demo province) warmed by one small request first, so the growth is the upload's:
#   - `POST /kiem-tra` (the public page's multipart form),
#   - `POST /api/v1/verify` (the PDF as the body),
#   - `POST /api/v1/sign/prepare`: the form (`request` JSON + `file`) when the server takes it,
#     else the JSON body with the file in base64 (older servers).
# Every answer must be 200/201. Run it against two builds to compare:
#   bash scripts/bench-upload-rss.sh
#   NO_BUILD=1 BIN_DIR=DIR LARGE_MB=50 bash scripts/bench-upload-rss.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
W=${BENCH_DIR:-/tmp/kyso-bench-upload-rss}
LARGE_MB=${LARGE_MB:-50}
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p kyso
T=${BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/release}
KYSO="$T/kyso"
rm -rf "$W"; mkdir -p "$W"
server=""
stop_server() { [ -z "$server" ] || { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""; }; }
trap stop_server EXIT
echo "$(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg); release build $KYSO; tree $(git describe --always --dirty 2>/dev/null || echo '?')"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$server/status"; }

# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
start_server() { # → $server, $TOKEN (the first administrator's API token)
  serve_with_demo_pki "$W/serve.log"
}

# The files: a signed 1-page letter (the warm-up) and a signed LARGE_MB scanned annex.
start_server
stop_server
KYSO_BENCH_P12=kyso-demo "$KYSO" sign tests/corpus/one-page.pdf -o "$W/small.pdf" \
  --p12 "$W/pki/personal.p12" --password-env KYSO_BENCH_P12 --invisible >/dev/null
python3 tests/bench/make_large.py "$W/large-draft.pdf" "$LARGE_MB"
KYSO_BENCH_P12=kyso-demo "$KYSO" sign "$W/large-draft.pdf" -o "$W/large.pdf" \
  --p12 "$W/pki/personal.p12" --password-env KYSO_BENCH_P12 --kind attachment --invisible >/dev/null
openssl pkcs12 -in "$W/pki/personal.p12" -passin pass:kyso-demo -nokeys -clcerts 2>/dev/null \
  | openssl x509 >"$W/personal.pem"
size=$(stat -c %s "$W/large.pdf")
echo "large file: $size bytes"

# The prepare request for FILE: a form when the server has the form variant, else JSON.
prepare() { # FILE → curl's "STATUS SECONDS"
  local cert req
  cert=$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$W/personal.pem")
  req="{\"certificate\": $cert}"
  if curl -fsS "$base/api/openapi.json" | grep -q '"PrepareUpload"'; then
    curl -sS -o "$W/answer" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $TOKEN" \
      -F "request=$req;type=application/json" -F "file=@$1;type=application/pdf" \
      "$base/api/v1/sign/prepare"
  else
    python3 - "$1" "$W/personal.pem" >"$W/prepare.json" <<'EOF'
import base64, json, sys
print(json.dumps({"certificate": open(sys.argv[2]).read(),
                  "file_base64": base64.b64encode(open(sys.argv[1], "rb").read()).decode()}))
EOF
    curl -sS -o "$W/answer" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $TOKEN" \
      -H 'Content-Type: application/json' --data-binary "@$W/prepare.json" \
      "$base/api/v1/sign/prepare"
  fi
}

one() { # ROUTE FILE → "STATUS SECONDS"
  case $1 in
    page) curl -sS -o "$W/answer" -w '%{http_code} %{time_total}' \
            -F "file=@$2;type=application/pdf" "$base/kiem-tra" ;;
    api) curl -sS -o "$W/answer" -w '%{http_code} %{time_total}' \
            -H 'Content-Type: application/pdf' --data-binary "@$2" "$base/api/v1/verify" ;;
    prepare) prepare "$2" ;;
  esac
}

status=0
cat "$W/large.pdf" >/dev/null # warm page cache
for route in page api prepare; do
  start_server
  warm=$(one "$route" "$W/small.pdf")
  before=$(hwm)
  out=$(one "$route" "$W/large.pdf")
  after=$(hwm)
  leftovers=$(find "$W/data/blobs/tmp" -type f 2>/dev/null | wc -l)
  label="POST /kiem-tra"
  [ "$route" != api ] || label="POST /api/v1/verify"
  [ "$route" != prepare ] || label="POST /api/v1/sign/prepare"
  echo "$label, ${LARGE_MB} MB: answer ${out% *} in ${out#* } s (warm-up ${warm% *}), server VmHWM $before kB -> $after kB (+$(((after - before) / 1024)) MB), temporary files left: $leftovers"
  case "${out% *}" in 200|201) ;; *) head -c 600 "$W/answer"; echo; status=1 ;; esac
  grep -q panicked "$W/serve.log" && { echo "the server panicked" >&2; status=1; }
  stop_server
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
