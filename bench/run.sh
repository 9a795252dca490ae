#!/usr/bin/env bash
# bench/run.sh: the kguard benchmark (issue 6).  One command re-takes every
# figure:  bench/run.sh   (or `make bench`).  BENCH.md explains the method.
#
# Builds the tools into build/bench/, generates the data into
# build/bench/data/ (reused when the seed, size and generator are the same),
# then measures:
#   (a) parse-only baseline: getline + cJSON_Parse + cJSON_Delete per line
#   (b) kguard scan, every shipped rule, all lists (6 x 250,000 + Tor)
#       and its startup alone (same options, empty input); (a) and (b) also
#       on the complete-only stream (the same events without RequestReceived)
#   findings of (b) on both streams byte-identical to --no-prescan runs
#   (c) IP-set load and lookup speed (libkguard's ipset.h)
#   (d) (b) with 100 extra declarative rules
#   (e) peak RSS over long runs: the file replayed N times through stdin
#       (as `cat f f f ... | kguard scan -`), and a fresh generated stream of
#       M events (default 10 million, unique auditIDs, users, pods and list
#       hits as the generator makes them), RSS sampled as they run
# (a), (b), (d) and the startups: best of BENCH_REPS runs (wall time).
#
# Settings (environment):
#   BENCH_SEED=1  BENCH_EVENTS=200000  BENCH_REPS=3  BENCH_LONG=10
#   BENCH_FRESH_EVENTS=10000000 (0 skips)  BENCH_LOOKUP_IPS=1000000
#   KGUARD=./kguard  BENCH_LIB=build/plain/libkguard.a  BENCH_OUT=build/bench
#   BENCH_NO_MAKE=1 (skip `make`; make bench sets it)
#   BENCH_CACHE=0 skips bench/cache.sh (the list cache; BENCH_CACHE_CALLGRIND=1
#   adds its instruction count)
#   CC, BENCH_CFLAGS (tools; default -O2 -g), BENCH_LDLIBS (libkguard's libs)
#   BENCH_KGUARD_CFLAGS (only shown in the report: how kguard was built)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

SEED=${BENCH_SEED:-1}
EVENTS=${BENCH_EVENTS:-200000}
REPS=${BENCH_REPS:-3}
LONG=${BENCH_LONG:-10}
FRESH=${BENCH_FRESH_EVENTS:-10000000}
LOOKUP_IPS=${BENCH_LOOKUP_IPS:-1000000}
OUT=${BENCH_OUT:-build/bench}
DATA=$OUT/data
KGUARD=${KGUARD:-./kguard}
KGLIB=${BENCH_LIB:-build/plain/libkguard.a}
CC=${CC:-cc}
TOOL_CFLAGS="${BENCH_CFLAGS:--O2 -g} -std=c11 -Wall -Wextra -Wno-format-truncation -D_GNU_SOURCE"
LIBS=${BENCH_LDLIBS:-"$(pkg-config --libs lua5.4 libcjson) -llua5.4-lpeg -lcidr -lxxhash -lpthread -lm -ldl"}

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

mkdir -p "$OUT" "$DATA"

# ---- build ------------------------------------------------------------------
if [ -z "${BENCH_NO_MAKE:-}" ]; then
    say "make (kguard and build/plain/libkguard.a)"
    ${MAKE:-make} -s all >&2
