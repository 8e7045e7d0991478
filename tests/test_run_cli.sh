#!/usr/bin/env bash
# test_run_cli.sh: `dustload run` end to end on the real mmaq DustTrak + GPX
# run (one ambient inlet, no network): HDF5 layout and flags read back with
# h5py; bad manifests, missing and wrong-format files, no valid samples:
# precise errors, exit codes, no output left; --force; tables and GeoJSON.
set -u
DL=${DL_BIN:?}; FX=${DL_FIXTURES:?}
PY=/usr/bin/python3
$PY -c 'import h5py, numpy' 2>/dev/null || { echo "skip: /usr/bin/python3 lacks h5py/numpy"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
MM=$FX/mmaq_dusttrak

# ---- the real single-inlet run --------------------------------------------
"$DL" run "$FX/manifests/mmaq_ambient.ini" -o "$T/m.h5" --tables "$T/tab" --geojson "$T/m.geojson" \
  >"$T/out" 2>"$T/err" || fail "mmaq run failed: $(cat "$T/err")"
grep -q 'a dust load needs a tyre inlet and a background inlet' "$T/err" || fail "no statement on stderr: $(cat "$T/err")"
grep -q 'no dust load: a dust load needs a tyre inlet, a background inlet' "$T/out" || fail "no statement on stdout"
grep -q '^  km driven: ' "$T/out" || fail "summary lacks km driven"
grep -q 'NO_TYRE *100.00 %' "$T/out" || fail "summary lacks NO_TYRE share: $(cat "$T/out")"
grep -q 'stage 1 clocks' "$T/err" && grep -q 'stage 2 grid: 14106 samples' "$T/err" || fail "stage progress: $(cat "$T/err")"
$PY - "$T/m.h5" "$MM" <<'EOF' || fail "HDF5 read-back"
import sys, h5py, numpy as np, datetime as dt
f = h5py.File(sys.argv[1], "r")
need = {"samples": "time lat lon speed course c_tyre c_bg delta_c t_ref flags segment offset match_status".split(),
        "segments": "id osm_way road township length covered_length n_samples t_ref_mean dust_load grade".split(),
        "roads": "name township covered_length dust_load rank grade".split(),
        "townships": "name covered_length n_segments dust_load rank grade".split(),
        "district": "covered_length dust_load grade".split(),
        "match": "points matched breaks mean_distance".split()}
for g, cols in need.items():
    for c in cols:
        assert c in f[g], f"/{g}/{c} missing"
        d = f[g][c]
        assert "long_name" in d.attrs, f"/{g}/{c} has no long_name"
        if d.dtype.kind != "O":
            assert "units" in d.attrs, f"/{g}/{c} has no units"
for a in "dustload_version created run_id vehicle configuration input_files calib_a calib_beta v_ref_kmh speed_exponent lags".split():
    assert a in f.attrs, f"root attribute {a} missing"
assert f.attrs["run_id"] == "2019-09-25-KAN"
assert "speed_min_kmh = 15" in f.attrs["configuration"]
# every input hashed: the manifest, the GPX and the DustTrak export
import hashlib
files = f.attrs["input_files"]
for name in ["2019_09_25_h091000_KAN_Garmin_3.gpx", "2019_09_25_h091000_KAN_DT8530.csv"]:
    h = hashlib.sha256(open(f"{sys.argv[2]}/{name}", "rb").read()).hexdigest()
    assert h in files and name in files, f"sha256 of {name} missing"
s = f["samples"]
t = s["time"][()]
assert len(t) == 14106, len(t)
# UTC: the DustTrak's first reading 09/25/2019 09:10:01 IST is 03:40:01Z
assert t[0] == dt.datetime(2019, 9, 25, 3, 40, 1, tzinfo=dt.timezone.utc).timestamp(), t[0]
assert np.all(np.diff(t) == 1.0)
# first DustTrak reading 0.090 mg/m3 = 90 ug/m3, kept as c_ambient (despiking leaves it)
assert abs(s["c_ambient"][0] - 90.0) < 1e-9, s["c_ambient"][0]
fl = s["flags"][()].astype(np.int64)
NO_TYRE, NO_BG, NO_GPS, UNMATCHED = 1 << 10, 1 << 11, 1 << 12, 1 << 8
assert np.all(fl & NO_TYRE) and np.all(fl & NO_BG) and np.all(fl & UNMATCHED), "every sample flagged"
# GPS covers 04:29:24-05:19:23Z: positions there, NO_GPS elsewhere
gps0 = dt.datetime(2019, 9, 25, 4, 29, 24, tzinfo=dt.timezone.utc).timestamp()
inside = (t >= gps0) & (t < gps0 + 2999)
lat = s["lat"][()]
assert np.all(np.isfinite(lat[inside])) and np.all(np.isnan(lat[t < gps0])), "positions on UTC"
assert np.all(fl[t < gps0] & NO_GPS) and not np.any(fl[inside] & NO_GPS), "NO_GPS outside the track only"
assert abs(lat[np.searchsorted(t, gps0)] - 13.0056896154) < 1e-9
# no silent zeros: loads and excess are NaN
for c in ["delta_c", "t_ref", "c_tyre", "c_bg"]:
    assert np.all(np.isnan(s[c][()])), c
assert np.isnan(f["district"]["dust_load"][0])
assert np.all(s["segment"][()] == -1) and np.all(s["match_status"][()] == 3)
assert f["segments"]["id"].shape == (0,)
print("ok")
EOF
$PY -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['type']=='FeatureCollection' and d['features']==[]" "$T/m.geojson" || fail "geojson"
for c in district townships townships_best30 townships_worst10 roads roads_worst3; do
  $PY -c "import csv,sys; r=list(csv.reader(open(sys.argv[1]))); assert r[0][0]=='rank' and 'covered_km' in r[0] and 'segments' in r[0], r[0]" "$T/tab/$c.csv" || fail "table $c.csv"
done
grep -q '^## Townships: best 30' "$T/tab/ranking.md" || fail "ranking.md"

# ---- --force ---------------------------------------------------------------
sum1=$(sha256sum <"$T/m.h5")
"$DL" run -q "$FX/manifests/mmaq_ambient.ini" -o "$T/m.h5" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 73 ] || fail "overwrite without --force gave $rc"
grep -q 'exists (use --force' "$T/err" || fail "overwrite message: $(cat "$T/err")"
[ "$(sha256sum <"$T/m.h5")" = "$sum1" ] || fail "refused overwrite changed the file"
"$DL" run -q "$FX/manifests/mmaq_ambient.ini" -o "$T/m.h5" --tables "$T/tab" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 73 ] || fail "--tables over existing tables without --force gave $rc"
"$DL" run -q --force "$FX/manifests/mmaq_ambient.ini" -o "$T/m.h5" --tables "$T/tab" >/dev/null 2>"$T/err" || fail "--force: $(cat "$T/err")"
ls -a "$T" "$T/tab" | grep -q '\.tmp\.' && fail "temporary file left behind"

