#!/usr/bin/env bash
# test_robustness.sh: user-facing promises on hostile use: an output never
# replaces an input (run, calibrate, network import, simulate; even with
# --force); a clash leaves no partial table or rank result set; empty folders
# and folders where a file is expected give a clear error (no undefined
# behaviour under the sanitizers); a bad --set names its range.
set -u
DL=${DL_BIN:?}; FX=${DL_FIXTURES:?}
"$DL" simulate --help >/dev/null 2>&1 || { echo "skip: this build has no simulate command"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# expect CODE CMD...: runs CMD, checks its exit status, keeps stderr in $T/err
expect() {
  local want=$1; shift
  "$@" >"$T/out" 2>"$T/err"; local rc=$?
  [ "$rc" = "$want" ] || fail "$* exited $rc, expected $want: $(cat "$T/err")"
  if grep -qE "runtime error|AddressSanitizer|LeakSanitizer" "$T/err"; then fail "$*: sanitizer: $(cat "$T/err")"; fi
}
has() { grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1': $(cat "$T/err")"; }

"$DL" network import -q --osm "$FX/osm/beijing_haidian_2013.osm" --townships "$FX/demo/demo_townships.geojson" \
  --districts "$FX/demo/demo_district.geojson" -o "$T/hd.net" || fail "network import"
"$DL" simulate -q --network "$T/hd.net" --hours 0.2 -o "$T/sim" || fail "simulate"
M=$T/sim/manifest.ini
(cd "$T" && sha256sum hd.net sim/*) >"$T/sums"
intact() { (cd "$T" && sha256sum --quiet -c sums) || fail "an input changed: $*"; }

# run: -o or --geojson naming an input is refused, even with --force
expect 73 "$DL" run "$M" -q --force -o "$T/sim/gps.nmea"
has "is the gps input of this run"; intact "run -o gps"
expect 73 "$DL" run "$M" -q --force -o "$T/sim/../sim/manifest.ini"
has "is the manifest input of this run"; intact "run -o manifest"
expect 73 "$DL" run "$M" -q --force -o "$T/hd.net"
has "is the network input of this run"; intact "run -o network"
expect 73 "$DL" run "$M" -q --force -o "$T/r0.h5" --geojson "$T/sim/dusttrak_tyre.csv"
has "dusttrak_tyre.csv: is the instrument"; intact "run --geojson instrument"
[ ! -e "$T/r0.h5" ] || fail "run left its HDF5 output after a refused --geojson"

# run: an existing table file refuses the whole set before any is written
mkdir "$T/tb"; echo keep >"$T/tb/roads.csv"
expect 73 "$DL" run "$M" -q -o "$T/r1.h5" --tables "$T/tb"
has "tb/roads.csv: exists"
[ "$(ls "$T/tb")" = roads.csv ] || fail "partial tables written: $(ls "$T/tb")"
[ "$(cat "$T/tb/roads.csv")" = keep ] || fail "roads.csv replaced"
[ ! -e "$T/r1.h5" ] || fail "run left its HDF5 output after the table clash"
expect 0 "$DL" run "$M" -q -o "$T/r1.h5" --tables "$T/tb" --force
[ "$(ls "$T/tb" | wc -l)" = 7 ] || fail "--force tables: $(ls "$T/tb")"

# calibrate: -o naming a run file, the vacuum samples or the network is refused
cut -d, -f1,3 "$T/sim/truth_segments.csv" >"$T/vac.csv"
sha256sum "$T/r1.h5" "$T/vac.csv" >"$T/sums2"
expect 73 "$DL" calibrate --vacuum "$T/vac.csv" "$T/r1.h5" -o "$T/r1.h5" --force
has "is an input (a run file)"
expect 73 "$DL" calibrate --vacuum "$T/vac.csv" "$T/r1.h5" -o "$T/vac.csv" --force
has "is an input (--vacuum)"
expect 73 "$DL" calibrate --vacuum "$T/vac.csv" "$T/r1.h5" --network "$T/hd.net" -o "$T/hd.net" --force
has "is an input (--network)"
sha256sum --quiet -c "$T/sums2" || fail "calibrate changed an input"; intact "calibrate"
expect 0 "$DL" calibrate --vacuum "$T/vac.csv" "$T/r1.h5" -o "$T/c.ini"

# network import and simulate: -o naming an input is refused, even with --force
cp "$FX/osm/beijing_haidian_2013.osm" "$T/h.osm"; cp "$FX/demo/demo_townships.geojson" "$T/tw.geojson"
sha256sum "$T/h.osm" "$T/tw.geojson" >"$T/sums3"
expect 73 "$DL" network import -q --osm "$T/h.osm" -o "$T/h.osm" --force
has "is an input (--osm)"
expect 73 "$DL" network import -q --osm "$T/h.osm" --townships "$T/tw.geojson" -o "$T/tw.geojson" --force
has "is an input (--townships)"
expect 73 "$DL" network import -q --osm "$T/h.osm" --districts "$T/tw.geojson" -o "$T/./tw.geojson" --force
has "is an input (--districts)"
sha256sum --quiet -c "$T/sums3" || fail "network import changed an input"
mkdir "$T/sn"; cp "$T/hd.net" "$T/sn/truth_run.txt"
expect 73 "$DL" simulate -q --network "$T/sn/truth_run.txt" -o "$T/sn" --force --hours 0.02
has "truth_run.txt: is the --network input"
cmp -s "$T/hd.net" "$T/sn/truth_run.txt" || fail "simulate replaced its network input"
[ "$(ls "$T/sn")" = truth_run.txt ] || fail "simulate wrote despite the refusal: $(ls "$T/sn")"

# empty folders: a clear error naming the folder, nothing written
mkdir "$T/empty"
expect 65 "$DL" rank "$T/empty" --period 2020-05 -o "$T/rk"
has "empty: no run with samples in period 2020-05"; has "0 run file(s) read"
[ ! -e "$T/rk" ] || fail "rank wrote results for an empty folder"
expect 66 "$DL" batch "$T/empty" -o "$T/bo" -q
has "empty: no manifest found"
[ ! -e "$T/bo" ] || fail "batch created its output folder for an empty input folder"

# a folder where a file is expected: "cannot open input" (66) naming it, for
# inspect (detected or any --format), manifests, their files, vacuum samples
mkdir "$T/dir.ini" "$T/dir"
expect 66 "$DL" inspect "$T/dir"; has "dir: is a folder, expected a file"
for f in nmea gpsd-json gpx plt gps-csv dusttrak csv; do
  expect 66 "$DL" inspect --format $f "$T/dir"; has "dir: is a folder, expected a file"
done
expect 66 "$DL" run "$T/dir.ini" -q -o "$T/r3.h5"; has "dir.ini: is a folder, expected a manifest file"
cp -r "$T/sim" "$T/sd"; rm "$T/sd/gps.nmea"; mkdir "$T/sd/gps.nmea"
expect 66 "$DL" run "$T/sd/manifest.ini" -q -o "$T/r3.h5"; has "gps.nmea: is a folder, expected a file"
expect 66 "$DL" calibrate --vacuum "$T/dir" "$T/r1.h5" -o "$T/c3.ini"
has "dir: is a folder, expected the vacuum samples CSV"
[ ! -e "$T/r3.h5" ] && [ ! -e "$T/c3.ini" ] || fail "an output was written despite the error"

# rank: an existing result refuses the whole set before any work; --force replaces it
mkdir "$T/runs" "$T/rkc"; cp "$T/r1.h5" "$T/runs/"; echo keep >"$T/rkc/runs.csv"
expect 73 "$DL" rank "$T/runs" --period 2020-05 -o "$T/rkc" -q
has "rkc/runs.csv: exists"
[ "$(ls "$T/rkc")" = runs.csv ] || fail "rank wrote a partial result set: $(ls "$T/rkc")"
expect 0 "$DL" rank "$T/runs" --period 2020-05 -o "$T/rkc" -q --force
[ "$(ls "$T/rkc" | wc -l)" = 9 ] && [ "$(head -c 4 "$T/rkc/runs.csv")" = file ] || fail "rank --force: $(ls "$T/rkc")"

# network info takes its option after NET too, and names a second file
"$DL" network info --segments "$T/hd.net" >"$T/seg1" || fail "network info --segments NET"
expect 0 "$DL" network info "$T/hd.net" --segments
cmp -s "$T/seg1" "$T/out" || fail "network info NET --segments differs from --segments NET"
expect 64 "$DL" network info "$T/hd.net" "$T/h.osm"; has "expected one network file, got also"

# inspect takes its options after FILE too (they were read as file names)
"$DL" inspect --fixes --format nmea "$T/sim/gps.nmea" >"$T/fx1" || fail "inspect --fixes --format nmea GPS"
expect 0 "$DL" inspect "$T/sim/gps.nmea" --fixes --format nmea
cmp -s "$T/fx1" "$T/out" || fail "inspect GPS --fixes differs from --fixes GPS"

# an empty -o is a usage error (64) before any work, for every command that writes
expect 64 "$DL" run "$M" -q -o ""; has "-o RUN.h5 is required"
expect 64 "$DL" calibrate --vacuum "$T/vac.csv" "$T/r1.h5" -o ""; has "-o CALIB.ini is required"
expect 64 "$DL" network import -q --osm "$T/h.osm" -o ""; has "-o NET is required"
expect 64 "$DL" simulate -q --network "$T/hd.net" -o ""; has "-o DIR is required"
expect 64 "$DL" batch "$M" -q -o ""; has "-o OUTDIR is required"
expect 64 "$DL" rank "$T/runs" --period 2020-05 -o ""; has "-o RANKDIR is required"

# a --set value that is not a number names the accepted range and unit
expect 78 "$DL" run "$M" -q -o "$T/r2.h5" --set grid_hz=nan
has "parameter grid_hz: expected a number in [0.1, 100] Hz, got 'nan'"
[ ! -e "$T/r2.h5" ] || fail "run wrote an output despite a bad --set"
echo "ok"
