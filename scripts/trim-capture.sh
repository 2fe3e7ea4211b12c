#!/usr/bin/env bash
# Trim the raw logs of scripts/capture-qemu-trace.sh into small test fixtures, by whole lines only
# (no line is edited). test/fixtures/import/README.md says which runs the committed fixtures came from.
#
# Usage: scripts/trim-capture.sh qemu RAW.log OUT.log HEAD BEFORE AFTER TAIL IR_KEEP [ANCHOR]
#          keeps, of the lines that are not interrupt remapping (vtd_ir_*, vtd_warn_ir_vector: one set
#          per timer tick, 90% of the raw log), the first HEAD, BEFORE before to AFTER after the first
#          line matching the awk regex ANCHOR (default: the first fault, vtd_dmar_fault or
#          smmuv3_record_event), and the last TAIL; of the interrupt-remapping lines, the first IR_KEEP.
#        scripts/trim-capture.sh ftrace RAW.txt OUT.txt HEAD AFTER_MARK
#          keeps the '#' header, the first HEAD event lines, and each trace_marker line with the AFTER_MARK
#          lines that follow it.
# Kept lines stay in their original order.
set -euo pipefail
die() { echo "trim-capture.sh: $*" >&2; exit 2; }
[ $# -ge 3 ] || die "usage: trim-capture.sh qemu|ftrace RAW OUT N..."
kind=$1 raw=$2 out=$3
[ -r "$raw" ] || die "cannot read $raw"
shift 3
case "$kind" in
  qemu)
    [ $# -eq 5 ] || [ $# -eq 6 ] || die "qemu needs HEAD BEFORE AFTER TAIL IR_KEEP [ANCHOR]"
    awk -v head="$1" -v before="$2" -v after="$3" -v tail="$4" -v irkeep="$5" \
        -v anchor="${6:-(vtd_dmar_fault|smmuv3_record_event) }" '
      { line[NR] = $0; ir[NR] = ($0 ~ /:?vtd_(ir_|warn_ir_vector)/) }
      END {
        n = 0
        for (i = 1; i <= NR; i++) if (!ir[i]) { n++; pos[n] = i; if (!at && line[i] ~ anchor) at = n }
        for (k = 1; k <= n; k++)
          if (k <= head || k > n - tail || (at && k >= at - before && k <= at + after)) keep[pos[k]] = 1
        kept = 0
        for (i = 1; i <= NR; i++) if (ir[i] && kept < irkeep) { keep[i] = 1; kept++ }
        for (i = 1; i <= NR; i++) if (keep[i]) print line[i]
      }' "$raw" >"$out.tmp"
    ;;
  ftrace)
    [ $# -eq 2 ] || die "ftrace needs HEAD AFTER_MARK"
    awk -v head="$1" -v after="$2" '
      /^#/ { print; next }
      { events++ }
      / tracing_mark_write: / { left = after + 1 }
      events <= head || left > 0 { print }
      { if (left > 0) left-- }' "$raw" >"$out.tmp"
    ;;
  *) die "unknown kind '$kind' (qemu or ftrace)" ;;
esac
mv "$out.tmp" "$out"
echo "trim-capture.sh: $raw ($(wc -l <"$raw") lines) -> $out ($(wc -l <"$out") lines, $(wc -c <"$out") bytes)"
