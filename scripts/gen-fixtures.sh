#!/usr/bin/env bash
# Regenerates the rule-test fixtures under tests/rules/fixtures/ with `llmwatch generate`.
# Deterministic (fixed seeds, own PRNG): running it again gives the same events. (The
# committed files were written before JSON keys kept their order, so the first re-run
# rewrites them with the same events in a different key order.)
# Each incident fixture: 100 minutes at 12 conversations/minute, the incident on
# gpt-4o-mini from minute 30 to minute 70; normal.jsonl.gz: 2 hours without incident.
# low_*.jsonl.gz: the same incidents at 2 conversations/minute (1 for rephrase_storm and
# traffic_drop), too few events for the rules' min_events: the rules must stay quiet there
# (without min_events they fire on these samples).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/llmwatch"
out=tests/rules/fixtures
mkdir -p "$out"
common=(--start 2026-11-27T12:00:00Z --rate 12)
"$bin" generate "${common[@]}" --duration 2h --seed 1 --out "$out/normal.jsonl.gz"
for kind in wrong_language refusals slow_latency errors rate_limits truncation empty_answers \
            invalid_json pii_leak thumbs_down escalations abandonment cost_spike rephrase_storm flatline; do
  "$bin" generate "${common[@]}" --duration 100m --seed 2 \
    --incident "$kind@gpt-4o-mini:30m-70m" --out "$out/$kind.jsonl.gz"
done
"$bin" generate "${common[@]}" --duration 3h --seed 3 --incident "flatline:90m-130m" --out "$out/traffic_drop.jsonl.gz"
low=(--start 2026-11-27T12:00:00Z --rate 2)
for kind in wrong_language refusals slow_latency errors rate_limits truncation empty_answers \
            invalid_json thumbs_down escalations abandonment cost_spike; do
  "$bin" generate "${low[@]}" --duration 100m --seed 2 \
    --incident "$kind@gpt-4o-mini:30m-70m" --out "$out/low_$kind.jsonl.gz"
done
"$bin" generate --start 2026-11-27T12:00:00Z --rate 1 --duration 100m --seed 2 \
  --incident "rephrase_storm@gpt-4o-mini:30m-70m" --out "$out/low_rephrase_storm.jsonl.gz"
"$bin" generate --start 2026-11-27T12:00:00Z --rate 1 --duration 3h --seed 3 \
  --incident "flatline:90m-130m" --out "$out/low_traffic_drop.jsonl.gz"
ls -la "$out"
