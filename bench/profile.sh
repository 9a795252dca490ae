#!/usr/bin/env bash
# bench/profile.sh [EVENTS]: where kguard spends its instructions.
#
# Runs kguard under valgrind's callgrind on the first EVENTS (default 20000)
# events of the benchmark data, with every shipped rule and all the lists
# (run bench/run.sh first: it builds the data).  Only the scan itself is
# collected (--toggle-collect=engine_scan_path): loading rules and lists is
# left out.  Prints the top functions by inclusive and by self cost; the raw
# profile stays in build/bench/callgrind.out for callgrind_annotate or
# kcachegrind.  (perf would be the lighter tool, but hardware counters are
# not available on every machine this runs on.)  Takes about a minute.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
N=${1:-20000}
OUT=${BENCH_OUT:-build/bench}
DATA=$OUT/data
KGUARD=${KGUARD:-./kguard}
command -v valgrind >/dev/null || { echo "profile: valgrind is not installed" >&2; exit 1; }
[ -f "$DATA/events.jsonl" ] || { echo "profile: no data in $DATA: run bench/run.sh first" >&2; exit 1; }
SNAP=$OUT/profile-snapshot
rm -rf "$SNAP" && mkdir -p "$SNAP"
cp "$KGUARD" "$SNAP/kguard" && cp -R rules.d lualib "$SNAP/"
head -n "$N" "$DATA/events.jsonl" > "$OUT/slice.jsonl"
LISTS=(--malicious-ips "$DATA/threat-1.txt")
for i in 2 3 4 5 6; do LISTS+=(--threat-list "feed-$i=$DATA/threat-$i.txt"); done
LISTS+=(--tor-exits "$DATA/tor-exits.txt")
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" --collect-atstart=no \
    --toggle-collect=engine_scan_path "$SNAP/kguard" scan --rules "$SNAP/rules.d" --lualib "$SNAP/lualib" "${LISTS[@]}" \
    "$OUT/slice.jsonl" > /dev/null 2> "$OUT/callgrind.log"
total=$(sed -n 's/.*Collected : *//p' "$OUT/callgrind.log")
echo "profile of $N events: $total instructions, $(awk -v t="$total" -v n="$N" 'BEGIN { printf "%.0f", t / n }') per event"
echo
echo "== top 30 by inclusive cost =="
callgrind_annotate --inclusive=yes "$OUT/callgrind.out" 2>/dev/null |
    sed -n '/file:function/,$p' | sed 1,2d | grep -v '^ *$' | grep -v 'below main\|libc-start\|libc_start\|main.c:main\|ld-linux' | head -30
echo
echo "== top 25 by self cost =="
callgrind_annotate "$OUT/callgrind.out" 2>/dev/null | sed -n '/file:function/,$p' | sed 1,2d | grep -v '^ *$' | head -25
