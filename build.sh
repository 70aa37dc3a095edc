#!/bin/sh
# nettool's one entry point for newcomers and CI.
#   ./build.sh run    install what is missing, build, and run 'nettool tcp-vs-udp' on loopback
#   ./build.sh test   install what is missing, build, and run every test (normal and asan presets)
#   ./build.sh build  install build dependencies and build the default preset only
set -eu
cd "$(dirname "$0")"

jobs=$(nproc 2>/dev/null || echo 2)

build() {
  preset=$1
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
}

case "${1:-}" in
  run)
    sh scripts/install-deps.sh --build
    build default
    ./build/default/bin/nettool tcp-vs-udp
    ;;
  test)
    sh scripts/install-deps.sh --test
    build default
    ctest --preset default -j "$jobs"
    build asan
    ctest --preset asan -j "$jobs"
    ;;
  build)
    sh scripts/install-deps.sh --build
    build default
    ;;
  *)
    echo "usage: $0 run|test|build" >&2
    exit 2
    ;;
esac
