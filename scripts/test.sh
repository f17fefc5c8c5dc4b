#!/usr/bin/env bash
# The whole test suite of llmwatch — the README's test command; CI runs it through .ci/run.
#
#   scripts/test.sh
#
# 1. installs and starts the real test services (scripts/services.sh: Tansu as the Kafka
#    broker, aiosmtpd as the SMTP server) and exports their LLMWATCH_TEST_* variables;
# 2. runs every step below, continuing after a failed step so one run reports everything;
# 3. stops the services it started (on any exit), and exits non-zero if any step failed.
#
# Services that were already running and healthy before (a developer's
# `scripts/services.sh start`) are reused and left running. LLMWATCH_KEEP_SERVICES=1 keeps
# the ones this run started, too.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SERVICES="$ROOT/scripts/services.sh"

# --- services ---------------------------------------------------------------------------------
started_here=0
cleanup() {
    local rc=$?
    if ((started_here)) && [[ "${LLMWATCH_KEEP_SERVICES:-0}" != 1 ]]; then
        bash "$SERVICES" stop || true
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t0=$SECONDS
bash "$SERVICES" install
if ! bash "$SERVICES" status >/dev/null 2>&1; then started_here=1; fi
bash "$SERVICES" start
# shellcheck disable=SC1091
. "$ROOT/.services/env"
echo "==> services ready in $((SECONDS - t0)) s"
bash "$SERVICES" env | grep '^export' | sed 's/^export /    /'

# --- steps ------------------------------------------------------------------------------------
failed=()
passed=()
step() {
    local name=$1
    shift
    echo
    echo "==> [$name] $*"
    local s=$SECONDS
    if "$@"; then
        passed+=("$name ($((SECONDS - s)) s)")
    else
        echo "==> [$name] FAILED (exit $?)"
        failed+=("$name")
    fi
}

# Every Rust test: unit and property tests, integration tests (tests/*.rs: the real binary,
# generated multi-hour streams, the services above), benches run once in test mode.
# Built first, on its own: the steps after the tests run the binary, which after a failed
# build may be an older one and must not report green. `--no-run` builds exactly what the
# tests use, the binary included (a separate `cargo build` would compile it again with
# other dependency features: two minutes on a fresh machine).
step build cargo test --release --locked --all-targets --no-run
# --no-fail-fast: one failing test binary must not hide the others' results.
step cargo-test cargo test --release --locked --all-targets --no-fail-fast

bin="${CARGO_TARGET_DIR:-$ROOT/target}/release/llmwatch"
built() {
    if [[ " ${failed[*]} " == *" build "* ]]; then
        echo "not run: the build failed"
        return 1
    fi
    "$@"
}
step rules-check built "$bin" rules check rules/
step rules-test built "$bin" rules test tests/rules/*.yaml
demo() {
    local out
    out="$(mktemp -d)"
    "$bin" demo --seconds 0 --out "$out" | tail -n 14
    local rc=${PIPESTATUS[0]}
    rm -rf "$out"
    return "$rc"
}
step demo built demo

# A short fuzz run of the event decoder and the expression parser (FUZZ_SECONDS per
# target, default 20; 0 skips). The first run installs cargo-fuzz and builds the targets.
if [[ "${FUZZ_SECONDS:-20}" != 0 ]]; then
    step fuzz bash scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
fi

# --- summary ----------------------------------------------------------------------------------
echo
echo "==> passed steps: ${passed[*]:-none}"
if ((${#failed[@]})); then
    echo "==> FAILED steps: ${failed[*]}"
    exit 1
fi
echo "==> all steps passed in $((SECONDS - t0)) s"
