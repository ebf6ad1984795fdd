#!/usr/bin/env bash
# Runs every Lantern test on a fresh machine: installs and starts the services the tests need, then cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
# Reuse compiled dependencies between clones (CI builds a fresh clone each time).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lantern-target}"
scripts/services.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked "$@" 2>&1 | tee "$log"
# One closing line over every test binary and doc-test run.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     END { printf "Summary: %d passed, %d failed\n", p, f }' "$log"
