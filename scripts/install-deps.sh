#!/bin/sh
# Install everything nettool needs to build, test and benchmark, from Debian 12 packages only.
# Idempotent: installs only what is missing, so a second run does nothing and needs no network.
# Works on a minimal Debian 12 (no compiler yet) when run as root; otherwise uses sudo if present.
set -eu

# Build and library dependencies (issue 2), DNS (issue 4), capture (issue 5), TLS (issue 13),
# Chart.js inlined into the HTML reports (issue 17), the exporter's HTTP server and config (issue 15).
build_pkgs="build-essential cmake ninja-build pkg-config git
libasio-dev libcli11-dev libfmt-dev libpcap-dev libgtest-dev libgmock-dev libbenchmark-dev
nlohmann-json3-dev libldns-dev libssl-dev libjs-chart.js libyaml-cpp-dev libcpp-httplib-dev"
# Tools the tests drive as real peers and oracles (traceroute, mtr and tracepath for the
# route lab of tests/support/route_lab.hpp), openssl (s_server, s_time) and curl as the TLS
# peers, the sanitizer/fuzzer toolchain, chromium to open the HTML reports headless, and
# Prometheus (its server and promtool) for the exporter.
test_pkgs="clang libclang-rt-14-dev clang-format iproute2 nftables procps dnsmasq-base unbound tshark tcpdump
python3 iputils-ping iperf3
traceroute mtr-tiny iputils-tracepath
openssl curl
chromium prometheus"

want="$build_pkgs"
case "${1:-}" in
  --test) want="$build_pkgs $test_pkgs" ;;
  --build | "") ;;
  *) echo "usage: $0 [--build|--test]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
  # dpkg-query reports "install ok installed" only for fully installed packages.
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

if [ -z "$missing" ]; then
  echo "install-deps: all packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: missing packages:$missing; run this script as root to install them" >&2
    exit 1
  fi
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
