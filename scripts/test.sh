#!/usr/bin/env bash
# The whole test suite — the README's test command, and exactly what .ci/run calls.
#
#   unit, property and integration tests (real binary, generated multi-hour streams)
#   rules check + rule unit tests of every shipped rule
#   benches compile; a short fuzz run of the event decoder and the expression parser
#
# FUZZ_SECONDS (default 20) sets the fuzz time per target; 0 skips fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "build"
cargo build --release --locked

step "tests (unit, property, integration)"
cargo test --release --locked

step "benches compile"
cargo bench --locked --no-run

bin="${CARGO_TARGET_DIR:-target}/release/llmwatch"
step "shipped rules are valid"
"$bin" rules check rules/

step "rule unit tests"
"$bin" rules test tests/rules/*.yaml

step "demo runs"
demo_out="$(mktemp -d)"
"$bin" demo --seconds 0 --out "$demo_out" | tail -n 12
rm -rf "$demo_out"

fuzz_seconds="${FUZZ_SECONDS:-20}"
if [ "$fuzz_seconds" -gt 0 ]; then
  step "fuzz (${fuzz_seconds}s per target)"
  scripts/fuzz.sh "$fuzz_seconds"
fi
