#!/usr/bin/env bash
# bench/cache.sh: lever 2 of issue 15, the list cache (--cache-dir).  run.sh
# calls it after its own report (it reuses run.sh's build/bench/ tools and
# data); it also runs alone after one `make bench`.
#
# For the bench's lists (6 x 250,000 + Tor) and for 6 x 1,000,000 (+ Tor,
# generated once into build/bench/data-1m/), startup alone (rules + lists,
# empty input) three ways: no cache, a cold cache (an empty --cache-dir: read
# the files, write the cache) and a warm one; medians of BENCH_REPS runs of
# CPU time (user + sys), wall time and peak RSS; the same without any list,
# for the part the lists take.  Then the findings of a scan of the bench's
# events with a warm cache, a cold one and --literal-lists (warm against
# uncached) must be byte-identical to the uncached run (clock fields
# masked).  BENCH_CACHE_CALLGRIND=1 adds the instructions a warm start
# spends on the lists (callgrind, with lists minus without; all threads).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=${BENCH_OUT:-build/bench}
DATA=$OUT/data
BIG=$OUT/data-1m
REPS=${BENCH_REPS:-3}
SNAP=$OUT/snapshot
KGUARD=$SNAP/kguard
MEASURE=$OUT/measure
die() { printf 'bench cache: %s\n' "$*" >&2; exit 1; }
say() { printf 'bench: %s\n' "$*" >&2; }
[ -x "$KGUARD" ] && [ -x "$MEASURE" ] && [ -f "$DATA/events.jsonl" ] || die "run bench/run.sh (make bench) first"

lists() { # dir -> the bench's list options
    printf '%s\n' --malicious-ips "$1/threat-1.txt"
    for i in 2 3 4 5 6; do printf '%s\n' --threat-list "feed-$i=$1/threat-$i.txt"; done
    printf '%s\n' --tor-exits "$1/tor-exits.txt"
}
if [ ! -f "$BIG/threat-6.txt" ] || [ "$BIG/threat-6.txt" -ot "$OUT/gen" ]; then
    say "generating 6 x 1,000,000 list entries into $BIG"
    mkdir -p "$BIG"
    "$OUT/gen" lists --seed "${BENCH_SEED:-1}" --dir "$BIG" --count 1000000 2> /dev/null
fi
mapfile -t L1 < <(lists "$DATA")
mapfile -t L6 < <(lists "$BIG")
BASE=(scan --rules "$SNAP/rules.d" --lualib "$SNAP/lualib")
CDIR=$OUT/list-cache

# median of REPS runs: "cpu wall rss_mb"
startup() { # cache-mode(none|cold|warm) lists-var
    local mode=$1 ref="$2[@]" i
    for i in $(seq 1 "$REPS"); do
        local extra=()
        [ "$mode" = none ] || extra=(--cache-dir "$CDIR")
        [ "$mode" = cold ] && rm -rf "$CDIR"
        "$MEASURE" --stderr "$OUT/cache.err" -- "$KGUARD" "${BASE[@]}" "${extra[@]}" "${!ref}" /dev/null |
            awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                   if (v["exit"] != 0) exit 1
                   printf "%.3f %.3f %.1f\n", v["user_s"] + v["sys_s"], v["wall_s"], v["maxrss_kb"] / 1024 }' ||
            die "startup ($mode) failed: $OUT/cache.err"
    done | sort -n | awk -v n="$REPS" '{ c[NR] = $1; w[NR] = $2; r[NR] = $3 } END {
        m = int((n + 1) / 2); printf "%s %s %s\n", c[m], w[m], r[m] }'
}
NOLISTS=()
say "lever 2: startup without lists, uncached, cold and warm cache ($REPS runs each)"
read -r N_C N_W N_R < <(startup none NOLISTS)
declare -A C W R
for set in L1 L6; do
    for mode in none cold warm; do
        [ "$mode" = warm ] && { rm -rf "$CDIR"; startup cold "$set" > /dev/null; }
        read -r C[$set.$mode] W[$set.$mode] R[$set.$mode] < <(startup "$mode" "$set")
    done
done

