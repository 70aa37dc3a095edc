#!/usr/bin/env bash
# Compares nettool's DNS load mode with dnsperf against the same local dnsmasq, alternating the
# two tools in the same run, and prints each tool's achieved queries per second and the ratio
# nettool/dnsperf (>= 1.0 means nettool keeps up). Installs dnsperf with apt when missing.
#
# usage: bench/dns_compare.sh [NETTOOL_BINARY] [SECONDS_PER_RUN] [ROUNDS]
# env:   CONCURRENCY (default 100) queries outstanding for both tools. Both send plain queries
#        without EDNS (dnsperf's default), RD set.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
nettool=${1:-$here/build/default/bin/nettool}
seconds=${2:-3}
rounds=${3:-3}
concurrency=${CONCURRENCY:-100}

if ! command -v dnsperf >/dev/null; then
    echo "dns_compare: installing dnsperf" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dnsperf >/dev/null
fi
command -v dnsmasq >/dev/null || { echo "dns_compare: dnsmasq missing" >&2; exit 2; }
[ -x "$nettool" ] || { echo "dns_compare: no nettool at $nettool" >&2; exit 2; }

work=$(mktemp -d)
dnsmasq_pid=
cleanup() {
    [ -n "$dnsmasq_pid" ] && kill "$dnsmasq_pid" 2>/dev/null && wait "$dnsmasq_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dnsmasq --no-daemon --conf-file=/dev/null --port="$port" --listen-address=127.0.0.1 --bind-interfaces \
    --no-resolv --no-hosts --local=/bench.example/ \
    --host-record=www.bench.example,192.0.2.10,2001:db8::10 \
    --txt-record=txt.bench.example,"bench" --mx-host=bench.example,mail.bench.example,10 \
    2>/dev/null &
dnsmasq_pid=$!
cat >"$work/queries" <<Q
www.bench.example A
www.bench.example AAAA
bench.example MX
txt.bench.example TXT
missing.bench.example A
Q
sleep 0.5

nettool_total=0
dnsperf_total=0
for i in $(seq "$rounds"); do
    n=$("$nettool" dns --queries "$work/queries" --server "127.0.0.1:$port" --duration "$seconds" \
            --concurrency "$concurrency" --no-edns --json |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["load"]["queries_per_second"])')
    d=$(dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries" -l "$seconds" -q "$concurrency" 2>&1 |
        awk '/Queries per second:/ {print $4}')
    echo "round $i: nettool ${n} q/s, dnsperf ${d} q/s"
    nettool_total=$(python3 -c "print($nettool_total + $n)")
    dnsperf_total=$(python3 -c "print($dnsperf_total + ${d:-0})")
done
python3 - "$nettool_total" "$dnsperf_total" "$rounds" <<'PY'
import sys
n, d, r = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print(f"nettool_qps={n/r:.0f} dnsperf_qps={d/r:.0f} ratio={(n/d if d else float('nan')):.3f}")
PY
