#!/usr/bin/env bash
# gen_batch_workload.sh: a batch workload of N simulated monitoring runs on
# one network: a year of weekly H-hour runs by default (N=52, H=8), run i
# with seed i starting on Monday of week i of 2020 at 09:00 Beijing time,
# each in OUT/week-NN/ with its manifest.ini (run id week-NN).
# usage: bench/gen_batch_workload.sh NET OUT [N=52] [HOURS=8]
set -euo pipefail
NET=${1:?usage: gen_batch_workload.sh NET OUT [N] [HOURS]}; OUT=${2:?}; N=${3:-52}; H=${4:-8}
DL=${DL_BIN:-$(dirname "$0")/../build/dustload}
mkdir -p "$OUT"
t0=$(date -u -d 2020-01-06T01:00:00Z +%s) # Monday 6 January 2020, 09:00 in Beijing
for i in $(seq 1 "$N"); do
  d=$(printf '%s/week-%03d' "$OUT" "$i")
  [ -f "$d/manifest.ini" ] && continue
  start=$(date -u -d "@$((t0 + (i - 1) * 7 * 86400))" +%Y-%m-%dT%H:%M:%SZ)
  "$DL" simulate -q --network "$NET" --seed "$i" --hours "$H" --start "$start" -o "$d"
  sed -i "s/^id = .*/id = $(basename "$d")/" "$d/manifest.ini"
done
echo "$N runs of $H h in $OUT"
