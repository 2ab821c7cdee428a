#!/usr/bin/env bash
# The one command that sets up and runs every check and test: formatting, lints, the test
# suite (unit, integration with the real binary, independent validators), and cargo-deny.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-test-env.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== rust-version (the declared minimum covers the locked dependencies)"
bash scripts/check-rust-version.sh

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== tests"
# The store and API tests run on SQLite and on this PostgreSQL (required: a missing server fails).
export KYSO_TEST_POSTGRES=${KYSO_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}
# Every check must run: a missing tool (pyHanko, pdfsig, openssl, qpdf, PostgreSQL, the
# browser…) fails its test instead of skipping it (kyso_testkit). Without this switch a skip
# is listed in the skip log, printed below.
export KYSO_REQUIRE_ALL=${KYSO_REQUIRE_ALL:-1}
export KYSO_SKIP_LOG=${KYSO_SKIP_LOG:-$PWD/target/kyso-skips.log}
rm -f "$KYSO_SKIP_LOG"
cargo nextest run --workspace --locked --no-fail-fast
cargo test --workspace --locked --doc -q

echo "== Debian package (from the test build's binary; installed into a scratch root)"
bash scripts/package-test.sh

# The setup's PostgreSQL section on a machine without a server: a fresh Debian in a chroot
# (debootstrap, cached in ~/.cache/kyso; about 50 s cached) on port 5439, this machine's 5432 untouched.
echo "== PostgreSQL setup proven on a fresh Debian (scripts/prove-setup-postgres.sh)"
bash scripts/prove-setup-postgres.sh

# The REST API against a live kyso serve (demo data, SQLite): no 5xx, no status or body
# outside the OpenAPI document (a few minutes; SCHEMATHESIS_EXAMPLES per operation).
echo "== schemathesis"
bash scripts/schemathesis.sh
if [ -s "$KYSO_SKIP_LOG" ]; then
  echo "== skipped checks ($(wc -l <"$KYSO_SKIP_LOG")): test, what was missing"
  sort "$KYSO_SKIP_LOG"
fi

echo "== fuzz targets (built with sanitizers, run briefly)"
FUZZ_SECONDS=${FUZZ_SECONDS:-15} bash scripts/fuzz.sh

echo "== cargo deny"
bash scripts/deny.sh
