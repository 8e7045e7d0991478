#!/usr/bin/env bash
# test_run_sim.sh: `dustload run` on simulated runs with known truth
# (`dustload simulate`, several seeds, Haidian extract with the demonstration
# township partition of tests/fixtures/demo): median segment error <= 10 %
# (>= 200 m valid coverage), township and district within 5 % of the truth
# computed the same way, tyre intake shift (clock offset - inlet delay)
# within 1 s, 1 and 2 threads identical; calibrate from lon,lat vacuum
# samples; the low-pass column; then the independent run check.
set -u
DL=${DL_BIN:?}; FX=${DL_FIXTURES:?}; SRC=${DL_SRC:-}
PY=/usr/bin/python3
"$DL" simulate --help >/dev/null 2>&1 || { echo "skip: this build has no simulate command"; exit 77; }
$PY -c 'import h5py, numpy' 2>/dev/null || { echo "skip: /usr/bin/python3 lacks h5py/numpy"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$DL" network import -q --osm "$FX/osm/beijing_haidian_2013.osm" --townships "$FX/demo/demo_townships.geojson" \
  --districts "$FX/demo/demo_district.geojson" -o "$T/hd.net" || fail "network import"
for seed in 1 2 3; do
  "$DL" simulate --network "$T/hd.net" --seed $seed --hours 2 -o "$T/s$seed" >/dev/null 2>"$T/err" || fail "simulate: $(cat "$T/err")"
  "$DL" run "$T/s$seed/manifest.ini" -o "$T/r$seed.h5" --threads 1 >"$T/out$seed" 2>"$T/err$seed" || fail "run seed $seed: $(cat "$T/err$seed")"
  $PY - "$T/r$seed.h5" "$T/s$seed" <<'EOF' || fail "seed $seed: accuracy"
import sys, csv, configparser, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
d = sys.argv[2]
truth = {int(r["segment"]): float(r["dust_load_gm2"]) for r in csv.DictReader(open(f"{d}/truth_segments.csv"))}
s = f["segments"]
ids, load, cov, length = s["id"][()], s["dust_load"][()], s["covered_length"][()], s["length"][()]
town = [x.decode() if isinstance(x, bytes) else x for x in s["township"][()]]
counted = np.isfinite(load)
m = counted & (cov >= 200)
tl = np.array([truth[int(i)] for i in ids])
rel = np.abs(load[m] - tl[m]) / tl[m]
med = float(np.median(rel))
assert m.sum() >= 20, f"only {m.sum()} segments with >= 200 m"
assert med <= 0.10, f"median segment error {100*med:.1f} %"
# district and townships: the truth computed the same way (length-weighted over counted segments)
dt = np.sum(length[counted] * tl[counted]) / np.sum(length[counted])
dv = float(f["district"]["dust_load"][0])
assert abs(dv - dt) / dt <= 0.05, f"district {dv:.3f} vs {dt:.3f}"
tn = [x.decode() if isinstance(x, bytes) else x for x in f["townships"]["name"][()]]
tv = f["townships"]["dust_load"][()]
worst = 0
for name, v in zip(tn, tv):
    sel = counted & np.array([t == name for t in town])
    if not sel.any():
        assert np.isnan(v), name
        continue
    want = np.sum(length[sel] * tl[sel]) / np.sum(length[sel])
    worst = max(worst, abs(v - want) / want)
assert worst <= 0.05, f"township error {100*worst:.1f} %"
# lags: the tyre's intake shift (clock offset - inlet delay) against the truth
cp = configparser.ConfigParser(inline_comment_prefixes=(";",))
cp.read(f"{d}/truth_run.txt")
want = float(cp["truth"]["tyre_clock_offset_s"]) - float(cp["truth"]["tyre_inlet_delay_s"])
got = float(f.attrs["lag_tyre_s"][3])
assert abs(got - want) <= 1.0, f"tyre intake shift {got} vs {want}"
print(f"{m.sum()} segments, median error {100*med:.1f} %, district {dv:.3f} vs {dt:.3f}, "
      f"townships within {100*worst:.1f} %, shift {got:+.0f} vs {want:+.1f} s")
EOF
done
"$DL" run -q "$T/s1/manifest.ini" -o "$T/r1b.h5" --threads 2 >/dev/null || fail "run 2 threads"
$PY "$(cd "$(dirname "$0")" && pwd)/h5_same.py" "$T/r1.h5" "$T/r1b.h5" || fail "1 vs 2 threads"
# calibrate from lon,lat vacuum samples: one per counted segment, at a valid
# sample in its middle third, at twice the load: a doubles, beta stays
$PY - "$T/r1.h5" >"$T/vac.csv" <<'EOF'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
s, g = f["samples"], f["segments"]
seg, off, fl = s["segment"][()], s["offset"][()], s["flags"][()]
lat, lon, dist = s["lat"][()], s["lon"][()], s["match_distance"][()]
print("lon,lat,dust_load_gm2")
for i, L, load in zip(g["id"][()], g["length"][()], g["dust_load"][()]):
    if not np.isfinite(load) or L < 100: continue
    k = np.flatnonzero((seg == i) & (fl == 0) & (off > L / 3) & (off < 2 * L / 3) & (dist < 3))
    if len(k): print(f"{lon[k[0]]:.7f},{lat[k[0]]:.7f},{2 * load:.6f}")
EOF
"$DL" calibrate --vacuum "$T/vac.csv" "$T/r1.h5" --radius 10 -o "$T/cal.ini" >"$T/cal.out" 2>"$T/err" || fail "calibrate lon,lat: $(cat "$T/err")"
# parallel carriageways a few metres apart make a few positions ambiguous:
# most residuals must be tiny, the fit close
awk -F' = ' '$1=="a"{a=$2} $1=="beta"{b=$2} $1=="r2"{r=$2} $1=="n"{n=$2} END{exit !(a>0.07 && a<0.095 && b>0.34 && b<0.39 && r>0.9 && n>=20)}' "$T/cal.ini" \
  || fail "lon,lat calibration: $(cat "$T/cal.ini") $(head -3 "$T/cal.out")"
awk -F, 'NR>3 && $7=="used"{n++; if ($6<0.1 && $6>-0.1) k++} END{exit !(n>=20 && k>=0.9*n)}' "$T/cal.out" \
  || fail "lon,lat residuals: $(cat "$T/cal.out")"
grep -q '^line,segment,t_ref_mean_ugm3,sl_vacuum_gm2,sl_fitted_gm2,log_residual,status' "$T/cal.out" || fail "residual table"
printf 'segment,dust_load_gm2\n1,0.5\n' >"$T/vac1.csv"
"$DL" calibrate --vacuum "$T/vac1.csv" "$T/r1.h5" -o "$T/cal1.ini" >/dev/null 2>"$T/err"; [ $? -eq 65 ] || fail "too few pairs not 65"
grep -q 'at least 3' "$T/err" && [ ! -e "$T/cal1.ini" ] || fail "too few pairs: $(cat "$T/err")"
printf 'x,y\n1,2\n' >"$T/vac2.csv"
"$DL" calibrate --vacuum "$T/vac2.csv" "$T/r1.h5" -o "$T/cal1.ini" >/dev/null 2>"$T/err"; [ $? -eq 65 ] || fail "bad header not 65"
grep -q 'vac2.csv:1: expected a header' "$T/err" || fail "bad header: $(cat "$T/err")"
"$DL" calibrate --vacuum "$T/vac.csv" "$T/s1/manifest.ini" -o "$T/cal1.ini" >/dev/null 2>"$T/err"; [ $? -eq 65 ] || fail "non-HDF5 run not 65"
# optional low-pass column
"$DL" run -q "$T/s1/manifest.ini" -o "$T/lp.h5" --set lowpass=true >/dev/null || fail "lowpass run"
$PY -c "import h5py,sys,numpy as np; s=h5py.File(sys.argv[1])['samples']; x=s['delta_c_lowpass'][()]; assert s['delta_c_lowpass'].attrs['units']=='ug/m3' and np.isfinite(x).mean()>0.9" "$T/lp.h5" || fail "lowpass column"
CHK=${DL_SHARED:+$DL_SHARED/checks/check.sh}
if [ -n "${CHK:-}" ] && [ -x "$CHK" ] && [ -d "$DL_SHARED/data/beijing_roadnet_osm2013" ]; then
  out=$("$CHK" "$DL" run) || fail "independent check: $out"
  echo "$out"
fi
echo ok
