# Sourced by the benchmarks that drive a live `kyso serve` (bench-intake.sh, bench-upload-rss.sh,
# bench-nodes.sh) or a Garage (bench-blobs.sh). They set $KYSO, $W (work folder), $port and $base
# first.

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_garage BUCKET: a one-node Garage (Garage 2.5.0 from scripts/setup-test-env.sh, or
# $KYSO_GARAGE) in $W/garage on free ports, with an imported key allowed on BUCKET; sets
# $garage (its pid, stopped by stop_garage), $s3_port, $key_id and $secret.
start_garage() {
  local bucket=$1 rpc admin
  GARAGE=${KYSO_GARAGE:-$HOME/.cache/kyso/garage/bin/garage}
  [ -x "$GARAGE" ] || { echo "needs Garage: bash scripts/setup-test-env.sh" >&2; exit 1; }
  rpc=$(free_port); s3_port=$(free_port); admin=$(free_port)
  mkdir -p "$W/garage"
  cat >"$W/garage/garage.toml" <<EOF
metadata_dir = "$W/garage/meta"
data_dir = "$W/garage/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$rpc"
rpc_secret = "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3_port"
root_domain = ".s3.garage.localhost"
[admin]
api_bind_addr = "127.0.0.1:$admin"
EOF
  RUST_LOG=garage=warn "$GARAGE" -c "$W/garage/garage.toml" server >"$W/garage/garage.log" 2>&1 &
  garage=$!
  for _ in $(seq 1 300); do g status >/dev/null 2>&1 && break; sleep 0.2; done
  g layout assign -z dc1 -c 10G "$(g node id -q | cut -d@ -f1)" >/dev/null
  g layout apply --version 1 >/dev/null
  key_id="GK$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  secret="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  g key import --yes -n bench "$key_id" "$secret" >/dev/null
  g bucket create "$bucket" >/dev/null
  g bucket allow --read --write --owner "$bucket" --key bench >/dev/null
}

# g ARGS: the Garage command line of start_garage's cluster.
g() { "$GARAGE" -c "$W/garage/garage.toml" "$@"; }

stop_garage() { [ -z "${garage:-}" ] || { kill "$garage" 2>/dev/null || true; wait "$garage" 2>/dev/null || true; garage=""; }; }

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
