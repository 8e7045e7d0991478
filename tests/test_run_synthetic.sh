#!/usr/bin/env bash
# test_run_synthetic.sh: `dustload run` against an independent drive
# (../shared/checks/gen_traces.py on the Beijing 5th-ring network, GPS CSV
# without speed) and instrument files made here at a constant true load of
# 0.5 g/m² (tyre excess = T0·(v/v_ref)³ with 15 % noise, a drifting
# background with truck spikes, the tyre clock 37 s fast and its inlet 3 s
# late): lag recovered, segment and district loads, 1 vs 2 threads equal,
# tables and GeoJSON with content, calibrate round trip.
set -u
DL=${DL_BIN:?}; SH=${DL_SHARED:-}
PY=/usr/bin/python3
GEN=$SH/checks/gen_traces.py
PBF=$SH/data/beijing_roadnet_osm2013/beijing_5thring_2013.osm.pbf
[ -n "$SH" ] && [ -f "$GEN" ] && [ -f "$PBF" ] || { echo "skip: needs ../shared (gen_traces.py, 5th-ring OSM)"; exit 77; }
$PY -c 'import h5py, numpy, pyproj' 2>/dev/null || { echo "skip: /usr/bin/python3 lacks h5py/numpy/pyproj"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$DL" network import -q --osm "$PBF" -o "$T/bj.net" || fail "import"
$PY "$GEN" --seed 3 --minutes 40 --sigma 5 --out "$T/g" >/dev/null 2>&1 || fail "gen_traces"
$PY - "$T/g" <<'EOF' || fail "instrument synthesis"
import csv, sys, datetime as dt
import numpy as np
d = sys.argv[1]
rng = np.random.default_rng(3)
rows = list(csv.DictReader(open(f"{d}/truth_utm.csv")))
t = np.array([dt.datetime.fromisoformat(r["time"].replace("Z", "+00:00")).timestamp() for r in rows])
v = np.array([float(r["speed_mps"]) for r in rows])
a, beta, vref, load = 0.04, 1 / (3 * 0.91), 30 / 3.6, 0.5
T0 = (load / a) ** (1 / beta)
n = len(t)
bg = 80 + 30 * np.sin(np.arange(n) / 600.0) + rng.normal(0, 2, n)
for k in rng.integers(60, n - 60, size=max(1, n // 900)):
    bg[k:k + 8] += 600 * np.exp(-np.arange(8) / 2.0)
tyre = bg + T0 * (v / vref) ** 3 * np.exp(rng.normal(0, 0.15, n))
delay, clock, tz = 3.0, -37.0, 8 * 3600
def write(name, times, vals):
    with open(f"{d}/{name}", "w") as f:
        f.write("time,pm10_ugm3\n")
        for ti, x in zip(times, vals):
            f.write(dt.datetime.fromtimestamp(ti + tz, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f",{x:.0f}\n")
tt = np.arange(t[0] - 200, t[-1] + 201)
ty = np.interp(tt - delay, t, tyre, left=np.nan, right=np.nan)
ty = np.where(np.isnan(ty), np.interp(tt, t, bg), ty)
write("tyre.csv", tt - clock, ty)
write("bg.csv", tt, np.interp(tt, t, bg))
open(f"{d}/manifest.ini", "w").write("[run]\nid = synth-3\nvehicle = test\ntz = +08:00\n[gps]\nfile = trace.csv\n"
  "format = gps-csv\n[instrument tyre]\nfile = tyre.csv\nformat = csv\nrole = tyre\n"
  "[instrument bg]\nfile = bg.csv\nformat = csv\nrole = background\n")
EOF
"$DL" run "$T/g/manifest.ini" --network "$T/bj.net" -o "$T/r1.h5" --threads 1 --tables "$T/tab" \
  --geojson "$T/r.geojson" >"$T/out" 2>"$T/err" || fail "run: $(cat "$T/err")"
grep -q 'tyre (tyre): .*correction +40 s' "$T/err" || fail "tyre lag not 40 s: $(grep clocks "$T/err")"
grep -q '^  district: 0.5[01] g/m2' "$T/out" || fail "district: $(cat "$T/out")"
"$DL" run -q "$T/g/manifest.ini" --network "$T/bj.net" -o "$T/r2.h5" --threads 2 >/dev/null || fail "run 2 threads"
$PY "$(cd "$(dirname "$0")" && pwd)/h5_same.py" "$T/r1.h5" "$T/r2.h5" || fail "1 and 2 threads differ"
$PY - "$T/r1.h5" <<'EOF' || fail "accuracy"
import sys, h5py, numpy as np
a = h5py.File(sys.argv[1], "r")
s = a["segments"]
load, cov = s["dust_load"][()], s["covered_length"][()]
m = np.isfinite(load) & (cov >= 200)
err = np.median(np.abs(load[m] - 0.5) / 0.5)
assert m.sum() >= 15, m.sum()
assert err <= 0.10, err
d = a["district"]["dust_load"][0]
assert abs(d - 0.5) / 0.5 <= 0.05, d
print(f"{m.sum()} segments, median error {100*err:.1f} %, district {d:.3f}")
EOF
$PY - "$T/r.geojson" "$T/tab" <<'EOF' || fail "geojson/tables"
import sys, json, csv, math
g = json.load(open(sys.argv[1]))
assert g["type"] == "FeatureCollection" and len(g["features"]) > 20
for f in g["features"]:
    assert f["geometry"]["type"] == "LineString" and len(f["geometry"]["coordinates"]) >= 2
    lon, lat = f["geometry"]["coordinates"][0]
    assert 115.9 < lon < 116.8 and 39.6 < lat < 40.3
    p = f["properties"]
    for k in ["segment", "osm_way", "road", "township", "dust_load", "grade", "covered_m"]:
        assert k in p, k
loaded = [f for f in g["features"] if f["properties"]["dust_load"] is not None]
assert loaded and all(f["properties"]["grade"] in ("优", "良", "中", "差") for f in loaded)
roads = list(csv.DictReader(open(sys.argv[2] + "/roads.csv")))
assert len(roads) >= 5 and all(r["rank"] for r in roads)
vals = [float(r["dust_load_gm2"]) for r in roads]
assert vals == sorted(vals)
w3 = list(csv.DictReader(open(sys.argv[2] + "/roads_worst3.csv")))
assert len(w3) == 3 and float(w3[0]["dust_load_gm2"]) == max(vals)
d = list(csv.DictReader(open(sys.argv[2] + "/district.csv")))
assert len(d) == 1 and float(d[0]["covered_km"]) > 5 and int(d[0]["segments"]) >= 15
EOF
# calibrate: vacuum samples at 3x the true load on the counted segments: beta as
# used, a three times as large
$PY - "$T/r1.h5" >"$T/vac.csv" <<'EOF'
import sys, h5py, numpy as np
s = h5py.File(sys.argv[1], "r")["segments"]
print("segment,dust_load_gm2")
for i, t in zip(s["id"][()], s["t_ref_mean"][()]):
    if np.isfinite(t) and t > 0 and np.isfinite(s["dust_load"][()][list(s["id"][()]).index(i)]):
        print(f"{i},{3 * 0.04 * t ** (1 / (3 * 0.91)):.6f}")
EOF
"$DL" calibrate --vacuum "$T/vac.csv" "$T/r1.h5" -o "$T/cal.ini" >"$T/cal.out" 2>"$T/err" || fail "calibrate: $(cat "$T/err")"
grep -q 'R2 (log-log) = 1.0000' "$T/cal.out" || fail "calibrate R2: $(head -3 "$T/cal.out")"
awk -F' = ' '$1=="a"{a=$2} $1=="beta"{b=$2} END{exit !(a>0.1199 && a<0.1201 && b>0.36629 && b<0.36631)}' "$T/cal.ini" || fail "calibration: $(cat "$T/cal.ini")"
"$DL" calibrate --vacuum "$T/vac.csv" "$T/r1.h5" -o "$T/cal.ini" 2>/dev/null >/dev/null; [ $? -eq 73 ] || fail "calibrate overwrite"
printf '[run]\nid = synth-3c\ntz = +08:00\n[gps]\nfile = %s/g/trace.csv\nformat = gps-csv\n[instrument tyre]\nfile = %s/g/tyre.csv\nformat = csv\nrole = tyre\n[instrument bg]\nfile = %s/g/bg.csv\nformat = csv\nrole = background\n[calibration]\nfile = %s/cal.ini\n' "$T" "$T" "$T" "$T" >"$T/mc.ini"
"$DL" run "$T/mc.ini" --network "$T/bj.net" -o "$T/rc.h5" >"$T/out" 2>/dev/null || fail "run with calibration file"
grep -q '^  district: 1.5[0-3] g/m2' "$T/out" || fail "calibrated district: $(grep district "$T/out")"
echo ok
