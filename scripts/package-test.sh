#!/usr/bin/env bash
# The Debian package: built with cargo-deb from the binary the test build already made (no
# second build: `--no-build --profile dev`; KYSO_DEB_PROFILE=release packages a release build),
# with the manual pages and shell completions that binary generates; installed with dpkg into
# a scratch root (KYSO_PACKAGE_INSTALL=system installs it on this machine instead, then removes
# it); then checked: kyso --version, the manual pages found by man, the completions, the default
# configuration parsed by kyso serve, and systemd-analyze verify on the kyso-serve unit.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

profile=${KYSO_DEB_PROFILE:-dev}
case $profile in dev) dir=debug ;; *) dir=$profile ;; esac
target=$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin=$target/$dir/kyso
# The dev profile: the binary the test build just linked (`cargo build` would link another one,
# the test build's feature set differing). Another profile is built here.
if [ "$profile" != dev ] || [ ! -x "$bin" ]; then
  cargo build -q -p kyso --locked --profile "$profile"
fi

echo "-- manual pages and completions from $bin"
gen=$target/$dir/packaging
rm -rf "$gen"
mkdir -p "$gen/man/en" "$gen/man/vi" "$gen/completions"
"$bin" --lang en man --dir "$gen/man/en" >/dev/null
"$bin" --lang vi man --dir "$gen/man/vi" >/dev/null
gzip -9n "$gen"/man/*/*.1
"$bin" completions bash >"$gen/completions/kyso.bash"
"$bin" completions zsh >"$gen/completions/_kyso"
"$bin" completions fish >"$gen/completions/kyso.fish"

echo "-- cargo deb"
rm -rf "$target/debian"
cargo deb -p kyso --no-build --profile "$profile" --fast --quiet -o "$target/debian/" >/dev/null
deb=$(ls "$target"/debian/kyso_*.deb)
dpkg-deb --info "$deb" | sed -n 's/^ \(Package\|Version\|Architecture\|Depends\|Installed-Size\):/  &/p'
listing=$(dpkg-deb --contents "$deb")
for f in ./usr/bin/kyso ./usr/share/man/man1/kyso.1.gz ./usr/share/man/man1/kyso-serve.1.gz \
  ./usr/share/man/vi/man1/kyso.1.gz ./usr/share/bash-completion/completions/kyso \
  ./usr/share/zsh/vendor-completions/_kyso ./usr/share/fish/vendor_completions.d/kyso.fish \
  ./usr/lib/systemd/system/kyso-serve.service ./etc/kyso/kyso.toml; do
  grep -q " $f\$" <<<"$listing" || { echo "not in the package: $f" >&2; exit 1; }
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx '/etc/kyso/kyso.toml' ||
  { echo "/etc/kyso/kyso.toml is not a conffile" >&2; exit 1; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if [ "${KYSO_PACKAGE_INSTALL:-root}" = system ]; then
  echo "-- dpkg -i (this machine)"
  dpkg -i "$deb" >/dev/null
  trap 'dpkg -P kyso >/dev/null || true; rm -rf "$scratch"' EXIT
  root=/
else
  echo "-- dpkg -i into a scratch root"
  root=$scratch/root
  mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
  touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
  # The scratch root has no libc package: its dependencies are this machine's.
  dpkg --root="$root" --force-not-root --force-depends --force-script-chrootless \
    --log=/dev/null -i "$deb" >"$scratch/dpkg.log" 2>&1 || { cat "$scratch/dpkg.log" >&2; exit 1; }
  dpkg --root="$root" -s kyso | grep -q '^Status: install ok installed'
fi
kyso=$root/usr/bin/kyso

echo "-- kyso --version"
version=$("$kyso" --version)
echo "  $version"
[ "$version" = "kyso $(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json, sys; print([p for p in json.load(sys.stdin)["packages"] if p["name"] == "kyso"][0]["version"])')" ]

echo "-- man"
MANPATH=$root/usr/share/man man -w kyso | grep -qx "$root/usr/share/man/man1/kyso.1.gz"
MANPATH=$root/usr/share/man man -w kyso-audit-verify >/dev/null
man -M "$root/usr/share/man/vi" -w kyso | grep -qx "$root/usr/share/man/vi/man1/kyso.1.gz"
warnings=$(zcat "$root/usr/share/man/man1/kyso-sign.1.gz" | groff -man -Tutf8 -k -ww -z 2>&1)
[ -z "$warnings" ] || { echo "groff: $warnings" >&2; exit 1; }

echo "-- completions"
bash -n "$root/usr/share/bash-completion/completions/kyso"
grep -q 'kyso' "$root/usr/share/zsh/vendor-completions/_kyso"
grep -q 'complete -c kyso' "$root/usr/share/fish/vendor_completions.d/kyso.fish"

echo "-- the default configuration starts kyso serve"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
KYSO_DATA_DIR=$scratch/data KYSO_LISTEN=127.0.0.1:$port "$kyso" serve --config "$root/etc/kyso/kyso.toml" \
  >"$scratch/serve.log" 2>&1 &
serve=$!
up=
for _ in $(seq 1 120); do
  if curl -fs -o /dev/null "http://127.0.0.1:$port/healthz"; then up=1; break; fi
  kill -0 "$serve" 2>/dev/null || break
  sleep 0.5
done
kill "$serve" 2>/dev/null || true
wait "$serve" 2>/dev/null || true
[ -n "$up" ] || { echo "kyso serve did not start with the packaged configuration:" >&2; cat "$scratch/serve.log" >&2; exit 1; }

echo "-- systemd-analyze verify kyso-serve.service"
unit=$root/usr/lib/systemd/system/kyso-serve.service
if [ "$root" != / ]; then
  # The unit as installed, its ExecStart pointing into the scratch root (systemd-analyze checks
  # that the program exists) and man finding its Documentation= pages there.
  sed "s#^ExecStart=/usr/bin/kyso #ExecStart=$root/usr/bin/kyso #" "$unit" >"$scratch/kyso-serve.service"
  unit=$scratch/kyso-serve.service
fi
out=$(MANPATH=$root/usr/share/man systemd-analyze verify "$unit" 2>&1) || {
  echo "$out" >&2
  exit 1
}
if [ -n "$out" ]; then echo "$out" >&2; exit 1; fi

echo "package test: ok ($(($(date +%s) - started)) s, $(du -h "$deb" | cut -f1) $(basename "$deb"))"
