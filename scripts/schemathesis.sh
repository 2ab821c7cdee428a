#!/usr/bin/env bash
# Property-based tests of the REST API against a live `kyso serve` (the real binary, the demo
# province, SQLite): schemathesis reads the served OpenAPI document, generates valid and
# invalid requests for every operation and fails on a 5xx, a status the document does not
# list, or a body outside its schema. Needs schemathesis (scripts/setup-test-env.sh).
#
#   bash scripts/schemathesis.sh            # 40 examples per operation, a fixed seed
#   SCHEMATHESIS_EXAMPLES=200 SCHEMATHESIS_SEED=$RANDOM bash scripts/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."

EXAMPLES=${SCHEMATHESIS_EXAMPLES:-40}
SEED=${SCHEMATHESIS_SEED:-20261206}
KYSO=${KYSO_BIN:-target/debug/kyso}

# The Python that pyHanko and schemathesis were installed into (scripts/setup-test-env.sh).
python3 -m schemathesis.cli --version >/dev/null 2>&1 || {
  echo "schemathesis.sh: schemathesis is not installed (bash scripts/setup-test-env.sh)" >&2
  exit 1
}
[ -n "${KYSO_BIN:-}" ] || cargo build -q --locked -p kyso

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
KYSO_LANG=en "$KYSO" serve --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do
  curl -fsS -o /dev/null "$base/api/openapi.json" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.5
done
curl -fsS -o /dev/null "$base/api/openapi.json" || { cat "$work/serve.log" >&2; exit 1; }

# The demo's first administrator: its one-time password (printed once), changed, then an API
# token for the run.
admin=$(sed -n 's/^First administrator: \([^ ]*\) .*/\1/p' "$work/serve.log" | head -n 1)
first=$(sed -n 's/.*one-time password: \([^ ]*\).*/\1/p' "$work/serve.log" | head -n 1)
if [ -z "$admin" ] || [ -z "$first" ]; then
  echo "schemathesis.sh: no administrator and one-time password in the server's output" >&2
  cat "$work/serve.log" >&2
  exit 1
fi
json() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
session=$(curl -fsS -H 'Content-Type: application/json' \
  -d "{\"username\": \"$admin\", \"password\": \"$first\"}" "$base/api/v1/auth/login" | json token)
password="schemathesis-$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
curl -fsS -o /dev/null -H "Authorization: Bearer $session" -H 'Content-Type: application/json' \
  -d "{\"old_password\": \"$first\", \"new_password\": \"$password\"}" "$base/api/v1/me/password"
token=$(curl -fsS -H "Authorization: Bearer $session" -H 'Content-Type: application/json' \
  -d '{"name": "schemathesis", "days": 1}' "$base/api/v1/tokens" | json token)

run() {
  python3 -m schemathesis.cli --no-color run "$base/api/openapi.json" \
    --url "$base" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --max-examples "$EXAMPLES" \
    --seed "$SEED" \
    --workers 1 \
    --request-timeout 30 \
    --suppress-health-check all \
    "$@"
}
echo "== schemathesis: $EXAMPLES examples per operation, seed $SEED, $base"
start=$(date +%s)
status=0
# Revoking API tokens last: a generated id may be the run's own token.
run --exclude-operation-id revoke_token || status=$?
run --include-operation-id revoke_token || status=$?
echo "== schemathesis: $(($(date +%s) - start)) s, exit $status"
if ! kill -0 "$server" 2>/dev/null; then
  echo "schemathesis.sh: the server is no longer running" >&2
  cat "$work/serve.log" >&2
  exit 1
fi
if grep -q "panicked" "$work/serve.log"; then
  echo "schemathesis.sh: the server panicked" >&2
  grep -A5 "panicked" "$work/serve.log" >&2
  exit 1
fi
exit "$status"
