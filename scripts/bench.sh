#!/usr/bin/env bash
# Runs every benchmark of bench/ on its named workload and prints the
# figures the README quotes. Builds the release binary first. Needs
# ../shared/data (the central Beijing network) for the network, matching and
# whole-run figures; the rest run anywhere.
# usage: scripts/bench.sh [all|parse|network|match|accuracy|simulate|proc|run|batch] [BATCH_RUNS=52] [BATCH_HOURS=8]
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}; NB=${2:-52}; HB=${3:-8}
scripts/build.sh build >/dev/null
B=$PWD/build; DL=$B/dustload
SH=${DL_SHARED:-$(cd .. && pwd)/shared}
MM=$SH/data/beijing_roadnet_osm2013
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/Mem:/{print $2}') GiB; $(date -u +%F)"
need_shared() { [ -f "$MM/beijing_5thring_2013.osm.pbf" ] || { echo "skipped $1: $MM not found"; return 1; }; }
bjnet() { [ -f "$T/bj.net" ] || "$DL" network import -q --osm "$MM/beijing_5thring_2013.osm.pbf" -o "$T/bj.net"; }
run() { [ "$what" = all ] || [ "$what" = "$1" ]; }
if run parse; then echo "== NMEA and DustTrak parsing (bench_parse, 300 MB NMEA)"; "$B/bench_parse" "$T/parse" 300; rm -rf "$T/parse"; fi
if run network && need_shared network; then echo "== network import/open/queries (bench_network)"; "$B/bench_network" "$MM" "$DL"; fi
if run match && need_shared match; then bjnet; echo "== matching speed (bench_match, 24 one-hour traces)"; "$B/bench_match" "$T/bj.net"
  echo "== whole dustload match process on a one-hour trace"
  /usr/bin/python3 "$SH/checks/gen_traces.py" --seed 1 --minutes 60 --sigma 5 --out "$T/g60" >/dev/null
  /usr/bin/time -f "  %e s wall, %M KB peak RSS" "$DL" match -q --network "$T/bj.net" "$T/g60/trace.csv" -o "$T/g60/m.csv"; fi
if run accuracy && need_shared accuracy; then echo "== matching accuracy (bench_match_accuracy.sh)"; bench/bench_match_accuracy.sh "$DL" "$SH"; fi
if run simulate && need_shared simulate; then bjnet; echo "== simulate 8 h (bench_simulate)"; "$B/bench_simulate" "$T/bj.net" 8; fi
if run proc; then echo "== run-stage kernels (bench_proc)"; "$B/bench_proc"; fi
if run run && need_shared run; then bjnet; echo "== whole run of a simulated 8 h run (bench_run)"
  "$DL" simulate -q --network "$T/bj.net" --seed 1 --hours 8 -o "$T/sim8"
  for th in 1 2; do "$B/bench_run" --threads $th "$T/sim8/manifest.ini"; done; fi
if run batch; then echo "== batch: $NB runs of $HB h (bench_batch.sh)"; DL_BIN=$DL bench/bench_batch.sh "$NB" "$HB"; fi
