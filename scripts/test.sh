#!/usr/bin/env bash
# The README's test command: what the tests need from Debian (scripts/deps.sh), then every
# test. Extra arguments go to `cargo test` (`scripts/test.sh -p hub --test tls`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
exec cargo test --workspace "$@"
