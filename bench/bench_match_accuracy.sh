#!/usr/bin/env bash
# bench_match_accuracy.sh: accuracy of `dustload match`: the independent generator (shared/checks/gen_traces.py,
# fixes within 5 m of the true trajectory) at sigma 5 and 15 m over several seeds, dustload's own simulator
# at sigma 5 and 15 m, seeds 1-8 (interior and all fixes on the true segment, and all fixes within 5 m of the
# true trajectory: bench_match_truth, built next to DUSTLOAD), and the real taxi traces (route length
# coverage both ways, bench/match_accuracy.py).
# usage: bench/bench_match_accuracy.sh DUSTLOAD [SHARED_DIR (default ../shared)] [SEEDS (default "1 2 3 4 5 6")]
# Needs Debian's python3 with numpy and pyproj. Takes about a minute.
set -eu
DL=$(readlink -f "${1:?usage: bench_match_accuracy.sh DUSTLOAD [SHARED_DIR] [SEEDS]}")
HERE=$(cd "$(dirname "$0")" && pwd)
SH=$(readlink -f "${2:-$HERE/../../shared}")
SEEDS=${3:-"1 2 3 4 5 6"}
PY=/usr/bin/python3
CK=$SH/checks
MM=$SH/data/beijing_roadnet_osm2013
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
"$DL" network import --osm "$MM/beijing_5thring_2013.osm.pbf" -o "$T/bj.net" >/dev/null 2>&1

echo "generator (gen_traces.py, 30 min at seeds 1-3, 60 min after): share of fixes within 5 m of the true trajectory"
for sg in 5 15; do
  line="  sigma $sg m:"
  sum=0; n=0
  for s in $SEEDS; do
    min=30; [ "$s" -gt 3 ] && min=60
    $PY "$CK/gen_traces.py" --seed "$s" --minutes "$min" --sigma "$sg" --out "$T/g" >/dev/null 2>&1
    "$DL" match --network "$T/bj.net" "$T/g/trace.csv" -o "$T/g/m.csv" --force -q
    r=$($PY "$CK/match_score.py" gen "$T/g/truth.csv" "$T/g/m.csv" 0 | awk '{print $1}')
    line="$line seed $s $r %,"
    sum=$($PY -c "print($sum + $r)"); n=$((n + 1))
  done
  echo "$line mean $($PY -c "print(f'{$sum / $n:.2f}')") %"
done

SCORE=$(dirname "$DL")/bench_match_truth
echo "simulator (dustload simulate, 1 h on the central Beijing network): fixes on their true segment, within 5 m"
for sg in 5 15; do
  for s in 1 2 3 4 5 6 7 8; do
    "$DL" simulate --network "$T/bj.net" --seed "$s" --hours 1 --sigma "$sg" -o "$T/sim" --force >/dev/null 2>&1
    "$DL" match --network "$T/bj.net" "$T/sim/gps.nmea" -o "$T/sim/m.csv" --force -q
    if [ -x "$SCORE" ]; then
      echo "  sigma $sg m, seed $s: $("$SCORE" "$T/bj.net" "$T/sim/truth_points.csv" "$T/sim/m.csv")"
    else
      echo "  sigma $sg m, seed $s: $($PY "$CK/match_score.py" truth "$T/sim/truth_points.csv" "$T/sim/m.csv" || true)"
    fi
  done
done

echo "real taxi traces (SparseTaxi beijing_sparse, hand-matched paths, fixes 30 s apart)"
echo "  $($PY "$HERE/match_accuracy.py" "$DL" "$T/bj.net" "$MM" "$T")"
