#!/usr/bin/env bash
# The main job on the bundled example: installs dependencies, builds, compiles
# the bundled OpenStreetMap extract (Haidian, © OpenStreetMap contributors)
# with a DEMONSTRATION township partition (made up: see
# tests/fixtures/demo/README.md), simulates a 2-hour monitoring run on it
# (NMEA GPS + two DustTrak exports + manifest), processes the run and prints
# the township ranking. Outputs go to out/demo/ (override with DL_DEMO_OUT).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build >/dev/null
DL=build/dustload
F=tests/fixtures
OUT=${DL_DEMO_OUT:-out/demo}
mkdir -p "$OUT"
echo "== a real capture: what is in a u-blox NMEA log and a DustTrak II export"
$DL inspect $F/nmea_gpsd/ublox-neo-m9n-nmea.log | sed -n '1,4p;/time span/,$p'
$DL inspect --tz +05:30 $F/mmaq_dusttrak/2019_09_25_h091000_KAN_DT8530.csv | sed -n '1,2p;/readings/,$p'
echo "== compile the road network (Haidian extract + demonstration townships)"
$DL network import --force -q --osm $F/osm/beijing_haidian_2013.osm \
  --townships $F/demo/demo_townships.geojson --districts $F/demo/demo_district.geojson \
  -o "$OUT/haidian.net"
$DL network info "$OUT/haidian.net" | grep -E '^(segments|roads|length_km|townships):'
echo "== simulate a 2-hour monitoring run (seed 7)"
$DL simulate --force -q --network "$OUT/haidian.net" --seed 7 --hours 2 -o "$OUT/sim"
ls "$OUT/sim"
echo "== process it: dustload run"
$DL run --force -q "$OUT/sim/manifest.ini" -o "$OUT/run.h5" --tables "$OUT/tables" --geojson "$OUT/segments.geojson"
echo "== township ranking (demonstration partition)"
sed -n '1,/^## Townships: best 30/p' "$OUT/tables/ranking.md" | sed '$d'
sed -n '/^## Roads: worst 3/,/^## Roads (all/p' "$OUT/tables/ranking.md" | sed '$d'
echo
echo "outputs: $OUT/run.h5 (HDF5), $OUT/tables/ (CSV + Markdown), $OUT/segments.geojson (QGIS)"
