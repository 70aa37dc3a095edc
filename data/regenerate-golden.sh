#!/bin/sh
# data/regenerate-golden.sh: rewrites the golden outputs of data/captures/ from the current build.
#
# Usage:  data/regenerate-golden.sh [--diff]
#   NETTOOL  environment variable: the nettool binary (default: build/default/bin/nettool)
#   --diff   also print the unified diff of every golden file that changed
#
# For every data/captures/NAME.pcap (or .pcapng) it runs, from the repository root so the file
# name printed is the relative one,
#   nettool inspect data/captures/NAME.pcap         > data/captures/NAME.inspect.txt
#   nettool inspect --json data/captures/NAME.pcap  > data/captures/NAME.inspect.json
# and prints, per golden file, new / unchanged / changed (+added -removed lines), then the
# totals. Golden files whose capture is gone are listed (not deleted). tests/golden_test.cpp
# compares nettool's output with these files; this script is the only way they change: run it
# when a change of output is intended, read the diff, and commit the goldens with the change.

set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
nettool=${NETTOOL:-$root/build/default/bin/nettool}
show_diff=no
case "${1:-}" in
    --diff) show_diff=yes ;;
    "") ;;
    *) echo "usage: data/regenerate-golden.sh [--diff]" >&2; exit 2 ;;
esac
[ -x "$nettool" ] || { echo "regenerate-golden: no nettool binary at $nettool (build first, or set NETTOOL)" >&2; exit 1; }

cd "$root"
new=0 same=0 changed=0
for cap in data/captures/*.pcap data/captures/*.pcapng; do
    [ -e "$cap" ] || continue
    base=${cap%.*}
    for kind in txt json; do
        golden=$base.inspect.$kind
        fresh=$golden.new
        if [ "$kind" = txt ]; then
            "$nettool" inspect "$cap" >"$fresh" || { rm -f "$fresh"; echo "regenerate-golden: nettool inspect $cap failed" >&2; exit 1; }
        else
            "$nettool" inspect --json "$cap" >"$fresh" || { rm -f "$fresh"; echo "regenerate-golden: nettool inspect --json $cap failed" >&2; exit 1; }
        fi
        if [ ! -e "$golden" ]; then
            printf '  new        %s (%s lines)\n' "$golden" "$(wc -l <"$fresh")"
            new=$((new + 1))
        elif cmp -s "$golden" "$fresh"; then
            printf '  unchanged  %s\n' "$golden"
            same=$((same + 1))
        else
            added=$(diff "$golden" "$fresh" | grep -c '^>' || true)
            removed=$(diff "$golden" "$fresh" | grep -c '^<' || true)
            printf '  changed    %s (+%s -%s lines)\n' "$golden" "$added" "$removed"
            [ "$show_diff" = no ] || diff -u "$golden" "$fresh" | sed 's/^/    /' || true
            changed=$((changed + 1))
        fi
        mv "$fresh" "$golden"
    done
done

orphans=0
for golden in data/captures/*.inspect.txt data/captures/*.inspect.json; do
    [ -e "$golden" ] || continue
    base=${golden%.inspect.*}
    if [ ! -e "$base.pcap" ] && [ ! -e "$base.pcapng" ]; then
        printf '  orphan     %s (no capture: delete it or restore the capture)\n' "$golden"
        orphans=$((orphans + 1))
    fi
done

echo "regenerate-golden: $changed changed, $new new, $same unchanged, $orphans orphaned ($("$nettool" --version))"
[ "$changed" -eq 0 ] && [ "$new" -eq 0 ] || echo "regenerate-golden: review with 'git diff data/captures' and commit the goldens with the change that caused them"
