#!/usr/bin/env bash
# PostgreSQL for the tests (called by scripts/setup-test-env.sh): the store and API tests run on
# it as well as on SQLite, at postgres://postgres@127.0.0.1:$KYSO_PG_PORT/test (trust auth).
#
# - KYSO_TEST_POSTGRES set: the tests use that server; nothing is done here.
# - A server answers on 127.0.0.1:$KYSO_PG_PORT: only the database `test` is made if missing.
# - Installed but stopped: its clusters are started.
# - Not installed: Debian's postgresql is installed, the main cluster is set to listen on
#   $KYSO_PG_PORT (the package's postinst makes it on 5432 or the next free port), local TCP
#   connections of the user postgres are trusted, and it is started.
#
# KYSO_PG_PORT (default 5432) lets scripts/prove-setup-postgres.sh run this in a fresh Debian
# chroot beside a machine's own server on 5432.
set -euo pipefail

port=${KYSO_PG_PORT:-5432}
case "$port" in '' | *[!0-9]*) echo "setup: KYSO_PG_PORT must be a port number, not '$port'" >&2; exit 1 ;; esac

[ -z "${KYSO_TEST_POSTGRES:-}" ] || exit 0

answers() { pg_isready -q -h 127.0.0.1 -p "$port" 2>/dev/null; }

if ! answers; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    echo "setup: apt-get install postgresql (no server answers on 127.0.0.1:$port)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    for v in $(ls /etc/postgresql); do
      [ -d "/etc/postgresql/$v/main" ] || pg_createcluster -p "$port" "$v" main >/dev/null
      # The postinst chose the port when it made the cluster; the tests want $port.
      pg_conftool "$v" main set port "$port"
      hba="/etc/postgresql/$v/main/pg_hba.conf"
      grep -q '^# kyso tests' "$hba" || sed -i '1i # kyso tests: the test database on loopback, no password\nhost all postgres 127.0.0.1/32 trust' "$hba"
    done
  fi
  for v in $(ls /etc/postgresql 2>/dev/null); do
    echo "setup: starting PostgreSQL $v"
    pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
  done
  for _ in $(seq 1 20); do answers && break; sleep 1; done
  answers || { echo "setup: PostgreSQL does not answer on 127.0.0.1:$port" >&2; exit 1; }
fi
if ! psql -h 127.0.0.1 -p "$port" -U postgres -d test -qtAc 'SELECT 1' >/dev/null 2>&1; then
  echo "setup: creating the database test"
  psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc 'CREATE DATABASE test' >/dev/null
fi