# ---- errors: precise message, exit code, no output --------------------------
expect() { # expect CODE PATTERN MANIFEST [args...]
  local code=$1 pat=$2; shift 2
  rm -f "$T/o.h5"
  "$DL" run -q "$@" -o "$T/o.h5" >/dev/null 2>"$T/err"; local rc=$?
  [ $rc -eq "$code" ] || fail "$* gave $rc, expected $code: $(cat "$T/err")"
  grep -q -- "$pat" "$T/err" || fail "$*: message lacks '$pat': $(cat "$T/err")"
  [ ! -e "$T/o.h5" ] || fail "$*: output left behind"
  ls -a "$T" | grep -q '\.tmp\.' && fail "$*: temporary file left behind"
  return 0
}
cp "$MM"/*.csv "$MM"/*.gpx "$T/"
mk() { cat >"$T/$1"; }
mk ok.ini <<'EOF'
[run]
id = t1
tz = +05:30
[gps]
file = 2019_09_25_h091000_KAN_Garmin_3.gpx
[instrument a]
file = 2019_09_25_h091000_KAN_DT8530.csv
role = ambient
EOF
"$DL" run -q "$T/ok.ini" -o "$T/ok.h5" >/dev/null 2>&1 || fail "copied manifest fails"
# operator tags: local-time interval [10:00:00, 10:05:00) IST flags exactly 300 samples TAGGED
printf 'start,end,reason,note\n2019-09-25T10:00:00,2019-09-25T10:05:00,wet_road,sprinkler truck\n' >"$T/tags.csv"
sed 's/^id = t1/id = t1\ntags = tags.csv/' "$T/ok.ini" >"$T/tagged.ini"
"$DL" run -q "$T/tagged.ini" -o "$T/tagged.h5" >/dev/null 2>"$T/err" || fail "tagged run: $(cat "$T/err")"
$PY - "$T/tagged.h5" <<'EOF' || fail "TAGGED flags"
import sys, h5py, numpy as np, datetime as dt
f = h5py.File(sys.argv[1], "r")
s = f["samples"]
t, fl = s["time"][()], s["flags"][()].astype(np.int64)
a = dt.datetime(2019, 9, 25, 4, 30, tzinfo=dt.timezone.utc).timestamp()
tagged = (fl & (1 << 9)) != 0
assert tagged.sum() == 300 and np.all(tagged[(t >= a) & (t < a + 300)]), tagged.sum()
assert "tags" in f.attrs["input_files"]
EOF
expect 66 "none.ini: cannot open" "$T/none.ini"
sed 's/^tz = .*/tz = +25:00/' "$T/ok.ini" | mk badtz.ini
expect 78 "badtz.ini:3" "$T/badtz.ini"
sed 's/^role = ambient/role = wheel/' "$T/ok.ini" | mk badrole.ini
expect 78 "role" "$T/badrole.ini"
sed 's/KAN_DT8530.csv/missing.csv/' "$T/ok.ini" | mk missing.ini
expect 66 "missing.csv" "$T/missing.ini"
# wrong format: the GPX named as the instrument, the DustTrak as the GPS
sed 's/^file = 2019_09_25_h091000_KAN_DT8530.csv/file = 2019_09_25_h091000_KAN_Garmin_3.gpx/' "$T/ok.ini" | mk wrongfmt.ini
expect 65 "Garmin_3.gpx" "$T/wrongfmt.ini"
printf '\x00\x01\x02binary junk\xff\xfe' >"$T/junk.csv"
sed 's/2019_09_25_h091000_KAN_DT8530.csv/junk.csv/' "$T/ok.ini" | mk junk.ini
expect 65 "junk.csv" "$T/junk.ini"
# no valid samples: the instrument clock 10 days off: nothing lines up with the GPS
printf '[run]\nid = t2\ntz = +05:30\n[gps]\nfile = 2019_09_25_h091000_KAN_Garmin_3.gpx\n[instrument a]\nfile = 2019_09_25_h091000_KAN_DT8530.csv\nrole = ambient\nclock_offset_s = 86400\n' >"$T/apart.ini"
expect 65 "no valid samples: no GPS position coincides" "$T/apart.ini"
# a multi-channel DustTrak without channel =
sed 's/2019_09_25_h091000_KAN_DT8530.csv/2019_08_30_h134435_CSTEP_DT602_8533.csv/' "$T/ok.ini" | mk multi.ini
expect 78 "has 5 channels (PM1" "$T/multi.ini"
# a network that is not one
sed 's/^id = t1/id = t1\nnetwork = 2019_09_25_h091000_KAN_DT8530.csv/' "$T/ok.ini" | mk badnet.ini
expect 65 "DT8530.csv" "$T/badnet.ini"
# a later output that cannot be written takes the HDF5 file with it
expect 73 "nodir/m.geojson" "$T/ok.ini" --geojson "$T/nodir/m.geojson"
# usage and parameters
expect 64 "MANIFEST is required"
expect 78 "unknown parameter 'nope'" "$T/ok.ini" --set nope=1
expect 78 "speed_min_kmh = -3" "$T/ok.ini" --set speed_min_kmh=-3
"$DL" run "$T/ok.ini" >/dev/null 2>&1; [ $? -eq 64 ] || fail "missing -o not 64"
echo "ok"
