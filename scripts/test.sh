#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: an optimised build with
# warnings as errors, then an AddressSanitizer + UndefinedBehaviorSanitizer
# build. Tests that need ../shared skip with a message when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/check_layers.sh
jobs=$(nproc)
echo "== release build (-Werror)" >&2
scripts/build.sh build -DDL_WERROR=ON
(cd build && ctest --output-on-failure -j "$jobs" --timeout 900)
echo "== sanitizer build (ASan + UBSan)" >&2
DL_BUILD_TYPE=Debug scripts/build.sh build-asan -DDL_WERROR=ON -DDL_SANITIZE=ON
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && DL_SANITIZED=1 ctest --output-on-failure -j "$jobs" --timeout 900)
