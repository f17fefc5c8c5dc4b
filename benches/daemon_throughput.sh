#!/usr/bin/env bash
# Daemon throughput: events per second from the broker through the shipped rules into the
# engine, checkpoints included (every second), on this machine. Starts the test services,
# generates EVENTS events, loads them into a PARTITIONS-partition topic, starts
# `llmwatch run`, and reads its "Caught up." log line (backlog size and seconds, measured
# from the first message to the first empty poll).
#
#   benches/daemon_throughput.sh            # EVENTS=200000 PARTITIONS=4
#
# The cost of a checkpoint with 100k active windows: `cargo bench --bench checkpoint`.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS="${EVENTS:-200000}"
PARTITIONS="${PARTITIONS:-4}"
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/llmwatch"
bash scripts/services.sh install >/dev/null
bash scripts/services.sh start >/dev/null
# shellcheck disable=SC1091
. .services/env
work="$(mktemp -d)"
trap 'kill "${daemon:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

# 40 conversations a minute give ~140 events a minute: enough minutes for EVENTS.
minutes=$(( EVENTS / 140 + 1 ))
"$bin" generate --duration "${minutes}m" --rate 40 --out "$work/all.jsonl" 2>/dev/null
head -n "$EVENTS" "$work/all.jsonl" > "$work/events.jsonl"
topic="bench-$(date +%s%N)"
"$LLMWATCH_TEST_TANSU" topic create "$topic" --partitions "$PARTITIONS" --broker "tcp://$LLMWATCH_TEST_KAFKA" >/dev/null
"$bin" produce --brokers "$LLMWATCH_TEST_KAFKA" --topic "$topic" --events "$work/events.jsonl"

cat > "$work/llmwatch.toml" <<TOML
[kafka]
brokers = "$LLMWATCH_TEST_KAFKA"
topics = ["$topic"]
group_id = "$topic"
[kafka.properties]
"session.timeout.ms" = "6000"
"heartbeat.interval.ms" = "500"
[store]
path = "$work/store"
checkpoint_interval = "1s"
[rules]
paths = ["$PWD/rules"]
TOML
RUST_LOG=info "$bin" run --config "$work/llmwatch.toml" 2> "$work/daemon.log" &
daemon=$!
for _ in $(seq 1 600); do
  if grep -q "Caught up.*messages=$EVENTS " "$work/daemon.log"; then break; fi
  sleep 0.5
done
kill -TERM "$daemon"; wait "$daemon" || true
line="$(grep "Caught up.*messages=$EVENTS " "$work/daemon.log" | tail -n 1)"
[ -n "$line" ] || { echo "the daemon did not catch up; log:"; tail -n 30 "$work/daemon.log"; exit 1; }
echo "$line"
echo "$line" | sed -E 's/.*backlog=([0-9]+) seconds="?([0-9.]+)"? per_second=([0-9]+).*/daemon: \1 events from the broker in \2 s = \3 events per second (shipped rules, '"$PARTITIONS"' partitions, checkpoints every second)/'
