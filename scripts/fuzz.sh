#!/usr/bin/env bash
# Build every cargo-fuzz target and run each for FUZZ_SECONDS (default 15) from the committed
# seed corpus (copied, so the repository is not touched). Fails on any crash, panic, leak or
# timeout. Every target of fuzz/Cargo.toml runs (cargo fuzz list), among them the services'
# inputs: csc_requests (every CSC endpoint's body through kyso_services::csc::check_body) and
# agent_messages (the agent's WebSocket frames through agent::protocol::parse_operation).
# The machine's only toolchain is stable: RUSTC_BOOTSTRAP lets cargo-fuzz pass its sanitizer
# flags. Run longer by hand: FUZZ_SECONDS=600 bash scripts/fuzz.sh pdf_document
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked -q cargo-fuzz
export RUSTC_BOOTSTRAP=1
secs=${FUZZ_SECONDS:-15}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
for t in "${targets[@]}"; do cargo fuzz build -O "$t"; done
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
for t in "${targets[@]}"; do
  mkdir -p "$work/$t"; cp -r "corpus/$t/." "$work/$t/" 2>/dev/null || true
  echo "== fuzz $t (${secs}s)"
  rc=0
  cargo fuzz run -O "$t" "$work/$t" -- -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 >"$work/$t.log" 2>&1 || rc=$?
  grep -E '^(stat::number_of_executed_units|Done)' "$work/$t.log" || true
  if [ $rc -ne 0 ]; then tail -60 "$work/$t.log" >&2; echo "fuzz target $t failed" >&2; exit 1; fi
done
