#!/usr/bin/env bash
# Runs every cargo-fuzz target for a while: `scripts/fuzz.sh [SECONDS] [TARGET...]`
# (default 30 s each, all targets). Installs cargo-fuzz when missing.
#
# cargo-fuzz needs nightly-only compiler flags; on a stable toolchain RUSTC_BOOTSTRAP=1
# unlocks them. Crashes land in fuzz/artifacts/<target>/ and make this script fail.
#
# FUZZ_BUILD selects the build (default: "--dev --sanitizer none"): unoptimised, with
# overflow checks and debug assertions, without AddressSanitizer. It compiles in ~165 s
# instead of ~420 s for cargo-fuzz's default (optimised, ASan) — the library pulls in the
# whole daemon stack — and runs ~4× fewer inputs per second, which for CI's 20 s smoke run
# is the better trade; the code under test has no `unsafe`. For a long campaign:
#   FUZZ_BUILD="--release --sanitizer address" scripts/fuzz.sh 3600
set -euo pipefail

secs="${1:-30}"
shift || true
cd "$(dirname "$0")/.."

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi

export RUSTC_BOOTSTRAP=1
# Fuzz builds use their own target directory: their flags differ from normal builds, so
# sharing one would make both rebuild everything.
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/fuzz/target}"

for t in "${targets[@]}"; do
    echo "== fuzzing $t for ${secs}s"
    mkdir -p "fuzz/corpus/$t"
    seeds=()
    [ -d "fuzz/seeds/$t" ] && seeds=("fuzz/seeds/$t")
    # shellcheck disable=SC2086 # FUZZ_BUILD is a list of flags
    cargo fuzz run ${FUZZ_BUILD:---dev --sanitizer none} "$t" "fuzz/corpus/$t" "${seeds[@]}" -- \
        -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 -timeout=10
done