fi
[ -x "$KGUARD" ] || die "no kguard binary at $KGUARD"
[ -f "$KGLIB" ] || die "no $KGLIB (run make)"
# Measure a snapshot of the binary, rules.d and lualib: a rebuild or an edit
# during the run must not change what is measured.
SNAP=$OUT/snapshot
rm -rf "$SNAP"
mkdir -p "$SNAP"
cp "$KGUARD" "$SNAP/kguard"
cp -R rules.d "$SNAP/rules.d"
cp -R lualib "$SNAP/lualib"
KGUARD_SRC=$KGUARD
KGUARD=$SNAP/kguard
say "building the tools into $OUT/"
# shellcheck disable=SC2086
{
    $CC $TOOL_CFLAGS bench/gen.c -o "$OUT/gen"
    $CC $TOOL_CFLAGS bench/measure.c -o "$OUT/measure"
    $CC $TOOL_CFLAGS $(pkg-config --cflags libcjson) bench/parse_baseline.c -lcjson -o "$OUT/parse_baseline"
    $CC $TOOL_CFLAGS -Iinclude bench/ipset_lookup.c "$KGLIB" $LIBS -o "$OUT/ipset_lookup"
}
MEASURE=$OUT/measure

# ---- data -------------------------------------------------------------------
EV=$DATA/events.jsonl
GENSUM=$(cat bench/gen.c bench/benchdata.h | md5sum | cut -c1-16)
STAMP="seed=$SEED events=$EVENTS gen=$GENSUM"
GEN_S=reused
if [ -f "$DATA/STAMP" ] && [ "$(cat "$DATA/STAMP")" = "$STAMP" ] && [ -f "$EV" ] &&
   [ -f "$DATA/threat-6.txt" ] && [ -f "$DATA/tor-exits.txt" ]; then
    say "reusing the data in $DATA ($STAMP)"
else
    say "generating $EVENTS events and the lists into $DATA (seed $SEED)"
    rm -f "$DATA/STAMP"
    t0=$(date +%s.%N)
    "$OUT/gen" events --seed "$SEED" --count "$EVENTS" --out "$EV" 2> "$DATA/gen-events.log"
    t1=$(date +%s.%N)
    "$OUT/gen" lists --seed "$SEED" --dir "$DATA" 2> "$DATA/gen-lists.log"
    t2=$(date +%s.%N)
    GEN_S=$(awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "%.1f s events, %.1f s lists", b - a, c - b }')
    cat "$DATA/gen-events.log" >&2
    echo "$STAMP" > "$DATA/STAMP"
fi
# the same stream as written by an API server whose audit policy omits the
# RequestReceived stage (omitStages: ["RequestReceived"])
EVC=$DATA/events-complete.jsonl
if [ ! -f "$EVC" ] || [ "$EVC" -ot "$EV" ]; then
    grep -v '"stage":"RequestReceived"' "$EV" > "$EVC"
fi
NLINES_C=$(wc -l < "$EVC")
BYTES_C=$(stat -c %s "$EVC")
GENLOG=$(head -1 "$DATA/gen-events.log" 2>/dev/null || true)
BYTES=$(stat -c %s "$EV")
NLINES=$(wc -l < "$EV")

