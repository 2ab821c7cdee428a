# Sourced by the benchmarks that drive a live `kyso serve` (bench-intake.sh, bench-upload-rss.sh).
# They set $KYSO, $W (work folder), $port and $base first.

# serve_with_demo_pki LOG [ARGS…]: a fresh $W/data (every server of a run starts from the same
# demo PKI, made by the first, so files signed once chain to each server's trusted demo root),
# "$KYSO" serve on $port with ARGS, logging to LOG; sets $server and waits for /healthz.
# Then TOKEN: the first administrator's API token (one-time password → new password → token),
# and the demo PKI is kept in $W/pki for the next server.
serve_with_demo_pki() {
  local log=$1
  shift
  rm -rf "$W/data"
  if [ -d "$W/pki" ]; then mkdir -p "$W/data"; cp -r "$W/pki" "$W/data/demo-pki"; fi
  "$KYSO" serve --lang en --listen "127.0.0.1:$port" --data-dir "$W/data" "$@" >"$log" 2>&1 &
  server=$!
  for _ in $(seq 1 480); do
    curl -fsS -o /dev/null "$base/healthz" 2>/dev/null && break
    kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.25
  done
  local otp
  otp=$(sed -n 's/.*one-time password: \([^ ]*\).*/\1/p' "$log" | head -1)
  TOKEN=$(OTP=$otp BASE=$base python3 - <<'EOF'
import json, os, urllib.request
base = os.environ["BASE"]
def call(path, body, token=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        text = r.read()
        return json.loads(text) if text else {}
new = "Bench-mat-khau-2026"
s = call("/api/v1/auth/login", {"username": "admin", "password": os.environ["OTP"]})
call("/api/v1/me/password", {"old_password": os.environ["OTP"], "new_password": new}, s["token"])
s = call("/api/v1/auth/login", {"username": "admin", "password": new})
t = call("/api/v1/tokens", {"name": "bench", "days": 1}, s["token"])
print(t["token"])
EOF
)
  [ -d "$W/pki" ] || cp -r "$W/data/demo-pki" "$W/pki"
}
