# bench/threads.sh: lever 5 of issue 15 (--threads), sourced by bench/run.sh after its report
# (it uses run.sh's helpers, lists, snapshot and streams).  On both streams: the plain loop (a)
# and kguard scan, all rules, all lists, end to end, with --threads 1, 2 and the default (one
# worker per core), BENCH_REPS rounds taken in turn; medians of wall and CPU time; ratios to
# the plain loop's median of the same rounds.  Findings of every threaded run must be
# byte-identical to --threads 1 (createdAt/updatedAt masked), with the same summary.
# BENCH_THREADS="1 2 0" sets the settings (0: the default).

thr_median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "n/a"; exit } print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

THR_SET=${BENCH_THREADS:-1 2 0}
THR_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A THR_W THR_C
say "lever 5: --threads ${THR_SET// /, } on both streams, $REPS rounds"
for rep in $(seq 1 "$REPS"); do
    for s in staged complete; do
        f=$EV; [ "$s" = complete ] && f=$EVC
        run --stderr "$OUT/thr-a-$s.err" -- "$OUT/parse_baseline" "$f"
        check_exit "(a) $s" "$OUT/thr-a-$s.err"
        THR_W[a-$s]+="$M_wall_s "; THR_C[a-$s]+="$(calc "$M_user_s + $M_sys_s" 3) "
        for t in $THR_SET; do
            run --stdout "$OUT/thr-$t-$s.findings" --stderr "$OUT/thr-$t-$s.err" -- "$KGUARD" scan \
                --threads "$t" --rules "$SNAP/rules.d" --lualib "$SNAP/lualib" "${LISTS[@]}" "$f"
            check_exit "--threads $t $s" "$OUT/thr-$t-$s.err"
            THR_W[$t-$s]+="$M_wall_s "; THR_C[$t-$s]+="$(calc "$M_user_s + $M_sys_s" 3) "
        done
    done
done
for s in staged complete; do
    for t in $THR_SET; do
        [ "$t" = 1 ] && continue
        cmp -s <(unclock "$OUT/thr-$t-$s.findings") <(unclock "$OUT/thr-1-$s.findings") ||
            die "--threads $t ($s) findings differ from --threads 1: $OUT/thr-$t-$s.findings"
        [ "$(grep -o 'summary: .*' "$OUT/thr-$t-$s.err")" = "$(grep -o 'summary: .*' "$OUT/thr-1-$s.err")" ] ||
            die "--threads $t ($s) summary differs from --threads 1: $OUT/thr-$t-$s.err"
    done
done
{
echo
echo "lever 5, --threads (medians of $REPS rounds, end to end, startup included; $(nproc) CPUs;" \
     "load average before: ${THR_LOAD:-$(cut -d' ' -f1-3 /proc/loadavg)})"
printf '%-34s %12s %12s %10s %10s %12s\n' "" "wall" "cpu" "events/s" "vs (a)" "cpu vs (a)"
for s in staged complete; do
    n=$NLINES; [ "$s" = complete ] && n=$NLINES_C
    aw=$(echo "${THR_W[a-$s]}" | thr_median); ac=$(echo "${THR_C[a-$s]}" | thr_median)
    printf '%-34s %10s s %10s s %10s %10s %12s\n' "(a) plain loop, $s" "$(calc "$aw" 3)" "$(calc "$ac" 3)" \
        "$(fmt_int "$(calc "$n / $aw" 0)")" "1.00" "1.00"
    for t in $THR_SET; do
        w=$(echo "${THR_W[$t-$s]}" | thr_median); c=$(echo "${THR_C[$t-$s]}" | thr_median)
        label="--threads $t"; [ "$t" = 0 ] && label="--threads default ($(nproc))"
        printf '%-34s %10s s %10s s %10s %10s %12s\n' "$label, $s" "$(calc "$w" 3)" "$(calc "$c" 3)" \
            "$(fmt_int "$(calc "$n / $w" 0)")" "$(calc "$aw / $w" 2)" "$(calc "$ac / $c" 2)"
    done
done
echo "findings and summaries of every --threads run identical to --threads 1 on both streams"
echo "target (issue 15): default threads >= 2.0 x (a) end to end on both streams (aim 2.5)"
} | tee -a "$OUT/results.txt"
