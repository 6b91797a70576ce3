#!/usr/bin/env bash
# Bounded fuzzing of the decoder and of client action sequences against an in-process hub.
#
#   scripts/fuzz.sh smoke        # a few seconds: what CI runs
#   scripts/fuzz.sh [SECONDS]    # release build, rounds of cases until SECONDS are spent (default 300)
#
# The targets are proptest harnesses (hub/tests/fuzz_decoder.rs, hub/tests/fuzz_actions.rs, and
# the end-to-end envelope decoder, e2e/tests/fuzz_envelope.rs); each round draws fresh random
# cases. A failure stops the run, prints the minimal case and leaves its seed in
# */tests/*.proptest-regressions so that plain `cargo test` replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(--test fuzz_decoder --test fuzz_actions)

if [[ "${1:-}" == "smoke" ]]; then
    PROPTEST_CASES=64 cargo test -q -p hub "${targets[@]}"
    PROPTEST_CASES=64 cargo test -q -p e2e --test fuzz_envelope
    exit 0
fi

budget=${1:-300}
decoder_cases=20000
action_cases=500
envelope_cases=5000
cargo test -q --release -p hub "${targets[@]}" --no-run
cargo test -q --release -p e2e --test fuzz_envelope --no-run
start=$SECONDS
rounds=0
while (( SECONDS - start < budget )); do
    PROPTEST_CASES=$decoder_cases cargo test -q --release -p hub --test fuzz_decoder
    PROPTEST_CASES=$action_cases cargo test -q --release -p hub --test fuzz_actions
    PROPTEST_CASES=$envelope_cases cargo test -q --release -p e2e --test fuzz_envelope
    rounds=$((rounds + 1))
done
echo "fuzz: $rounds rounds in $((SECONDS - start)) s:" \
    "$((rounds * decoder_cases * 2)) decoder cases, $((rounds * action_cases)) action sequences," \
    "$((rounds * envelope_cases * 3)) envelope cases, no failure"
