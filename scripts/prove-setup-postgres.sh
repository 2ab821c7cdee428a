#!/usr/bin/env bash
# Proves scripts/setup-postgres.sh on a fresh Debian without a PostgreSQL server: a minimal
# Debian bookworm (debootstrap --variant=minbase, cached as a tarball in ~/.cache/kyso so that
# reruns skip the bootstrap) is unpacked into a scratch folder, set up like a container (proc,
# a few device nodes, a policy-rc.d that forbids starting services from package scripts), and
# setup-postgres.sh runs in it with KYSO_PG_PORT=$PROVE_PG_PORT (default 5439). The chroot shares
# this machine's network, so the host then checks that the new cluster answers on that port
# (pg_isready, and `select 1` in the database test as postgres without a password). The
# cluster is stopped, everything is unmounted and the scratch folder removed, also on failure.
# This machine's own server (on 5432) is never touched. Needs root.
#
#   bash scripts/prove-setup-postgres.sh        # ~1 min with the cached rootfs
#   KYSO_DEBIAN_MIRROR=http://… PROVE_PG_PORT=5440 bash scripts/prove-setup-postgres.sh
set -euo pipefail
cd "$(dirname "$0")/.."

port=${PROVE_PG_PORT:-5439}
mirror=${KYSO_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache_dir=${KYSO_CACHE_DIR:-$HOME/.cache/kyso}
rootfs_tar="$cache_dir/debian-bookworm-minbase.tar.gz"
debs="$cache_dir/debian-bookworm-debs" # downloaded packages, kept between runs
start=$(date +%s)
say() { echo "prove-setup-postgres: $*"; }
fail() { echo "prove-setup-postgres: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, mount, chroot)"
case "$port" in '' | *[!0-9]*) fail "PROVE_PG_PORT must be a port number" ;; esac
[ "$port" != 5432 ] || fail "PROVE_PG_PORT must not be 5432 (this machine's server)"
if pg_isready -q -h 127.0.0.1 -p "$port" 2>/dev/null; then
  fail "something already answers on 127.0.0.1:$port; choose another PROVE_PG_PORT"
fi
command -v debootstrap >/dev/null 2>&1 || {
  say "apt-get install debootstrap"
  apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
}
command -v pg_isready >/dev/null 2>&1 || fail "pg_isready and psql (postgresql-client) are needed on this machine"

work=$(mktemp -d "${TMPDIR:-/var/tmp}/kyso-prove-pg.XXXXXX")
root="$work/root"
mounts=() # mounted by this script, in mount order

in_root() { chroot "$root" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

cleanup() {
  local rc=$?
  set +e
  # The cluster first: its processes hold the chroot's mounts.
  if [ -x "$root/usr/bin/pg_ctlcluster" ] && [ -d "$root/proc/self" ]; then
    for v in $(ls "$root/etc/postgresql" 2>/dev/null); do
      in_root pg_ctlcluster --skip-systemctl-redirect "$v" main stop -m fast >/dev/null 2>&1
    done
  fi
  # Anything else still running inside the chroot was started by this script.
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -9 "${p#/proc/}" 2>/dev/null
  done
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount "${mounts[i]}" || umount -l "${mounts[i]}" || { echo "prove-setup-postgres: could not unmount ${mounts[i]}" >&2; rc=1; }
  done
  if grep -q " $work" /proc/self/mounts; then
    echo "prove-setup-postgres: mounts left under $work, not removing it" >&2
    rc=1
  else
    rm -rf --one-file-system "$work"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mount_in() { # mount_in <mount args…> <target inside root>
  local target="$root${*: -1}"
  mount "${@:1:$#-1}" "$target"
  mounts+=("$target")
}

# 1. The fresh Debian: from the cache, or bootstrapped once and cached.
mkdir -p "$root"
if [ -s "$rootfs_tar" ]; then
  say "unpacking the cached Debian bookworm (minbase) from $rootfs_tar"
  tar -xzf "$rootfs_tar" -C "$root" --numeric-owner
else
  say "debootstrap --variant=minbase bookworm from $mirror (once; cached in $rootfs_tar)"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -30 "$work/debootstrap.log" >&2; fail "debootstrap"; }
  rm -rf "$root/var/cache/apt/archives/"*.deb
  mkdir -p "$cache_dir"
  tar -czf "$rootfs_tar.tmp" -C "$root" --numeric-owner --one-file-system .
  mv "$rootfs_tar.tmp" "$rootfs_tar"
fi
if [ -e "$root/etc/postgresql" ] || [ -e "$root/usr/bin/pg_ctlcluster" ]; then
  fail "the fresh root already has PostgreSQL"
fi

# 2. Like a container: proc, /dev with the usual nodes bound from the host and its own shm,
#    the host's name resolution, and no service started by a package's postinst.
mount_in -t proc proc /proc
mount_in -t tmpfs -o mode=755,size=1m kyso-dev /dev
for d in null zero full random urandom tty; do
  touch "$root/dev/$d"
  mount_in --bind "/dev/$d" "/dev/$d"
done
mkdir -p "$root/dev/shm" "$root/dev/pts"
mount_in -t tmpfs -o mode=1777,size=256m kyso-shm /dev/shm
mount_in -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts /dev/pts
ln -s pts/ptmx "$root/dev/ptmx"
ln -s /proc/self/fd "$root/dev/fd"
cp /etc/resolv.conf /etc/hosts "$root/etc/"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
mkdir -p "$debs/partial"
mount_in --bind "$debs" /var/cache/apt/archives

# 3. The script under test, as setup-test-env.sh runs it, but on $port.
cp scripts/setup-postgres.sh "$root/root/setup-postgres.sh"
say "running setup-postgres.sh in the chroot with KYSO_PG_PORT=$port"
t0=$(date +%s)
in_root env KYSO_PG_PORT="$port" bash /root/setup-postgres.sh 2>&1 | sed 's/^/  chroot| /' ||
  fail "setup-postgres.sh failed in the chroot"
say "setup-postgres.sh took $(($(date +%s) - t0)) s"

# 4. What must hold.
in_root dpkg -s postgresql >/dev/null 2>&1 || fail "the package postgresql is not installed in the chroot"
ver=$(ls "$root/etc/postgresql")
say "installed: postgresql $(in_root dpkg-query -W -f '${Version}' postgresql) (cluster $ver/main)"
grep -Eq "^port = $port\b" "$root/etc/postgresql/$ver/main/postgresql.conf" ||
  fail "the cluster's postgresql.conf does not set port = $port"
pg_isready -h 127.0.0.1 -p "$port" || fail "pg_isready -h 127.0.0.1 -p $port"
got=$(psql -h 127.0.0.1 -p "$port" -U postgres -d test -w -qtAc 'select 1') ||
  fail "psql -h 127.0.0.1 -p $port -U postgres -d test -c 'select 1'"
[ "$got" = 1 ] || fail "select 1 answered '$got'"
pid=$(head -1 "$root/var/lib/postgresql/$ver/main/postmaster.pid")
[ "$(readlink "/proc/$pid/root")" = "$root" ] || fail "the server on $port is not the chroot's (pid $pid)"
say "OK: the chroot's PostgreSQL $ver answers on 127.0.0.1:$port, database test, user postgres, trust"

# A second run finds the server running and changes nothing.
in_root env KYSO_PG_PORT="$port" bash /root/setup-postgres.sh >"$work/second.log" 2>&1 ||
  { cat "$work/second.log" >&2; fail "a second run of setup-postgres.sh failed"; }
[ ! -s "$work/second.log" ] || { cat "$work/second.log" >&2; fail "a second run did something"; }

# 5. Stop the cluster (cleanup unmounts and removes the scratch folder).
in_root pg_ctlcluster --skip-systemctl-redirect "$ver" main stop
for _ in $(seq 1 10); do pg_isready -q -h 127.0.0.1 -p "$port" || break; sleep 1; done
! pg_isready -q -h 127.0.0.1 -p "$port" || fail "the cluster still answers after stop"
say "ok in $(($(date +%s) - start)) s"
