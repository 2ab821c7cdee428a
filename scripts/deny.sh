#!/usr/bin/env bash
# cargo-deny over the workspace and over fuzz/ (its own lock file): RustSec advisories, bans,
# licences and sources.
#
# The advisory database is taken, in this order, from
#   1. its upstream git repository (`cargo deny fetch db`), where that can be reached;
#   2. the snapshot beside the project (../shared/advisory-db, or $KYSO_ADVISORY_SNAPSHOT),
#      copied into cargo-deny's database folder as a one-commit git repository dated with the
#      snapshot's date (cargo-deny reads a git repository);
#   3. a database already in cargo-deny's folder from an earlier run.
# With none of them the advisories cannot be checked: under CI (CI=true) that fails; elsewhere
# it is said loudly and the other checks still run.
#
# When the check ran on an installed snapshot, a self-test follows: a scratch copy of that
# snapshot with one made-up advisory against a crate in Cargo.lock must make cargo-deny fail.
set -euo pipefail
cd "$(dirname "$0")/.."

db_root="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
snapshot="${KYSO_ADVISORY_SNAPSHOT:-../shared/advisory-db}"
manifests=(Cargo.toml fuzz/Cargo.toml)

for m in "${manifests[@]}"; do cargo fetch --locked -q --manifest-path "$m"; done

# Where cargo-deny (this version, this config) looks for the database: it logs the path at
# debug level whether or not the folder exists.
db_path_for() { # CONFIG
  cargo deny -L debug --offline --config "$1" check advisories 2>&1 |
    sed -n "s/.*Opening advisory database at '\([^']*\)'.*/\1/p" | head -n1 || true
}

# Copy snapshot SRC into DEST as a one-commit git repository dated with the snapshot's date.
install_snapshot() { # SRC DEST
  local src=$1 dest=$2 date commit
  date=$(sed -n 's/.* of \([0-9]\{4\}-[0-9]\{2\}-[0-9]\{2\}\)\..*/\1/p' "$src/SNAPSHOT.md" | head -n1)
  commit=$(grep -o '[0-9a-f]\{40\}' "$src/SNAPSHOT.md" | head -n1 || true)
  [ -n "$date" ] || { echo "deny: no date in $src/SNAPSHOT.md" >&2; return 1; }
  rm -rf "$dest.tmp"
  mkdir -p "$dest.tmp"
  cp -r "$src/." "$dest.tmp/"
  (
    cd "$dest.tmp"
    export GIT_AUTHOR_DATE="${date}T00:00:00Z" GIT_COMMITTER_DATE="${date}T00:00:00Z"
    git init -q -b main .
    git add -A
    git -c user.name=kyso -c user.email=kyso@localhost commit -q \
      -m "RustSec advisory-db snapshot ${commit:-?} of $date"
  )
  echo "${commit:-?} $date" >"$dest.tmp/.git/kyso-snapshot"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
}

snapshot_id() { # SRC: what a copy made from it records
  echo "$(grep -o '[0-9a-f]\{40\}' "$1/SNAPSHOT.md" | head -n1 || echo '?') \
$(sed -n 's/.* of \([0-9]\{4\}-[0-9]\{2\}-[0-9]\{2\}\)\..*/\1/p' "$1/SNAPSHOT.md" | head -n1)"
}

db_path=$(db_path_for deny.toml)
[ -n "$db_path" ] || { echo "deny: cannot tell where cargo-deny keeps its database" >&2; exit 1; }
# A copy made from a snapshot has no upstream to fetch from: set it aside while fetching.
[ -f "$db_path/.git/kyso-snapshot" ] && { rm -rf "$db_path.snapshot"; mv "$db_path" "$db_path.snapshot"; }
source_used=""
if timeout 60 cargo deny fetch db >/dev/null 2>&1; then
  source_used="upstream"
  rm -rf "$db_path.snapshot"
else
  if [ -d "$db_path.snapshot" ]; then rm -rf "$db_path"; mv "$db_path.snapshot" "$db_path"; fi
  if [ -f "$snapshot/SNAPSHOT.md" ] && [ -d "$snapshot/crates" ]; then
    if [ "$(cat "$db_path/.git/kyso-snapshot" 2>/dev/null)" != "$(snapshot_id "$snapshot")" ]; then
      install_snapshot "$snapshot" "$db_path"
    fi
    source_used="snapshot $(cat "$db_path/.git/kyso-snapshot")"
  elif [ -d "$db_path/crates" ]; then
    source_used="earlier copy at $db_path"
  fi
fi

checks=(advisories bans licenses sources)
if [ -z "$source_used" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "deny: the RustSec advisory database can be neither fetched nor found (no snapshot at $snapshot): failing under CI" >&2
    exit 1
  fi
  echo "WARNING: the RustSec advisory database can be neither fetched nor found; advisories NOT checked" >&2
  checks=(bans licenses sources)
else
  echo "deny: advisories from the RustSec database ($source_used)"
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# fuzz/ uses a subset of the workspace's licences: the allow-list is held to "only what is
# used" by the workspace run; the fuzz run may leave some of it unused.
sed 's/^unused-allowed-license = "deny"$/unused-allowed-license = "allow"/' deny.toml >"$scratch/fuzz-deny.toml"
echo "deny: Cargo.toml"
cargo deny --offline --manifest-path Cargo.toml --config deny.toml check --hide-inclusion-graph "${checks[@]}"
echo "deny: fuzz/Cargo.toml"
cargo deny --offline --manifest-path fuzz/Cargo.toml --config "$scratch/fuzz-deny.toml" check --hide-inclusion-graph "${checks[@]}"

# Self-test: the advisory check is live. A made-up advisory against a crate kyso's signing
# path compiles (der) must fail the check and be named in its output.
if [[ "$source_used" == snapshot* ]]; then
  sed "s|^\[advisories\]$|[advisories]\ndb-path = \"$scratch/dbs\"|" deny.toml >"$scratch/deny.toml"
  cp -r "$snapshot" "$scratch/snapshot"
  mkdir -p "$scratch/snapshot/crates/der"
  cat >"$scratch/snapshot/crates/der/RUSTSEC-2099-0001.md" <<'MD'
```toml
[advisory]
id = "RUSTSEC-2099-0001"
package = "der"
date = "2099-01-01"
url = "https://example.invalid/kyso-deny-self-test"
categories = ["crypto-failure"]

[versions]
patched = []
```

# kyso self-test: a made-up advisory

Not a real advisory: scripts/deny.sh adds it to a scratch copy of the database to show that an
advisory against a crate in Cargo.lock fails the check.
MD
  scratch_db=$(db_path_for "$scratch/deny.toml")
  install_snapshot "$scratch/snapshot" "$scratch_db"
  if out=$(cargo deny --offline --config "$scratch/deny.toml" check advisories 2>&1); then
    echo "$out" >&2
    echo "deny: self-test FAILED: an advisory against der did not fail the check" >&2
    exit 1
  fi
  if ! grep -q "RUSTSEC-2099-0001" <<<"$out"; then
    echo "$out" >&2
    echo "deny: self-test FAILED: the check failed without naming the advisory" >&2
    exit 1
  fi
  echo "deny: self-test passed (a made-up advisory against der fails the check)"
fi
