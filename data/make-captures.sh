#!/usr/bin/env bash
# data/make-captures.sh: records the small real captures of data/captures/ (issue 16, item 5).
#
# Usage (as root, from anywhere):  data/make-captures.sh [OUTDIR]
#   OUTDIR   where the .pcap files go (default: data/captures beside this script)
#   NETTOOL  environment variable: the nettool binary (default: build/default/bin/nettool)
#   KEEP_TMP environment variable: when set, keep the temporary directory (tcpdump, serve and
#            dnsmasq logs) for debugging
# Needs ip (iproute2), nft, tcpdump, dnsmasq and timeout; takes about 10 seconds.
#
# What it builds: two network namespaces, "a" (client, 198.51.100.1, 2001:db8:1::1) and "b"
# (server, 198.51.100.2, 2001:db8:1::2), named ntcap<pid>a/b and joined by one veth pair created
# directly inside them (00:00:5e:00:53:01 <-> :02, the RFC 7042 documentation MACs). Only
# documentation addresses are used (198.51.100.0/24, 2001:db8::/32, 00:00:5e:00:53:xx); no packet
# leaves the two namespaces and the machine's own interfaces, routes and firewall are never
# touched. In b run `nettool serve` (port 51423) and, for one capture, dnsmasq on port 53 (no
# upstream, only the records given below).
#
# What it records, with tcpdump inside a namespace (-c bounds the packet count, `timeout` the
# time, -s the snaplen where the payload does not matter):
#   tcp-handshake.pcap        nettool tcp --mode rr --count 3: handshake, hello, 3 echoes, FIN
#   tcp-retransmissions.pcap  nettool tcp --mode rr --count 4 --size 75000 while nftables in b
#                             drops 1 in 25 TCP packets to port 51423 at random: retransmissions,
#                             duplicate ACKs (captured in a, the sender, before the drop)
#   dns-udp-tcp.pcap          nettool dns against dnsmasq: A, AAAA, MX, TXT, NXDOMAIN over UDP,
#                             A over TCP (--tcp), and a large TXT without EDNS (truncated over UDP,
#                             retried over TCP)
#   udp-loss.pcap             nettool udp --mode stream --rate 400 -d 1 while nftables in b drops
#                             1 in 10 datagrams to port 51423; captured in a (the sender), so the
#                             file holds every datagram sent; what the receiver counted is in
#                             udp-loss.probe.json (the probe's own --json result)
#   arp.pcap                  neighbours flushed, then one TCP connect: ARP request and reply
#   icmp-error.pcap           three UDP datagrams to port 9 of b (closed): ICMP port unreachable
#   wol.pcap                  nettool wol in a, captured in b: a raw EtherType 0x0842 frame, one
#                             with a SecureOn password, and one UDP broadcast to port 9
#   ipv6.pcap                 neighbours flushed, then nettool tcp rr and udp rr over
#                             2001:db8:1::/64: neighbour solicitation/advertisement, TCP, UDP
#
# Everything it built (namespaces, with their veths and nftables tables; the processes it
# started, by pid) is removed on exit, including on failure or Ctrl-C (trap). The captures
# are written to a temporary directory and moved to OUTDIR only when all of them succeeded.
# Timestamps and ephemeral ports differ on every run: the captures are committed as data, so
# run this only deliberately, then data/regenerate-golden.sh, and commit both.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${1:-$here/captures}
nettool=${NETTOOL:-$root/build/default/bin/nettool}

