#!/usr/bin/env bash
# Fuzz the Rust codec with cargo-fuzz (libFuzzer, AddressSanitizer) for a fixed budget, and
# print how many inputs each target tried.  Not part of the test suite or CI: a run takes
# minutes and needs a nightly toolchain.
#
#     benches/fuzz_codec.sh [SECONDS_PER_TARGET]        # default 60
#
# Targets (rust/codec/fuzz/fuzz_targets): decode (any bytes in any chunking: the same rows
# as in one piece, an error exactly when a partial row is left, re-encoding to the same
# bytes), encode (any rows and interval ends: a frame that decodes back, or a refusal that
# remembers nothing), csv (any rows: one line each, every field reading back exactly),
# csv_parse (any text cut anywhere: whole rows or a named bad line, never a panic; formatted
# rows parse back to the same values).
# Each keeps its corpus in rust/codec/fuzz/corpus/<target>, so later runs go deeper.
# Needs: rustup toolchain install nightly; cargo install cargo-fuzz
set -euo pipefail

budget=${1:-60}
cd "$(dirname "$0")/../rust/codec"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

total=0
for target in decode encode csv csv_parse; do
    if ! cargo +nightly fuzz run "$target" -- -max_total_time="$budget" -print_final_stats=1 \
        >"$log" 2>&1; then
        tail -n 60 "$log"  # libFuzzer's report and the input it saved under fuzz/artifacts
        echo "fuzz_codec: $target FAILED" >&2
        exit 1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "$target: $runs inputs in $budget s, no failure"
    total=$((total + runs))
done
echo "total: $total inputs tried, no panic, no sanitizer error, no failed property"