say "lever 2: findings, cached against uncached"
unclock() { sed -E 's/"(createdAt|updatedAt)":"[^"]*"/"\1":"-"/g' "$1"; }
EV=$DATA/events.jsonl
"$KGUARD" "${BASE[@]}" "${L1[@]}" "$EV" > "$OUT/cache.ref" 2> /dev/null || die "uncached scan failed"
rm -rf "$CDIR"
"$KGUARD" "${BASE[@]}" --cache-dir "$CDIR" "${L1[@]}" "$EV" > "$OUT/cache.cold" 2> /dev/null || die "cold scan failed"
"$KGUARD" "${BASE[@]}" --cache-dir "$CDIR" --stats "${L1[@]}" "$EV" > "$OUT/cache.warm" 2> "$OUT/cache.warm.err" ||
    die "warm scan failed"
HITS=$(grep -c 'stats: list .* cache=hit$' "$OUT/cache.warm.err" || true)
[ "$HITS" = 7 ] || die "warm scan: $HITS of 7 lists from the cache"
for k in cold warm; do
    cmp -s <(unclock "$OUT/cache.ref") <(unclock "$OUT/cache.$k") ||
        die "findings with a $k cache differ: $OUT/cache.ref $OUT/cache.$k"
done
"$KGUARD" "${BASE[@]}" --literal-lists "${L1[@]}" "$EV" > "$OUT/cache.lref" 2> /dev/null
"$KGUARD" "${BASE[@]}" --literal-lists --cache-dir "$CDIR" "${L1[@]}" "$EV" > /dev/null 2>&1
"$KGUARD" "${BASE[@]}" --literal-lists --cache-dir "$CDIR" "${L1[@]}" "$EV" > "$OUT/cache.lwarm" 2> /dev/null
cmp -s <(unclock "$OUT/cache.lref") <(unclock "$OUT/cache.lwarm") ||
    die "findings with --literal-lists and a warm cache differ: $OUT/cache.lref $OUT/cache.lwarm"
IDENT="identical: cold and warm cache vs no cache ($(wc -l < "$OUT/cache.ref") lines), --literal-lists warm vs uncached"

INSTR=""
if [ -n "${BENCH_CACHE_CALLGRIND:-}" ] && command -v valgrind > /dev/null; then
    instr() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$KGUARD" "${BASE[@]}" "$@" /dev/null \
                  2>&1 >/dev/null | sed -n 's/.*Collected : *//p'; }
    INSTR=$(( $(instr --cache-dir "$CDIR" "${L1[@]}") - $(instr) ))
fi
CACHE_MB=$(du -sm "$CDIR" | cut -f1)

sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
row() { printf '  %-52s %9s %9s %9s %14s\n' "$@"; }
echo
echo "Lever 2: list cache (startup alone: rules + lists, no events; medians of $REPS; load $(uptime | sed 's/.*load average: //'))"
row "" "cpu s" "wall s" "RSS MB" "lists' cpu s"
row "no lists" "$N_C" "$N_W" "$N_R" ""
for set in L1 L6; do
    [ "$set" = L1 ] && name="6 x 250,000 + Tor (1.5 M)" || name="6 x 1,000,000 + Tor (6 M)"
    for mode in none cold warm; do
        case $mode in none) m="no cache";; cold) m="cold cache (read + write)";; warm) m="warm cache (mmap)";; esac
        row "$name, $m" "${C[$set.$mode]}" "${W[$set.$mode]}" "${R[$set.$mode]}" "$(sub "${C[$set.$mode]}" "$N_C")"
    done
done
echo "  cache files for 1.5 M + 1.5 M literal entries: $CACHE_MB MB in $CDIR"
[ -n "$INSTR" ] && echo "  warm start, the lists' part (1.5 M entries): $INSTR instructions (callgrind, all threads)"
echo "  findings: $IDENT"
ok() { if awk "BEGIN { exit !($1) }"; then echo met; else echo "NOT MET"; fi; }
printf '  %-52s %-8s %s\n' "startup with 1.5 M cached entries <= 50 ms" "$(ok "${W[L1.warm]} - $N_W <= 0.050 || ${C[L1.warm]} - $N_C <= 0.050")" \
    "lists: $(sub "${C[L1.warm]}" "$N_C") s CPU, $(sub "${W[L1.warm]}" "$N_W") s wall over the startup without lists"
printf '  %-52s %-8s %s\n' "6 x 1 M entries <= 150 MB RSS" "$(ok "${R[L6.none]} <= 150 && ${R[L6.cold]} <= 150 && ${R[L6.warm]} <= 150")" \
    "${R[L6.none]} MB uncached, ${R[L6.cold]} MB cold, ${R[L6.warm]} MB warm"
