#!/usr/bin/env bash
# The certomancer test PKI (tests/peers/certomancer.yml): keys, certificates, PKCS#12 files and
# the live services (TSA, OCSP, CRLs, certificate repository) on 127.0.0.1:PORT.
#
#   certomancer.sh init  DIR PORT   make DIR/keys (generated here, once), DIR/certs, DIR/p12
#   certomancer.sh start DIR PORT   init if needed, then serve in the background (idempotent:
#                                   if this DIR's server already runs, just check it answers)
#   certomancer.sh stop  DIR [PORT] stop DIR's server
#   certomancer.sh status DIR [PORT]
#
# What DIR holds after init (the paths tests and benchmarks use):
#   keys/LABEL.key.pem     private keys (PKCS#8 PEM, unencrypted), made with openssl genpkey:
#                          RSA-2048 for every entity except ecdsa (EC P-256)
#   certs/LABEL.cert.pem   certificates (certomancer mass-summon --flat), LABEL in: root inter
#                          personal ecdsa org revoked tsa ocsp
#   certs/LABEL.pfx        PKCS#12 (key, certificate, chain), password in p12-password.txt
#   root.pem               the trust anchor (= certs/root.cert.pem)
#   chain.pem              inter then root
#   port                   the PORT the certificates' CDP/AIA URLs point at
#   server.pid, server.log while serving
#
# The certificates' CRL distribution points and AIA (OCSP, caIssuers) URLs point at
# http://127.0.0.1:PORT, so a DIR is tied to its PORT: init records it and start refuses
# another. Services (see tests/peers/certomancer.yml):
#   TSA   http://127.0.0.1:PORT/kyso-demo/tsa/tsa
#   OCSP  http://127.0.0.1:PORT/kyso-demo/ocsp/{inter,root}   (POST, or GET per RFC 6960 A.1)
#   CRLs  http://127.0.0.1:PORT/kyso-demo/crls/{inter,root}/latest.crl
#   certs http://127.0.0.1:PORT/kyso-demo/certs/{inter,root}/ca.crt
#
# Environment: CERTOMANCER_IDLE_EXIT=SECONDS makes the server exit after that long without a
# request (the tests use it so that no server outlives them for long; default 0 = never).
# Needs certomancer 0.16 and openssl (bash scripts/setup-test-env.sh); binds 127.0.0.1 only.
set -euo pipefail
H=$(cd "$(dirname "$0")" && pwd)
CONFIG=$H/../../tests/peers/certomancer.yml
ARCH=kyso-demo
P12_PASSWORD=kyso-peers-123456
LABELS="root inter personal ecdsa org revoked tsa ocsp"

usage() { echo "usage: certomancer.sh init|start|stop|status DIR [PORT]" >&2; exit 3; }
[ $# -ge 2 ] || usage
CMD=$1; mkdir -p "$2"; D=$(cd "$2" && pwd); PORT=${3:-}
[ -z "$PORT" ] && [ -s "$D/port" ] && PORT=$(cat "$D/port")

alive() { [ -s "$D/server.pid" ] && kill -0 "$(cat "$D/server.pid")" 2>/dev/null; }
answers() { curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/$ARCH/certs/root/ca.crt"; }

init() {
  [ -n "$PORT" ] || usage
  if [ -s "$D/port" ] && [ "$(cat "$D/port")" != "$PORT" ]; then
    echo "certomancer.sh: $D was made for port $(cat "$D/port"), not $PORT" >&2; exit 3
  fi
  [ -s "$D/root.pem" ] && return 0
  mkdir -p "$D/keys"
  for k in $LABELS; do
    f=$D/keys/$k.key.pem
    [ -s "$f" ] && continue
    if [ "$k" = ecdsa ]; then
      openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$f.tmp" 2>/dev/null
    else
      openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$f.tmp" 2>/dev/null
    fi
    mv "$f.tmp" "$f"
  done
  rm -rf "$D/certs"
  certomancer --config "$CONFIG" --key-root "$D/keys" \
    --service-url-prefix "http://127.0.0.1:$PORT" \
    mass-summon --flat --pfx-pass "$P12_PASSWORD" "$ARCH" "$D/certs" >/dev/null
  echo "$P12_PASSWORD" > "$D/p12-password.txt"
  cat "$D/certs/inter.cert.pem" "$D/certs/root.cert.pem" > "$D/chain.pem"
  echo "$PORT" > "$D/port"
  cp "$D/certs/root.cert.pem" "$D/root.pem"   # last: its presence means init finished
}

start() {
  init
  if alive; then
    answers && { echo "certomancer already serving $D on 127.0.0.1:$PORT (pid $(cat "$D/server.pid"))"; return 0; }
  fi
  nohup python3 "$H/certomancer_serve.py" "$CONFIG" "$D/keys" "$PORT" \
    --idle-exit "${CERTOMANCER_IDLE_EXIT:-0}" > "$D/server.log" 2>&1 < /dev/null 9>&- &
  echo $! > "$D/server.pid"
  for _ in $(seq 100); do
    answers && { echo "certomancer serving $D on 127.0.0.1:$PORT (pid $(cat "$D/server.pid"))"; return 0; }
    alive || break
    sleep 0.1
  done
  echo "certomancer.sh: the server did not start; see $D/server.log:" >&2
  tail -n 20 "$D/server.log" >&2 || true
  exit 1
}

stop() {
  if alive; then kill "$(cat "$D/server.pid")"; echo "stopped"; else echo "not running"; fi
  rm -f "$D/server.pid"
}

# One command at a time per DIR (tests run in parallel processes).
exec 9> "$D/.lock"
flock 9
case "$CMD" in
  init) init ;;
  start) start ;;
  stop) stop ;;
  status) if alive && answers; then echo "serving on 127.0.0.1:$PORT"; else echo "not running"; exit 1; fi ;;
  *) usage ;;
esac