# the rules: shipped, and shipped + 100 declarative
PLUS=$OUT/rules-plus100
rm -rf "$PLUS"
mkdir -p "$PLUS"
cp "$SNAP"/rules.d/*.lua "$PLUS/"
"$OUT/gen" rules --seed "$SEED" --count 100 --dir "$PLUS" 2>/dev/null
NRULES=$(ls "$SNAP"/rules.d/*.lua | wc -l)

LISTS=(--malicious-ips "$DATA/threat-1.txt")
for i in 2 3 4 5 6; do LISTS+=(--threat-list "feed-$i=$DATA/threat-$i.txt"); done
LISTS+=(--tor-exits "$DATA/tor-exits.txt")

# ---- helpers ----------------------------------------------------------------
# measure ... -> sets M_wall_s M_user_s M_sys_s M_maxrss_kb M_exit
run() {
    local line
    line=$("$MEASURE" "$@")
    eval "$(echo "$line" | sed 's/\([a-z_]*\)=/M_\1=/g')"
}

# summary field from a kguard stderr file
sumfield() { grep -o "summary: .*" "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | tail -1; }

fmt_int() { awk -v x="$1" 'BEGIN { s = sprintf("%.0f", x); n = length(s); o = "";
    for (i = 1; i <= n; i++) { o = o substr(s, i, 1); if ((n - i) % 3 == 0 && i < n) o = o "," } print o }'; }
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }

declare -A BEST RSS CPU WORST
best() { # kind wall rss (CPU time: user + sys of the last run)
    local k=$1 w=$2 r=$3 c
    c=$(calc "$M_user_s + $M_sys_s" 3)
    if [ -z "${CPU[$k]:-}" ] || awk -v a="$c" -v b="${CPU[$k]}" 'BEGIN { exit !(a < b) }'; then
        CPU[$k]=$c
    fi
    if [ -z "${BEST[$k]:-}" ] || awk -v a="$w" -v b="${BEST[$k]}" 'BEGIN { exit !(a < b) }'; then
        BEST[$k]=$w
    fi
    if [ -z "${WORST[$k]:-}" ] || awk -v a="$w" -v b="${WORST[$k]}" 'BEGIN { exit !(a > b) }'; then
        WORST[$k]=$w
    fi
    if [ -z "${RSS[$k]:-}" ] || [ "$r" -gt "${RSS[$k]}" ]; then RSS[$k]=$r; fi
}

check_exit() { [ "$M_exit" = 0 ] || die "$1 failed (exit $M_exit); see $2"; }

# ---- (a) (b) (d) and the startups, best of REPS ---------------------------
cat "$EV" > /dev/null   # page cache
say "measuring (a), (b), (d), the startups and (b) without lists: $REPS rounds"
for rep in $(seq 1 "$REPS"); do
    run --stderr "$OUT/a.err" -- "$OUT/parse_baseline" "$EV"
    check_exit "(a)" "$OUT/a.err"; best a "$M_wall_s" "$M_maxrss_kb"
    run --stdout "$OUT/b.findings" --stderr "$OUT/b.err" -- "$KGUARD" scan --rules "$SNAP/rules.d" --lualib "$SNAP/lualib" "${LISTS[@]}" "$EV"
    check_exit "(b)" "$OUT/b.err"; best b "$M_wall_s" "$M_maxrss_kb"
    run --stdout "$OUT/d.findings" --stderr "$OUT/d.err" -- "$KGUARD" scan --rules "$PLUS" --lualib "$SNAP/lualib" "${LISTS[@]}" "$EV"
    check_exit "(d)" "$OUT/d.err"; best d "$M_wall_s" "$M_maxrss_kb"
    run --stderr "$OUT/bs.err" -- "$KGUARD" scan --rules "$SNAP/rules.d" --lualib "$SNAP/lualib" "${LISTS[@]}" /dev/null
    check_exit "(b) startup" "$OUT/bs.err"; best bs "$M_wall_s" "$M_maxrss_kb"
    run --stderr "$OUT/ds.err" -- "$KGUARD" scan --rules "$PLUS" --lualib "$SNAP/lualib" "${LISTS[@]}" /dev/null
    check_exit "(d) startup" "$OUT/ds.err"; best ds "$M_wall_s" "$M_maxrss_kb"
    run --stdout /dev/null --stderr "$OUT/n.err" -- "$KGUARD" scan --rules "$SNAP/rules.d" --lualib "$SNAP/lualib" "$EV"
    check_exit "(b) without lists" "$OUT/n.err"; best n "$M_wall_s" "$M_maxrss_kb"
    run --stderr "$OUT/ac.err" -- "$OUT/parse_baseline" "$EVC"
    check_exit "(a) complete-only" "$OUT/ac.err"; best ac "$M_wall_s" "$M_maxrss_kb"
    run --stdout "$OUT/bc.findings" --stderr "$OUT/bc.err" -- "$KGUARD" scan --rules "$SNAP/rules.d" --lualib "$SNAP/lualib" "${LISTS[@]}" "$EVC"
    check_exit "(b) complete-only" "$OUT/bc.err"; best bc "$M_wall_s" "$M_maxrss_kb"
    say "  round $rep: best so far a=${BEST[a]}s b=${BEST[b]}s d=${BEST[d]}s"
done
grep -q "bad=0" "$OUT/a.err" || die "(a): some lines did not parse: $(cat "$OUT/a.err")"
B_EVENTS=$(sumfield "$OUT/b.err" events)
B_JUDGED=$(sumfield "$OUT/b.err" judged)
B_FIND=$(sumfield "$OUT/b.err" findings)
B_BAD=$(sumfield "$OUT/b.err" malformed)
B_ERR=$(sumfield "$OUT/b.err" rule_errors)
D_FIND=$(sumfield "$OUT/d.err" findings)
[ "$B_EVENTS" = "$NLINES" ] || die "(b) read $B_EVENTS events, the file has $NLINES"
[ "$B_BAD" = 0 ] || die "(b) reported $B_BAD malformed events"
BC_EVENTS=$(sumfield "$OUT/bc.err" events); BC_JUDGED=$(sumfield "$OUT/bc.err" judged)
BC_FIND=$(sumfield "$OUT/bc.err" findings)
[ "$BC_EVENTS" = "$NLINES_C" ] || die "(b) complete-only read $BC_EVENTS events, the file has $NLINES_C"

# findings byte-identity: (b) on both streams against the same scan with
# every line parsed (--no-prescan, when kguard has it); only the finding
# times taken from the clock (createdAt, updatedAt) are masked
unclock() { sed -E 's/"(createdAt|updatedAt)":"[^"]*"/"\1":"-"/g' "$1"; }
IDENT="not checked (kguard has no --no-prescan)"
HELP=$("$KGUARD" scan --help 2>&1 || true)
if [[ $HELP == *--no-prescan* ]]; then
    say "checking findings byte-identity against --no-prescan"
    for k in b bc; do
        f=$EV; [ "$k" = bc ] && f=$EVC
        "$KGUARD" scan --no-prescan --rules "$SNAP/rules.d" --lualib "$SNAP/lualib" "${LISTS[@]}" "$f" \
            > "$OUT/$k.ref.findings" 2> "$OUT/$k.ref.err" || die "--no-prescan run failed: $OUT/$k.ref.err"
        cmp -s <(unclock "$OUT/$k.findings") <(unclock "$OUT/$k.ref.findings") ||
            die "($k) findings differ from the --no-prescan run: $OUT/$k.findings $OUT/$k.ref.findings"
    done
    IDENT="identical on both streams ($(wc -l < "$OUT/b.findings") and $(wc -l < "$OUT/bc.findings") lines)"
fi

# per-rule counters (an extra, untimed run) when kguard has --stats
STATS=""
if "$KGUARD" scan --help 2>/dev/null | grep -q -- --stats; then
    "$KGUARD" scan --stats --rules "$SNAP/rules.d" --lualib "$SNAP/lualib" "${LISTS[@]}" "$EV" \
        > /dev/null 2> "$OUT/stats.err" || true
    STATS=$(sed -n 's/^kguard: stats: //p' "$OUT/stats.err" | awk 'NR > 1 && NF >= 5 {
            ms = $NF; m = $(NF - 3); t = $1; tot += ms
            printf "%s %s %s\n", ms, m, t } END { printf "%.1f total total\n", tot }' | sort -rn | head -6)
fi

# ---- (c) --------------------------------------------------------------------
say "measuring (c): IP-set load and lookups"
"$OUT/ipset_lookup" --seed "$SEED" --dir "$DATA" --ips "$LOOKUP_IPS" > "$OUT/c.out" ||
    die "(c) failed: $(cat "$OUT/c.out")"
eval "$(sed -n 's/^result: //p' "$OUT/c.out" | tr ' ' '\n' | sed 's/^/C_/')"

# ---- (e) --------------------------------------------------------------------
rss_at() { # samples-file fraction -> MB at that fraction of the run
    awk -v f="$2" '{ t[NR] = $1; r[NR] = $2 } END { if (NR == 0) { print "n/a"; exit }
        i = int(NR * f); if (i < 1) i = 1; if (i > NR) i = NR; printf "%.1f", r[i] / 1024 }' "$1"
}
say "measuring (e): $LONG x the file through stdin"
FILES=$(for i in $(seq 1 "$LONG"); do printf '%q ' "$EV"; done)
run --stdin-cmd "cat $FILES" --stdout /dev/null --stderr "$OUT/e.err" --rss-samples "$OUT/e.rss" \
    -- "$KGUARD" scan --rules "$SNAP/rules.d" --lualib "$SNAP/lualib" "${LISTS[@]}" -
check_exit "(e)" "$OUT/e.err"
E_WALL=$M_wall_s; E_RSS=$M_maxrss_kb
E_EVENTS=$(sumfield "$OUT/e.err" events); E_JUDGED=$(sumfield "$OUT/e.err" judged)
if [ "$FRESH" -gt 0 ]; then
    say "measuring (e): a fresh generated stream of $FRESH events"
    run --stdin-cmd "$(printf '%q' "$OUT/gen") events --seed $SEED --count $FRESH --out /dev/stdout 2>/dev/null" \
        --stdout /dev/null --stderr "$OUT/f.err" --rss-samples "$OUT/f.rss" \
        -- "$KGUARD" scan --rules "$SNAP/rules.d" --lualib "$SNAP/lualib" "${LISTS[@]}" -
    check_exit "(e) fresh" "$OUT/f.err"
    F_WALL=$M_wall_s; F_RSS=$M_maxrss_kb
    F_EVENTS=$(sumfield "$OUT/f.err" events); F_JUDGED=$(sumfield "$OUT/f.err" judged)
    F_FIND=$(sumfield "$OUT/f.err" findings); F_EVICT=$(sumfield "$OUT/f.err" evictions)
fi

# ---- report -----------------------------------------------------------------
MB=$(calc "$BYTES / 1e6" 1)
eps() { calc "$NLINES / $1" 0; }
mbs() { calc "$BYTES / 1e6 / $1" 1; }
nse() { calc "$1 * 1e9 / $NLINES" 0; }
mb() { calc "$1 / 1024" 1; }
A=${BEST[a]} B=${BEST[b]} D=${BEST[d]} BS=${BEST[bs]} DS=${BEST[ds]} N=${BEST[n]}
AC=${BEST[ac]} BC=${BEST[bc]} BCS=$(calc "${BEST[bc]} - ${BEST[bs]}" 6)
R_C_E2E=$(calc "$AC / $BC" 2); R_C_SS=$(calc "$AC / $BCS" 2)
epsc() { calc "$NLINES_C / $1" 0; }
mbsc() { calc "$BYTES_C / 1e6 / $1" 1; }
nsec() { calc "$1 * 1e9 / $NLINES_C" 0; }
BSS=$(calc "$B - $BS" 6); DSS=$(calc "$D - $DS" 6)
R_E2E=$(calc "$A / $B" 2); R_SS=$(calc "$A / $BSS" 2)
D_COST_E2E=$(calc "100 * (1 - $B / $D)" 1); D_COST_SS=$(calc "100 * (1 - $BSS / $DSS)" 1)
spread() { calc "100 * (${WORST[$1]} - ${BEST[$1]}) / ${BEST[$1]}" 0 | sed 's/$/%/'; }
ok() { if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "NOT MET"; fi; }
MAXRSS=$(( RSS[b] > E_RSS ? RSS[b] : E_RSS ))
[ "$FRESH" -gt 0 ] && MAXRSS=$(( MAXRSS > F_RSS ? MAXRSS : F_RSS ))
E_GROW=$(awk -v a="$(rss_at "$OUT/e.rss" 0.5)" -v b="$(rss_at "$OUT/e.rss" 1.0)" 'BEGIN { printf "%.1f", b - a }')
FLAT_E=$(ok "$E_RSS <= ${RSS[b]} * 1.10 + 2048")
if [ "$FRESH" -gt 0 ]; then
    F_GROW=$(awk -v a="$(rss_at "$OUT/f.rss" 0.5)" -v b="$(rss_at "$OUT/f.rss" 1.0)" 'BEGIN { printf "%.1f", b - a }')
    FLAT_F=$(ok "$(rss_at "$OUT/f.rss" 1.0) <= $(rss_at "$OUT/f.rss" 0.5) * 1.05 + 2")
else
    FLAT_F=met
fi
REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src include lualib rules.d 2>/dev/null || REV="$REV+uncommitted changes"

{
echo "kguard benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), seed $SEED"
echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $($CC --version | head -1)"
echo "kguard:  $KGUARD_SRC at $REV, built with CFLAGS ${BENCH_KGUARD_CFLAGS:--O2 -g (Makefile default)}"
echo "input:   $(fmt_int "$NLINES") events, $MB MB ($(calc "$BYTES / $NLINES" 0) B/event), $EV (generation: $GEN_S)"
echo "         ${GENLOG#gen: }"
echo "lists:   6 x 250,000 entries (IPv4/IPv6 addresses and CIDRs; 1 --malicious-ips + 5 --threat-list) + 1,300 Tor exits"
echo "rules:   (b) $NRULES shipped rules; (d) $NRULES + 100 declarative (match.api + match.namespaces only)"
echo
printf '%-44s %10s %8s %9s %10s %10s %8s %7s\n' "best of $REPS" "events/s" "MB/s" "ns/event" "peak RSS" "wall" "cpu" "spread"
printf '%-44s %10s %8s %9s %10s %10s %8s %7s\n' "(a) parse only: getline + cJSON_Parse/Delete" "$(fmt_int "$(eps "$A")")" "$(mbs "$A")" "$(fmt_int "$(nse "$A")")" "$(mb "${RSS[a]}") MB" "$(calc "$A" 3) s" "${CPU[a]} s" "$(spread a)"
printf '%-44s %10s %8s %9s %10s %10s %8s %7s\n' "(b) kguard scan, all rules, all lists" "$(fmt_int "$(eps "$B")")" "$(mbs "$B")" "$(fmt_int "$(nse "$B")")" "$(mb "${RSS[b]}") MB" "$(calc "$B" 3) s" "${CPU[b]} s" "$(spread b)"
printf '%-44s %10s %8s %9s %10s %10s %8s %7s\n' "    startup alone (rules + lists, 0 events)" "" "" "" "$(mb "${RSS[bs]}") MB" "$(calc "$BS" 3) s" "${CPU[bs]} s" "$(spread bs)"
printf '%-44s %10s %8s %9s %10s %10s %8s %7s\n' "    (b) without startup: steady state" "$(fmt_int "$(eps "$BSS")")" "$(mbs "$BSS")" "$(fmt_int "$(nse "$BSS")")" "" "$(calc "$BSS" 3) s" "$(calc "${CPU[b]} - ${CPU[bs]}" 3) s" ""
printf '%-44s %10s %8s %9s %10s %10s %8s %7s\n' "    for comparison: the same without any list" "$(fmt_int "$(eps "$N")")" "$(mbs "$N")" "$(fmt_int "$(nse "$N")")" "$(mb "${RSS[n]}") MB" "$(calc "$N" 3) s" "${CPU[n]} s" "$(spread n)"
printf '%-44s %10s %8s %9s %10s %10s %8s %7s\n' "(d) kguard + 100 declarative rules" "$(fmt_int "$(eps "$D")")" "$(mbs "$D")" "$(fmt_int "$(nse "$D")")" "$(mb "${RSS[d]}") MB" "$(calc "$D" 3) s" "${CPU[d]} s" "$(spread d)"
printf '%-44s %10s %8s %9s %10s %10s %8s %7s\n' "    startup alone" "" "" "" "$(mb "${RSS[ds]}") MB" "$(calc "$DS" 3) s" "${CPU[ds]} s" "$(spread ds)"
printf '%-44s %10s %8s %9s %10s %10s %8s %7s\n' "    (d) without startup: steady state" "$(fmt_int "$(eps "$DSS")")" "$(mbs "$DSS")" "$(fmt_int "$(nse "$DSS")")" "" "$(calc "$DSS" 3) s" "$(calc "${CPU[d]} - ${CPU[ds]}" 3) s" ""
echo "complete-only stream (no RequestReceived): $(fmt_int "$NLINES_C") events, $(calc "$BYTES_C / 1e6" 1) MB"
printf '%-44s %10s %8s %9s %10s %10s %8s %7s\n' "(a) parse only, complete-only stream" "$(fmt_int "$(epsc "$AC")")" "$(mbsc "$AC")" "$(fmt_int "$(nsec "$AC")")" "$(mb "${RSS[ac]}") MB" "$(calc "$AC" 3) s" "${CPU[ac]} s" "$(spread ac)"
printf '%-44s %10s %8s %9s %10s %10s %8s %7s\n' "(b) kguard scan, complete-only stream" "$(fmt_int "$(epsc "$BC")")" "$(mbsc "$BC")" "$(fmt_int "$(nsec "$BC")")" "$(mb "${RSS[bc]}") MB" "$(calc "$BC" 3) s" "${CPU[bc]} s" "$(spread bc)"
printf '%-44s %10s %8s %9s %10s %10s %8s %7s\n' "    without startup: steady state" "$(fmt_int "$(epsc "$BCS")")" "$(mbsc "$BCS")" "$(fmt_int "$(nsec "$BCS")")" "" "$(calc "$BCS" 3) s" "$(calc "${CPU[bc]} - ${CPU[bs]}" 3) s" ""
echo "(spread: slowest run vs best run of the $REPS; a large spread means a busy machine: re-run)"
echo
echo "(b) summary: events=$B_EVENTS judged=$B_JUDGED findings=$B_FIND malformed=$B_BAD rule_errors=$B_ERR; (d) findings=$D_FIND"
echo "ratio (b)/(a) (throughput): $R_E2E end-to-end, $R_SS steady state;" \
     "by CPU time: $(calc "${CPU[a]} / ${CPU[b]}" 2) end-to-end, $(calc "${CPU[a]} / (${CPU[b]} - ${CPU[bs]})" 2) steady state"
echo "complete-only stream: events=$BC_EVENTS judged=$BC_JUDGED findings=$BC_FIND; ratio (b)/(a): $R_C_E2E end-to-end, $R_C_SS steady state;" \
     "by CPU time: $(calc "${CPU[ac]} / ${CPU[bc]}" 2) end-to-end"
echo "findings: $IDENT"
echo "+100 declarative rules cost: $D_COST_SS% of the throughput in steady state, $D_COST_E2E% end-to-end (negative: faster, i.e. noise)"
if [ -n "$STATS" ]; then
echo "Lua time per rule (kguard --stats, one extra untimed run of (b)); Lua total $(echo "$STATS" | awk '$3 == "total" { print $1 }') ms:"
echo "$STATS" | awk '$3 != "total" { printf "    %-56s %8s ms  %7s events matched\n", $3, $1, $2 }'
fi
echo
echo "(c) IP sets: $(fmt_int "$C_entries") entries in 7 lists (6 x 250,000 + Tor); the lists take $C_rss_lists_mb MB"
echo "    load one 250,000-entry list (ipset_load_file + ipset_finalize): max $(calc "$C_load_max_s" 3) s, mean $(calc "$C_load_mean_s" 3) s"
echo "    one lookup (ipset_contains), realistic mix: median $C_lookup_median_ns ns, p99 $C_lookup_p99_ns ns, $(fmt_int "$C_lookups_per_s") lookups/s"
echo "    random public addresses only:              median $C_public_median_ns ns, $(fmt_int "$C_public_lookups_per_s") lookups/s"
echo "    one sourceIP: parse + lookups in all 7 lists: median $C_ip_all_lists_median_ns ns"
echo
echo "(e) peak RSS: 1x file $(mb "${RSS[b]}") MB; ${LONG}x file through stdin ($(fmt_int "$E_EVENTS") events, $(fmt_int "$E_JUDGED") judged, $(calc "$E_WALL" 1) s) $(mb "$E_RSS") MB"
echo "    RSS during the ${LONG}x run: $(rss_at "$OUT/e.rss" 0.1) MB at 10%, $(rss_at "$OUT/e.rss" 0.5) MB at 50%, $(rss_at "$OUT/e.rss" 1.0) MB at the end (+$E_GROW MB over the second half)"
if [ "$FRESH" -gt 0 ]; then
echo "    fresh stream of $(fmt_int "$F_EVENTS") generated events ($(fmt_int "$F_JUDGED") judged, $(calc "$F_WALL" 1) s): peak $(mb "$F_RSS") MB;" \
     "$(rss_at "$OUT/f.rss" 0.1) MB at 10%, $(rss_at "$OUT/f.rss" 0.5) MB at 50%, $(rss_at "$OUT/f.rss" 1.0) MB at the end (+$F_GROW MB over the second half)"
echo "    fresh stream: findings=$F_FIND (distinct aggregation keys) evictions=$F_EVICT"
fi
echo
echo "targets (issue 6):"
printf '  %-52s %-8s %s\n' "(b)/(a) >= 1.0, steady state (aim 2.0)" "$(ok "$R_SS >= 1.0")" "$R_SS (end-to-end $R_E2E: $(ok "$R_E2E >= 1.0"); aim 2.0: $(ok "$R_SS >= 2.0"))"
printf '  %-52s %-8s %s\n' "IP lookup median <= 100 ns with 1.5M entries" "$(ok "$C_lookup_median_ns <= 100")" "$C_lookup_median_ns ns (public-only $C_public_median_ns ns)"
printf '  %-52s %-8s %s\n' "load one 250,000-entry list <= 0.5 s" "$(ok "$C_load_max_s <= 0.5")" "$(calc "$C_load_max_s" 3) s"
printf '  %-52s %-8s %s\n' "peak RSS <= 150 MB with all lists loaded" "$(ok "$MAXRSS <= 150 * 1024")" "$(mb "$MAXRSS") MB (largest of all kguard runs)"
printf '  %-52s %-8s %s\n' "RSS flat over long runs" "$( [ "$FLAT_E" = met ] && [ "$FLAT_F" = met ] && echo met || echo "NOT MET")" \
       "${LONG}x replay: $FLAT_E; fresh stream: $FLAT_F (peak within 10% of 1x; < 5% growth over the second half)"
printf '  %-52s %-8s %s\n' "+100 declarative rules cost <= 20%" "$(ok "$D_COST_SS <= 20")" "$D_COST_SS% steady state ($D_COST_E2E% end-to-end)"
} | tee "$OUT/results.txt"
[ "${BENCH_CACHE:-1}" = 0 ] || bench/cache.sh | tee -a "$OUT/results.txt"   # lever 2 (issue 15)
[ -f bench/threads.sh ] && . bench/threads.sh   # lever 5: --threads (appends to results.txt)
say "measuring the rules scaling (bench/rules.sh)"
OUT=$OUT GEN=$OUT/gen MEASURE=$MEASURE KGUARD=$KGUARD RULES=$SNAP/rules.d LUALIB=$SNAP/lualib EVENTS=$EVC REPS=$REPS SEED=$SEED bench/rules.sh | tee -a "$OUT/results.txt"
say "results in $OUT/results.txt; raw outputs in $OUT/*.err, $OUT/c.out, RSS samples in $OUT/e.rss and $OUT/f.rss"
