#!/usr/bin/env bash
# The one command that sets up and runs every check and test: formatting, lints, the test
# suite (unit, integration with the real binary, independent validators), and cargo-deny.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-test-env.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== tests"
# The store and API tests run on SQLite and on this PostgreSQL (required: a missing server fails).
export KYSO_TEST_POSTGRES=${KYSO_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}
# The browser test (Playwright + Debian's chromium) must run, not skip.
export KYSO_E2E_REQUIRED=1
cargo nextest run --workspace --locked --no-fail-fast
cargo test --workspace --locked --doc -q

echo "== fuzz targets (built with sanitizers, run briefly)"
FUZZ_SECONDS=${FUZZ_SECONDS:-15} bash scripts/fuzz.sh

echo "== cargo deny"
bash scripts/deny.sh
