#!/usr/bin/env bash
# Build ocpagg's abi3 wheel (Python >= 3.11) with maturin: the one recipe shared by the image's
# builder stage (Dockerfile) and CI (deploy/lint.sh), so the image's build steps cannot rot.
#
#   deploy/build-wheel.sh [OUT]          release wheel into OUT (default: dist/)
#   deploy/build-wheel.sh --quick [OUT]  CI's quick mode: cargo check (the Rust compiles against
#                                        Cargo.lock) and the sdist (metadata, file list) — not the
#                                        ~7-minute optimised build
#
# Cargo's target dir is reused (CARGO_TARGET_DIR, default ./target), so a CI run after clippy
# and the tests only checks what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
if [ "${1:-}" = "--quick" ]; then
    QUICK=1
    shift
fi
OUT=${1:-dist}
mkdir -p "$OUT"

MATURIN=(maturin)
if ! command -v maturin >/dev/null 2>&1; then
    MATURIN=("${PYTHON:-python3}" -m maturin)
fi

if [ "$QUICK" = 1 ]; then
    cargo check --locked --lib
    "${MATURIN[@]}" sdist --out "$OUT"
    ls -1 "$OUT"/ocpagg-*.tar.gz
else
    "${MATURIN[@]}" build --release --locked --out "$OUT"
    ls -1 "$OUT"/ocpagg-*-abi3-*.whl
fi
