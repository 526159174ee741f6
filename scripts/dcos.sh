#!/usr/bin/env bash
# One entry point for people and CI:
#   scripts/dcos.sh local [N]   set up, build, start a local cluster (1 master, N agents; default 2)
#   scripts/dcos.sh test        set up, build, run the whole test suite
#   scripts/dcos.sh setup       install missing Debian packages only
#   scripts/dcos.sh build       set up and build only
# Quick when everything is already there: only missing packages are installed, and the build is
# incremental (Ninja + ccache).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${DCOS_BUILD_DIR:-$root/build}

packages=(g++ cmake ninja-build ccache pkg-config python3
  libboost1.81-dev nlohmann-json3-dev libspdlog-dev libcli11-dev catch2 libexpected-dev
  libleveldb-dev libzookeeper-mt-dev libssl-dev
  zookeeper)  # A real ZooKeeper server (it brings a JRE) for the state tests and bench_state.

setup() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "dcos: installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

configure_and_build() {
  if [ ! -f "$build/build.ninja" ]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${DCOS_CMAKE_ARGS:-}
  fi
  cmake --build "$build" -j "$(nproc)"
}

cmd=${1:-local}
case "$cmd" in
  setup) setup ;;
  build) setup; configure_and_build ;;
  local)
    setup; configure_and_build
    shift || true
    exec "$build/apps/dcos-local" --agents "${1:-2}" --work_dir "${DCOS_WORK_DIR:-/tmp/dcos-local}"
    ;;
  test)
    setup; configure_and_build
    cd "$build"
    ctest --output-on-failure -j "$(nproc)" --timeout 600
    ;;
  *) echo "usage: $0 local [N] | test | setup | build" >&2; exit 2 ;;
esac
