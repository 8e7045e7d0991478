#!/usr/bin/env bash
# test_match_cli.sh: `dustload match` end to end: help, usage and exit codes,
# refusal to overwrite, the CSV header, a real NMEA capture far from any road,
# and accuracy on an independent generated drive (../shared/checks/gen_traces.py
# on the central Beijing network, so the 5th-ring network from ../shared).
set -u
DL=${DL_BIN:?}; FX=${DL_FIXTURES:?}; SH=${DL_SHARED:-}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
HDR='time_utc,lat,lon,segment,offset_m,matched_lat,matched_lon,distance_m,status'

"$DL" match --help | grep -q -- '--network' || fail "help lacks --network"
"$DL" network import -q --osm "$FX/osm/beijing_haidian_2013.osm" -o "$T/hd.net" || fail "import"
"$DL" match "$FX/nmea_gpsd/bu353s4.log" -o "$T/x.csv" 2>/dev/null; [ $? -eq 64 ] || fail "missing --network not 64"
"$DL" match --network "$T/hd.net" "$FX/nmea_gpsd/bu353s4.log" 2>/dev/null; [ $? -eq 64 ] || fail "missing -o not 64"
"$DL" match --network "$T/hd.net" "$T/none.log" -o "$T/x.csv" 2>/dev/null; [ $? -eq 66 ] || fail "missing input not 66"
"$DL" match --network "$T/none.net" "$FX/nmea_gpsd/bu353s4.log" -o "$T/x.csv" 2>/dev/null; [ $? -eq 66 ] || fail "missing network not 66"
# a real capture recorded far from Beijing: every fix is kept, none is placed
"$DL" match --network "$T/hd.net" "$FX/nmea_gpsd/bu353s4.log" -o "$T/far.csv" 2>"$T/err" || fail "match: $(cat "$T/err")"
[ "$(head -1 "$T/far.csv")" = "$HDR" ] || fail "header: $(head -1 "$T/far.csv")"
nfix=$("$DL" inspect --fixes "$FX/nmea_gpsd/bu353s4.log" | tail -n +2 | wc -l)
[ "$(tail -n +2 "$T/far.csv" | wc -l)" -eq "$nfix" ] || fail "rows != fixes ($nfix)"
[ "$(tail -n +2 "$T/far.csv" | grep -c ',,,,,unmatched$')" -eq "$nfix" ] || fail "far fixes not all unmatched"
grep -q "$nfix points, 0 matched" "$T/err" || fail "summary: $(cat "$T/err")"
"$DL" match -q --network "$T/hd.net" "$FX/nmea_gpsd/bu353s4.log" -o "$T/far.csv"; [ $? -eq 73 ] || fail "overwrite without --force"
"$DL" match -q --force --network "$T/hd.net" "$FX/nmea_gpsd/bu353s4.log" -o "$T/far.csv" || fail "--force"
ls "$T"/far.csv.tmp* >/dev/null 2>&1 && fail "temporary file left behind"

GEN=$SH/checks/gen_traces.py
PBF=$SH/data/beijing_roadnet_osm2013/beijing_5thring_2013.osm.pbf
if [ -z "$SH" ] || [ ! -f "$GEN" ] || [ ! -f "$PBF" ]; then
  echo "skipped: ../shared (gen_traces.py and the Beijing network) not found; a fresh clone has no ../shared"
  exit 77
fi
SCORE=$(dirname "$GEN")/match_score.py
"$DL" network import -q --osm "$PBF" -o "$T/bj.net" || fail "import bj"
/usr/bin/python3 "$GEN" --seed 3 --minutes 15 --sigma 5 --out "$T/g" >/dev/null 2>&1 || fail "gen_traces"
"$DL" match -q --network "$T/bj.net" "$T/g/trace.csv" -o "$T/g/m1.csv" --threads 1 || fail "match gen"
"$DL" match -q --network "$T/bj.net" "$T/g/trace.csv" -o "$T/g/m2.csv" --threads 2 || fail "match gen 2 threads"
cmp -s "$T/g/m1.csv" "$T/g/m2.csv" || fail "1 and 2 threads differ"
out=$(/usr/bin/python3 "$SCORE" gen "$T/g/truth.csv" "$T/g/m1.csv" 99.5) || fail "accuracy at sigma 5: $out"
echo "sigma 5: $out"
exit 0
