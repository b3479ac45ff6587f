#!/usr/bin/env bash
# The whole test suite: the code habits first (they are quick and say the most), then the
# Rust codec's own tests, then pytest, which starts a real Joule node on loopback.
# Usage: scripts/test.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh

echo "== cargo fmt / clippy / test" >&2
cargo fmt --all --check
cargo clippy --workspace --all-targets --release -q -- -D warnings
cargo test -q

echo "== ruff / mypy" >&2
ruff check python tests benches
ruff format --check python tests benches
mypy

echo "== pytest" >&2
exec pytest "$@"
