#!/usr/bin/env bash
# agree_fixture.sh DIR — everything crates/kyso/tests/cli/agree_pyhanko.rs compares, made once
# and reused (run it under `flock DIR.lock`: the test processes run in parallel):
#   DIR/pki           the certomancer PKI (scripts/peers/certomancer.sh), served on a free port
#                     chosen on first use (recorded in DIR/pki/port, which the certificates'
#                     CDP/AIA URLs name)
#   DIR/corpus        the pyHanko-signed corpus and its manifest.json (make_pyhanko_corpus.py)
#   DIR/pyhanko.jsonl pyHanko's validation of every corpus file, revocation checked online
#                     against certomancer (scripts/oracles/pyhanko_validate.py --online)
#   DIR/ready         written last
# Later runs only (re)start the server: it exits by itself after CERTOMANCER_IDLE_EXIT
# (default here 120) seconds without a request.
set -euo pipefail
H=$(cd "$(dirname "$0")" && pwd); W=$(cd "$H/../.." && pwd)
D=${1:?usage: agree_fixture.sh DIR}
export CERTOMANCER_IDLE_EXIT=${CERTOMANCER_IDLE_EXIT:-120}
if [ -e "$D/ready" ]; then
  # If the recorded port was taken meanwhile, start over on a new one.
  bash "$W/scripts/peers/certomancer.sh" start "$D/pki" >&2 && exit 0
  echo "agree_fixture.sh: cannot serve $D/pki again; making a new fixture" >&2
fi
[ -s "$D/pki/server.pid" ] && bash "$W/scripts/peers/certomancer.sh" stop "$D/pki" >&2 || true
rm -rf "$D"; mkdir -p "$D"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
bash "$W/scripts/peers/certomancer.sh" start "$D/pki" "$PORT" >&2
python3 "$H/make_pyhanko_corpus.py" "$D/corpus" --pki "$D/pki" >&2
python3 - "$D/corpus/manifest.json" > "$D/files.txt" <<'PY'
import json, os, sys
m = json.load(open(sys.argv[1]))
for f in m["files"]:
    print(os.path.join(os.path.dirname(sys.argv[1]), f["file"]))
PY
mapfile -t FILES < "$D/files.txt"
python3 "$W/scripts/oracles/pyhanko_validate.py" --online "$D/pki/root.pem" "${FILES[@]}" \
  > "$D/pyhanko.jsonl" 2> "$D/pyhanko.log"
touch "$D/ready"
