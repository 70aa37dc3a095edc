#!/usr/bin/env python3
"""Writes the delivery traces of data/links/ (mahimahi's format) for `nettool link --trace`.

A trace is one millisecond timestamp per line; each line is one opportunity for a 1500-byte
packet to leave the bottleneck queue, the same timestamp repeated when several packets may leave
in the same millisecond. The link replays the trace over and over, its period being the last
timestamp. Mean rate = lines x 1500 x 8 bits / period.

    data/links/generate_traces.py                # rewrites the traces beside this script
    data/links/generate_traces.py --out DIR      # writes them into DIR instead
    data/links/generate_traces.py --summary      # prints each trace's figures, writes nothing

Deterministic: the standard library only, integer arithmetic only (no floating point, no
`random` module, whose algorithms may change between Python versions), and a fixed seed, so
every run on every machine prints the same bytes. tests/link_traces_test.cpp regenerates the
traces into a temporary directory and compares them byte for byte with the committed ones.
"""

import argparse
import os
import sys

PACKET_BITS = 1500 * 8


def constant(packets_per_ms, period_ms):
    """packets_per_ms opportunities in every millisecond 1..period_ms (mahimahi's 12Mbps style)."""
    return [ms for ms in range(1, period_ms + 1) for _ in range(packets_per_ms)]


class SplitMix64:
    """splitmix64 (Steele, Lea and Flood 2014; Vigna's public-domain C version), 64-bit integers."""

    MASK = (1 << 64) - 1

    def __init__(self, seed):
        self.state = seed & self.MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & self.MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.MASK
        return z ^ (z >> 31)

    def below(self, n):
        """An integer in [0, n) (the modulo bias, below 2^-58 here, does not matter)."""
        return self.next() % n


# The cellular-like trace: the rate walks on a ladder of levels (kbit/s), one step every
# STEP_MS. At each step, with probability 1/FADE_ODDS, a fade drops the rate FADE_LEVELS levels at
# once (a handover, a tunnel); otherwise one of four equally likely moves: down one level, stay,
# up one level, or one level toward CENTER_LEVEL (so the walk drifts back to the middle instead
# of lingering at an end). The seed was chosen by reading the rate sequences of seeds 1..30:
# with 21 the 20 s spend about 3 s at 26-30 Mbit/s and about 2 s at 2-3 Mbit/s (mean 12.3).
LADDER_KBIT = [2000, 3000, 4500, 6000, 8000, 10000, 12000, 15000, 18000, 22000, 26000, 30000]
STEP_MS = 250
CELLULAR_PERIOD_MS = 20000
CELLULAR_SEED = 21
START_LEVEL = 6  # 12 Mbit/s
CENTER_LEVEL = 7  # 15 Mbit/s
FADE_ODDS = 20
FADE_LEVELS = 5


def cellular_rates(seed=CELLULAR_SEED, period_ms=CELLULAR_PERIOD_MS):
    """The rate (kbit/s) of each STEP_MS segment."""
    rng = SplitMix64(seed)
    level = START_LEVEL
    rates = []
    for _ in range(period_ms // STEP_MS):
        rates.append(LADDER_KBIT[level])
        if rng.below(FADE_ODDS) == 0:
            level = max(0, level - FADE_LEVELS)
            continue
        move = rng.below(4)  # 0 down, 1 stay, 2 up, 3 toward the centre
        if move == 3:
            step = (level < CENTER_LEVEL) - (level > CENTER_LEVEL)
        else:
            step = move - 1
        level = min(len(LADDER_KBIT) - 1, max(0, level + step))
    return rates


def from_rates(rates_kbit, step_ms):
    """Opportunities from per-segment rates: each millisecond adds rate_kbit bits of credit
    (kbit/s x 1 ms), and every 12000 bits of credit is one opportunity in that millisecond."""
    lines = []
    credit = 0
    for i, rate in enumerate(rates_kbit):
        for k in range(1, step_ms + 1):
            ms = i * step_ms + k
            credit += rate
            while credit >= PACKET_BITS:
                lines.append(ms)
                credit -= PACKET_BITS
    return lines


def traces():
    """name -> (timestamps, one-line description), in the order the README lists them."""
    return {
        "12mbit.trace": (constant(1, 1000), "constant 12 Mbit/s: one opportunity per ms"),
        "24mbit.trace": (constant(2, 1000), "constant 24 Mbit/s: two opportunities per ms"),
        "cellular.trace": (
            from_rates(cellular_rates(), STEP_MS),
            f"cellular-like, {LADDER_KBIT[0] // 1000}-{LADDER_KBIT[-1] // 1000} Mbit/s, "
            f"a new rate every {STEP_MS} ms, seed {CELLULAR_SEED}",
        ),
    }


def text(lines):
    return "".join(f"{ms}\n" for ms in lines)


def summary(name, lines, description):
    period = lines[-1]
    # mean rate in kbit/s, rounded down: lines x 12000 bits / period ms = kbit/s
    kbit = len(lines) * PACKET_BITS // period
    return (f"{name}: {len(lines)} opportunities, period {period} ms, "
            f"mean {kbit // 1000}.{kbit % 1000:03d} Mbit/s ({description})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)),
                        help="directory to write the traces into (default: beside this script)")
    parser.add_argument("--summary", action="store_true",
                        help="print each trace's opportunities, period and mean rate; write nothing")
    args = parser.parse_args()
    all_traces = traces()
    if args.summary:
        for name, (lines, description) in all_traces.items():
            print(summary(name, lines, description))
        if "cellular.trace" in all_traces:
            rates = cellular_rates()
            print("cellular.trace rates (Mbit/s, one per %d ms): %s" %
                  (STEP_MS, " ".join(f"{r / 1000:g}" for r in rates)))
        return 0
    os.makedirs(args.out, exist_ok=True)
    for name, (lines, _) in all_traces.items():
        with open(os.path.join(args.out, name), "w", encoding="ascii", newline="\n") as f:
            f.write(text(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
