#!/usr/bin/env bash
# bench/rules.sh: the rules scaling table (issue 15, lever 4), called by bench/run.sh.
#
# kguard scan on the complete-only stream with the shipped rules, plus 100 and plus 1,000
# generated declarative rules (bench/gen.c `rules`: match.api + match.namespaces, as (d)),
# without lists (they cost the same whatever the rules), best wall time of REPS rounds,
# interleaved; steady state = minus the same command on an empty input.  The generated rules
# fire, so part of their cost is writing their findings.  Also checks that the findings with
# 1,000 rules are byte-identical to --no-prescan (every line parsed whole, bodies too).
# Environment (set by run.sh): OUT GEN MEASURE KGUARD RULES LUALIB EVENTS REPS SEED.
set -euo pipefail
D=$OUT/rules-scaling
mkdir -p "$D"
declare -A DIR=([0]=$RULES)
for n in 100 1000; do
    DIR[$n]=$D/plus$n
    rm -rf "${DIR[$n]}" && mkdir -p "${DIR[$n]}"
    cp "$RULES"/*.lua "${DIR[$n]}/"
    "$GEN" rules --seed "$SEED" --count "$n" --dir "${DIR[$n]}" 2>/dev/null
done
NSHIP=$(ls "$RULES"/*.lua | wc -l)

declare -A WALL CPU EWALL ECPU
keep() { # key wall cpu: keep the best wall (and the CPU of that run)
    if [ -z "${WALL[$1]:-}" ] || awk -v a="$2" -v b="${WALL[$1]}" 'BEGIN { exit !(a < b) }'; then
        WALL[$1]=$2; CPU[$1]=$3
    fi
}
measure() { # key input -> sets the best of key
    local line wall user sys exit
    line=$("$MEASURE" --stdout "$D/$1.findings" --stderr "$D/$1.err" -- \
           "$KGUARD" scan --rules "${DIR[${1%e}]}" --lualib "$LUALIB" "$2")
    eval "$line"   # wall_s user_s sys_s maxrss_kb exit
    [ "$exit" = 0 ] || { echo "rules.sh: kguard failed, see $D/$1.err" >&2; exit 1; }
    keep "$1" "$wall_s" "$(awk -v u="$user_s" -v s="$sys_s" 'BEGIN { printf "%.3f", u + s }')"
}
for rep in $(seq 1 "$REPS"); do
    for n in 0 100 1000; do
        measure "$n" "$EVENTS"
        measure "${n}e" /dev/null
    done
done
# identity: 1,000 rules, lazy bodies and pre-scan against every line parsed whole
unclock() { sed -E 's/"(createdAt|updatedAt)":"[^"]*"/"\1":"-"/g' "$1"; }
"$KGUARD" scan --no-prescan --rules "${DIR[1000]}" --lualib "$LUALIB" "$EVENTS" > "$D/1000.ref.findings" 2>/dev/null
if cmp -s <(unclock "$D/1000.findings") <(unclock "$D/1000.ref.findings"); then
    IDENT="identical to --no-prescan ($(wc -l < "$D/1000.findings") lines)"
else
    echo "rules.sh: findings with 1,000 rules differ from --no-prescan: $D/1000.findings $D/1000.ref.findings" >&2
    exit 1
fi
events=$(grep -o 'events=[0-9]*' "$D/0.err" | tail -1 | cut -d= -f2)
echo "rules scaling (complete-only stream, no lists, best of $REPS; steady state = minus the startup on an empty input):"
printf '  %-22s %9s %9s %9s %11s %9s %9s\n' rules "wall" "startup" "steady" "events/s" "cost" "findings"
for n in 0 100 1000; do
    ss=$(awk -v a="${WALL[$n]}" -v b="${WALL[${n}e]}" 'BEGIN { printf "%.3f", a - b }')
    [ "$n" = 0 ] && base=$ss
    cost=$(awk -v s="$ss" -v b="$base" 'BEGIN { printf "%.1f%%", (1 - b / s) * 100 }')
    printf '  %-22s %8.3fs %8.3fs %8.3fs %11s %9s %9s\n' "$NSHIP + $n" "${WALL[$n]}" "${WALL[${n}e]}" "$ss" \
        "$(awk -v e="$events" -v s="$ss" 'BEGIN { printf "%.0f", e / s }')" "$cost" \
        "$(grep -o 'findings=[0-9]*' "$D/$n.err" | tail -1 | cut -d= -f2)"
done
echo "  (cost: 1 - throughput / throughput with the shipped rules alone, steady state)"
echo "  findings with $NSHIP + 1000 rules: $IDENT"
