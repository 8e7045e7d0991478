#!/usr/bin/env bash
# test_run_sim.sh: `dustload run` on simulated runs with known truth
# (`dustload simulate`, several seeds, Haidian extract with the demonstration
# township partition of tests/fixtures/demo): median segment error <= 10 %
# (>= 200 m valid coverage), township and district within 5 % of the truth
# computed the same way, tyre intake shift (clock offset - inlet delay)
# within 1 s, 1 and 2 threads identical; then the independent run check.
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
$PY - "$T/r1.h5" "$T/r1b.h5" <<'EOF' || fail "1 vs 2 threads"
import sys, h5py
def walk(g, out, p=""):
    for k, o in g.items():
        if isinstance(o, h5py.Dataset): out[p + "/" + k] = o[()]
        else: walk(o, out, p + "/" + k)
a, b = {}, {}
walk(h5py.File(sys.argv[1], "r"), a); walk(h5py.File(sys.argv[2], "r"), b)
assert a.keys() == b.keys()
for k in a:
    same = a[k].tolist() == b[k].tolist() if a[k].dtype.kind == "O" else a[k].tobytes() == b[k].tobytes()
    assert a[k].shape == b[k].shape and same, f"{k} differs"
EOF
CHK=${DL_SHARED:+$DL_SHARED/checks/check.sh}
if [ -n "${CHK:-}" ] && [ -x "$CHK" ] && [ -d "$DL_SHARED/data/beijing_roadnet_osm2013" ]; then
  out=$("$CHK" "$DL" run) || fail "independent check: $out"
  echo "$out"
fi
echo ok
