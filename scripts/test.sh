#!/usr/bin/env bash
# Runs every Lantern test on a fresh machine: installs and starts the services the tests need, then cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
# Reuse compiled dependencies between clones (CI builds a fresh clone each time).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lantern-target}"
scripts/services.sh
cargo test --workspace --locked "$@"
