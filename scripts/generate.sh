#!/usr/bin/env bash
# Generates the shipped schools' AUPs into out/<school>/<year>/ (arguments go to
# `aup generate`). Building aup needs cmake and a C++ compiler besides Rust: the
# zxing-cpp crate compiles the QR decoder that ingest falls back on for damaged
# codes. They are installed first when missing, so this works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cmake >/dev/null || need_apt+=(cmake)
command -v c++ >/dev/null || need_apt+=(g++)
if [ ${#need_apt[@]} -gt 0 ]; then
  scripts/apt-install.sh "${need_apt[@]}"
fi
exec cargo run -- generate "$@"
