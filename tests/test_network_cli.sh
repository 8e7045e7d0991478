#!/usr/bin/env bash
# test_network_cli.sh: `dustload network import` and `info` end to end: keys,
# exit codes, refusal to overwrite, damaged files, districts from ../shared.
set -u
DL=${DL_BIN:?}; FX=${DL_FIXTURES:?}; SH=${DL_SHARED:-}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
osm=$FX/osm/beijing_haidian_2013.osm

"$DL" network --help | grep -q -- '--boundary-crs' || fail "help lacks --boundary-crs"
"$DL" network import --osm "$osm" -o "$T/hd.net" 2>"$T/err" || fail "import failed: $(cat "$T/err")"
grep -q 'highway=other: 61 ways (unknown value)' "$T/err" || fail "drop report missing: $(cat "$T/err")"
"$DL" network info "$T/hd.net" >"$T/info" || fail "info failed"
for k in nodes segments roads length_km bbox crs townships districts class_tertiary; do
  grep -q "^$k: " "$T/info" || fail "info lacks $k"
done
grep -qx 'segments: 1950' "$T/info" || fail "segments: $(grep segments "$T/info")"
grep -qx 'crs: EPSG:32650' "$T/info" || fail "crs"
km=$(awk -F': ' '$1=="length_km"{print $2}' "$T/info")
awk -v k="$km" 'BEGIN{exit !(k > 429.157*0.995 && k < 429.157*1.005)}' || fail "length_km $km"
# the same import again: up to date, nothing rewritten (same inode, exit 0)
ino=$(stat -c %i "$T/hd.net")
"$DL" network import --osm "$osm" -o "$T/hd.net" 2>"$T/err" || fail "re-import of the same network failed"
grep -q "up to date" "$T/err" || fail "re-import does not say up to date"
[ "$(stat -c %i "$T/hd.net")" = "$ino" ] || fail "re-import rewrote the file"
# a different network at the path: refused without --force (73), replaced with it
"$DL" network import -q --service --osm "$osm" -o "$T/hd.net"; rc=$?
[ $rc -eq 73 ] || fail "overwrite of a different network without --force gave $rc"
[ "$(stat -c %i "$T/hd.net")" = "$ino" ] || fail "refused import touched the file"
"$DL" network import -q --force --service --osm "$osm" -o "$T/hd.net" || fail "--force"
"$DL" network import -q --force --osm "$osm" -o "$T/hd.net" || fail "--force back"
# usage and input errors
"$DL" network import -o "$T/x.net" 2>/dev/null; [ $? -eq 64 ] || fail "missing --osm not 64"
"$DL" network import --osm "$T/none.osm" -o "$T/x.net" 2>/dev/null; [ $? -eq 66 ] || fail "missing input not 66"
"$DL" network import --osm "$osm" -o "$T/x.net" --boundary-crs bd09 2>/dev/null; [ $? -eq 64 ] || fail "bad crs not 64"
printf '<osm><node id="1" lat="1" lon="2"><way' >"$T/junk.osm"
# readosm does not free its expat parser after an XML error (a library leak, not ours): no leak check here
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 "$DL" network import --osm "$T/junk.osm" -o "$T/x.net" 2>"$T/err"; [ $? -eq 65 ] || fail "junk osm not 65: $(cat "$T/err")"
[ ! -e "$T/x.net" ] || fail "failed import left an output"
# damaged network files: clear error, exit 65
head -c 5000 "$T/hd.net" >"$T/trunc.net"
"$DL" network info "$T/trunc.net" 2>"$T/err"; [ $? -eq 65 ] || fail "truncated not 65"
grep -q truncated "$T/err" || fail "truncated message: $(cat "$T/err")"
cp "$T/hd.net" "$T/flip.net"; printf '\x55' | dd of="$T/flip.net" bs=1 seek=40000 conv=notrunc 2>/dev/null
"$DL" network info "$T/flip.net" 2>"$T/err"; [ $? -eq 65 ] || fail "flipped byte not 65"
grep -q checksum "$T/err" || fail "flip message: $(cat "$T/err")"
"$DL" network info --segments "$T/hd.net" | head -1 | grep -q '^segment,from,to,osm_way' || fail "--segments header"
[ "$("$DL" network info --segments "$T/hd.net" | wc -l)" -eq 1951 ] || fail "--segments rows"
# real district polygons (internal test data in ../shared, never copied here)
dg=$SH/data/beijing_admin_divisions/beijing_central6_districts_gcj02.geojson
if [ -r "$dg" ]; then
  "$DL" network import -q --osm "$osm" -o "$T/d.net" --districts "$dg" --boundary-crs gcj02 || fail "districts import"
  "$DL" network info "$T/d.net" >"$T/dinfo"
  grep -qx 'districts: 6' "$T/dinfo" || fail "districts count"
  grep -q '^district_海淀区: ' "$T/dinfo" || fail "no Haidian"
  "$DL" network import -q --osm "$osm" -o "$T/e.net" --districts "$dg" --name-field nosuch 2>"$T/err"
  [ $? -eq 65 ] && grep -q "adcode" "$T/err" || fail "bad --name-field: $(cat "$T/err")"
else
  echo "district part skipped: $dg not found"
fi
# .osm.pbf (own reader) and .osm (readosm) of the same data: the same network, byte for byte
pbf=$SH/data/beijing_roadnet_osm2013/beijing_5thring_2013.osm.pbf
if [ -r "$pbf" ] && [ -r "${pbf%.pbf}" ]; then
  "$DL" network import -q --osm "$pbf" -o "$T/p.net" || fail "pbf import"
  "$DL" network import -q --osm "${pbf%.pbf}" -o "$T/x.net" || fail "osm import"
  cmp -s "$T/p.net" "$T/x.net" || fail "pbf and osm give different networks"
  grep -qx 'length_km: 6358.567' <("$DL" network info "$T/p.net") || fail "pbf length_km"
  # damaged PBF: exit 65 with the file named, never a crash, no output
  head -c 100000 "$pbf" >"$T/cut.osm.pbf"
  : >"$T/empty.osm.pbf"
  head -c 4000 "$T/hd.net" >"$T/junk.osm.pbf"
  { head -c 200 "$pbf"; head -c 60000 /dev/zero | tr '\0' '\377'; } >"$T/ff.osm.pbf"
  for f in cut empty junk ff; do
    "$DL" network import -q --osm "$T/$f.osm.pbf" -o "$T/$f.net" 2>"$T/err"; rc=$?
    [ $rc -eq 65 ] || fail "$f.osm.pbf gave $rc: $(cat "$T/err")"
    grep -q "$f.osm.pbf" "$T/err" || fail "$f.osm.pbf message: $(cat "$T/err")"
    [ ! -e "$T/$f.net" ] || fail "$f.osm.pbf left an output"
  done
else
  echo "pbf part skipped: $pbf not found"
fi
echo ok
