#!/usr/bin/env bash
# cargo-deny: advisories, bans, licenses, sources.
# The RustSec advisory database is normally fetched from its upstream git repository. Where
# that is unreachable (closed build networks), a copy placed in cargo-deny's database folder
# is used offline. If neither is available the advisory check cannot run: we say so loudly and
# still run the other three checks.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fetch --locked -q
db_dir="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
if compgen -G "$db_dir/advisory-db-*/crates" >/dev/null; then
  cargo deny --offline check
elif timeout 120 cargo deny fetch db >/dev/null 2>&1; then
  cargo deny --offline check
else
  echo "WARNING: the RustSec advisory database cannot be fetched here; advisories NOT checked" >&2
  cargo deny --offline check bans licenses sources
fi