die() { echo "make-captures: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, tcpdump)"
[ -x "$nettool" ] || die "no nettool binary at $nettool (build first, or set NETTOOL)"
for c in ip nft tcpdump dnsmasq timeout; do
    command -v "$c" >/dev/null || die "needs $c"
done

p=ntcap$$
ns_a=${p}a
ns_b=${p}b
if_a=nta0
if_b=ntb0
v4_a=198.51.100.1
v4_b=198.51.100.2
v6_a=2001:db8:1::1
v6_b=2001:db8:1::2
mac_a=00:00:5e:00:53:01
mac_b=00:00:5e:00:53:02
port=51423

tmp=$(mktemp -d /tmp/nettool-captures.XXXXXX)
made_ns=()
pids=()

cleanup() {
    local rc=$?
    set +e
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    for ns in "${made_ns[@]}"; do
        ip netns del "$ns" 2>/dev/null
    done
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_a() { timeout 30 ip netns exec "$ns_a" "$@"; }
in_b() { timeout 30 ip netns exec "$ns_b" "$@"; }

# ---- the lab ---------------------------------------------------------------------------------
for ns in "$ns_a" "$ns_b"; do
    ip netns add "$ns"
    made_ns+=("$ns")
    ip -n "$ns" link set lo up
    # No duplicate address detection and no router solicitations: addresses usable at once, and
    # no unasked-for IPv6 chatter on the link.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
        net.ipv6.conf.default.router_solicitations=0
done
# Created inside the namespaces (never on the host). gso_max_segs 1: one MSS per packet, so the
# capture and the nftables drop see wire-sized segments rather than 64 KB GSO bursts.
ip link add name "$if_a" netns "$ns_a" address "$mac_a" gso_max_segs 1 type veth \
    peer name "$if_b" netns "$ns_b" address "$mac_b" gso_max_segs 1
ip -n "$ns_a" addr add "$v4_a/24" dev "$if_a"
ip -n "$ns_b" addr add "$v4_b/24" dev "$if_b"
ip -n "$ns_a" addr add "$v6_a/64" dev "$if_a" nodad
ip -n "$ns_b" addr add "$v6_b/64" dev "$if_b" nodad
ip -n "$ns_a" link set "$if_a" up
ip -n "$ns_b" link set "$if_b" up

# The responder, on every address of b.
ip netns exec "$ns_b" timeout 300 "$nettool" serve --port "$port" 2>"$tmp/serve.log" &
pids+=($!)
ready=no
for _ in $(seq 50); do
    if in_a "$nettool" -q tcp "$v4_b:$port" --mode connect --count 1 --timeout 1 >/dev/null 2>&1; then
        ready=yes
        break
    fi
    sleep 0.1
done
[ "$ready" = yes ] || die "nettool serve did not answer in b"

# ---- capture helpers -------------------------------------------------------------------------
cap_pid=
# forget_pid PID: PID has been waited for; cleanup must not signal that number again.
forget_pid() {
    local keep=() x
    for x in "${pids[@]}"; do [ "$x" = "$1" ] || keep+=("$x"); done
    pids=("${keep[@]}")
}
# start_capture NAME NS IFACE SNAPLEN COUNT FILTER...
start_capture() {
    local name=$1 ns=$2 ifc=$3 snap=$4 count=$5
    shift 5
    : >"$tmp/$name.tcpdump.log"
    timeout 60 ip netns exec "$ns" tcpdump -i "$ifc" -n -U --immediate-mode -s "$snap" -c "$count" -w "$tmp/$name.pcap" "$@" \
        2>"$tmp/$name.tcpdump.log" &
    cap_pid=$!
    pids+=("$cap_pid")
    for _ in $(seq 100); do
        grep -q "listening on" "$tmp/$name.tcpdump.log" && return 0
        sleep 0.05
    done
    die "tcpdump for $name did not start: $(cat "$tmp/$name.tcpdump.log")"
}
# stop_capture NAME: lets the last packets land, stops tcpdump (SIGTERM: it flushes and closes).
stop_capture() {
    local name=$1
    sleep 0.5
    kill -TERM "$cap_pid" 2>/dev/null || true
    wait "$cap_pid" 2>/dev/null || true
    forget_pid "$cap_pid"
    local n
    n=$(sed -n 's/^\([0-9]*\) packets\{0,1\} captured$/\1/p' "$tmp/$name.tcpdump.log")
    [ "${n:-0}" -gt 0 ] || die "$name: nothing captured"
    echo "make-captures: $name.pcap: $n packets"
}
flush_neighbours() {
    ip -n "$ns_a" neigh flush dev "$if_a"
    ip -n "$ns_b" neigh flush dev "$if_b"
    ip -n "$ns_a" -6 neigh flush dev "$if_a"
    ip -n "$ns_b" -6 neigh flush dev "$if_b"
}
# drop_in_b PROTO EVERY: nftables in b drops one in EVERY PROTO packets to the responder's port.
drop_in_b() {
    in_b nft add table inet ntcap
    in_b nft "add chain inet ntcap in { type filter hook input priority 0; }"
    in_b nft add rule inet ntcap in meta l4proto "$1" "$1" dport "$port" numgen random mod "$2" == 0 counter drop
}
no_drop_in_b() {
    in_b nft list table inet ntcap | grep -o 'packets [0-9]* bytes [0-9]*' | sed "s/^/make-captures: dropped in b: /"
    in_b nft delete table inet ntcap
}

# ---- captures --------------------------------------------------------------------------------
# ARP: empty neighbour tables, then one TCP connect from a to b.
flush_neighbours
start_capture arp "$ns_a" "$if_a" 128 20 arp or tcp port "$port"
in_a "$nettool" -q tcp "$v4_b:$port" --mode connect --count 1 >/dev/null
stop_capture arp

# TCP: handshake, the protocol hello, three 64-byte echoes, FIN teardown.
start_capture tcp-handshake "$ns_a" "$if_a" 128 100 tcp port "$port"
in_a "$nettool" -q tcp "$v4_b:$port" --mode rr --count 3 >/dev/null
stop_capture tcp-handshake

# TCP through random loss: 4 echoes of 75000 bytes (300 KB each way).
drop_in_b tcp 25
start_capture tcp-retransmissions "$ns_a" "$if_a" 96 3000 tcp port "$port"
in_a "$nettool" -q tcp "$v4_b:$port" --mode rr --count 4 --size 75000 --timeout 10 >/dev/null
stop_capture tcp-retransmissions
no_drop_in_b

# UDP stream through random loss, recorded at the sender.
drop_in_b udp 10
start_capture udp-loss "$ns_a" "$if_a" 96 1000 port "$port"
in_a "$nettool" --json udp "$v4_b:$port" --mode stream --rate 400 --duration 1 --size 200 --no-gso \
    >"$tmp/udp-loss.probe.json"
stop_capture udp-loss
no_drop_in_b

# ICMP port unreachable: UDP to port 9 of b, where nothing listens.
start_capture icmp-error "$ns_a" "$if_a" 256 20 udp or icmp
# shellcheck disable=SC2016 # $i belongs to the inner shell
in_a bash -c 'for i in 1 2 3; do printf "nettool probe %s\n" "$i" >/dev/udp/'"$v4_b"'/9; sleep 0.2; done'
stop_capture icmp-error

# DNS over UDP and TCP against dnsmasq in b (no upstream: only these records; other names
# under example.test are NXDOMAIN).
big=$(printf 'nettool-%.0s' $(seq 24))  # 192 characters
ip netns exec "$ns_b" timeout 300 dnsmasq --keep-in-foreground --conf-file=/dev/null --pid-file="$tmp/dnsmasq.pid" \
    --port=53 --listen-address="$v4_b" --bind-interfaces --no-resolv --no-hosts \
    --local=/example.test/ \
    --host-record=www.example.test,198.51.100.80,2001:db8:1::80 \
    --mx-host=example.test,mail.example.test,10 \
    --host-record=mail.example.test,198.51.100.25 \
    --txt-record=txt.example.test,"v=nettool sample record" \
    --txt-record=big.example.test,"$big","$big","$big","$big","$big","$big","$big","$big" \
    --log-facility="$tmp/dnsmasq.log" &
dnsmasq_pid=$!
pids+=("$dnsmasq_pid")
ready=no
for _ in $(seq 50); do
    if in_a "$nettool" -q dns www.example.test --server "$v4_b:53" --count 1 --timeout 0.5 >/dev/null 2>&1; then
        ready=yes
        break
    fi
    sleep 0.1
done
[ "$ready" = yes ] || die "dnsmasq did not answer in b"
start_capture dns-udp-tcp "$ns_a" "$if_a" 0 200 port 53
q() { in_a "$nettool" -q dns "$@" --server "$v4_b:53" --interval 0.05 --timeout 1 >/dev/null; }
q www.example.test --type A --count 2
q www.example.test --type AAAA --count 2
q example.test --type MX --count 1
q txt.example.test --type TXT --count 1
q nx.example.test --type A --count 1 || true  # NXDOMAIN: nettool reports it, exit status 1 or 0
q www.example.test --type A --count 2 --tcp
q big.example.test --type TXT --count 1 --no-edns
stop_capture dns-udp-tcp
kill "$dnsmasq_pid"  # timeout passes SIGTERM on to dnsmasq (whose own pid is in its pidfile)
wait "$dnsmasq_pid" || true
forget_pid "$dnsmasq_pid"

# Wake-on-LAN from a, seen in b: raw frame, raw frame with SecureOn password, UDP broadcast.
start_capture wol "$ns_b" "$if_b" 0 10 ether proto 0x0842 or udp port 9
in_a "$nettool" -q wol 00:00:5e:00:53:99 -i "$if_a" >/dev/null
in_a "$nettool" -q wol 00:00:5e:00:53:99 -i "$if_a" --password 00:00:5e:00:53:aa >/dev/null
in_a "$nettool" -q wol 00:00:5e:00:53:99 -i "$if_a" --udp >/dev/null
stop_capture wol

# IPv6: empty neighbour tables, then TCP rr and UDP rr to b over 2001:db8:1::/64. MLD reports
# (behind a hop-by-hop header) stay out of the filter; neighbour discovery is ICMPv6.
flush_neighbours
start_capture ipv6 "$ns_a" "$if_a" 128 200 ip6 and '(icmp6 or port '"$port"')'
in_a "$nettool" -q tcp "[$v6_b]:$port" --mode rr --count 3 >/dev/null
in_a "$nettool" -q udp "[$v6_b]:$port" --mode rr --count 3 >/dev/null
stop_capture ipv6

# ---- done: move into place -------------------------------------------------------------------
mkdir -p "$out"
for f in arp tcp-handshake tcp-retransmissions udp-loss icmp-error dns-udp-tcp wol ipv6; do
    mv "$tmp/$f.pcap" "$out/$f.pcap"
done
mv "$tmp/udp-loss.probe.json" "$out/udp-loss.probe.json"
# tcpdump hands its files to its own user; give them the owner of the folder they land in.
chown "$(stat -c %u:%g "$out")" "$out"/*.pcap "$out/udp-loss.probe.json"
set -- "$out"/*.pcap
echo "make-captures: wrote $# captures to $out ($(uname -r), $(date -u +%F))"
echo "make-captures: now run data/regenerate-golden.sh and review the diff"
