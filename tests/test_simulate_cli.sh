#!/usr/bin/env bash
# test_simulate_cli.sh: `dustload simulate` end to end on the Haidian extract:
# same seed same bytes, files our readers take with zero rejects, refusal to
# write into a non-empty folder, exit codes, and (with python3) the truth
# recovered by METHOD §3-§6 from the raw files given the true lags and path.
set -u
DL=${DL_BIN:?}; FX=${DL_FIXTURES:?}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$DL" network import -q --osm "$FX/osm/beijing_haidian_2013.osm" -o "$T/hd.net" || fail "network import"
"$DL" simulate --help | grep -q -- '--revisit-cost' || fail "help lacks --revisit-cost"
"$DL" help | grep -q '^  simulate ' || fail "simulate not in the command list"

"$DL" simulate --network "$T/hd.net" --seed 7 --hours 0.5 -o "$T/a" 2>"$T/err" || fail "simulate: $(cat "$T/err")"
grep -q 'wrote' "$T/err" || fail "no progress line: $(cat "$T/err")"
"$DL" simulate -q --network "$T/hd.net" --seed 7 --hours 0.5 -o "$T/b" || fail "second run"
for f in gps.nmea dusttrak_tyre.csv dusttrak_background.csv manifest.ini truth_points.csv truth_segments.csv truth_run.txt; do
  [ -s "$T/a/$f" ] || fail "$f missing"
  cmp -s "$T/a/$f" "$T/b/$f" || fail "$f differs between two runs with the same seed"
done
"$DL" simulate -q --network "$T/hd.net" --seed 8 --hours 0.5 -o "$T/c" || fail "seed 8"
cmp -s "$T/a/gps.nmea" "$T/c/gps.nmea" && fail "another seed gave the same GPS file"
ls -A "$T/a" | grep -q '^\.' && fail "temporary files left: $(ls -A "$T/a")"
[ "$(ls -A "$T/a" | wc -l)" -eq 7 ] || fail "unexpected files: $(ls -A "$T/a")"

# our readers take every file with zero rejects (the export's 29 header lines aside)
"$DL" inspect "$T/a/gps.nmea" >"$T/i1" || fail "inspect nmea"
grep -q 'rejected: *0$' "$T/i1" || fail "NMEA rejects: $(cat "$T/i1")"
fixes=$(awk -F': *' '$1 ~ /fixes/ {print $2; exit}' "$T/i1")
want=$(awk -F' = ' '$1=="gps_fixes"{print $2}' "$T/a/truth_run.txt")
[ "$fixes" = "$want" ] || fail "fixes $fixes, truth says $want"
[ "$(($(wc -l <"$T/a/truth_points.csv") - 1))" = "$want" ] || fail "truth_points rows != fixes"
[ "$(grep -c '^\$GPRMC' "$T/a/gps.nmea")" = "$want" ] || fail "RMC count"
[ "$(grep -c '^\$GPGGA' "$T/a/gps.nmea")" = "$want" ] || fail "GGA count"
for f in dusttrak_tyre.csv dusttrak_background.csv; do
  "$DL" inspect --tz +08:00 "$T/a/$f" >"$T/i2" 2>&1 || fail "inspect $f: $(cat "$T/i2")"
  grep -q 'rejected: *29$' "$T/i2" || fail "$f rejects: $(cat "$T/i2")"
  grep -q 'DustTrak II 8530' "$T/i2" || fail "$f model"
done
# the time span of the DustTraks covers the drive (UTC after the zone)
grep -q 'time span:  2020-05-12T00:5' "$T/i2" || fail "background span: $(grep span "$T/i2")"
head -1 "$T/a/truth_points.csv" | grep -qx 'time_utc,segment,offset_m' || fail "truth_points header"
head -1 "$T/a/truth_segments.csv" | grep -qx 'segment,osm_way,dust_load_gm2' || fail "truth_segments header"
[ "$(($(wc -l <"$T/a/truth_segments.csv") - 1))" -eq 1950 ] || fail "truth_segments rows"
grep -q "^network = $T/hd.net\$" "$T/a/manifest.ini" || fail "manifest network path"
grep -q '^inlet_delay_s = 2$' "$T/a/manifest.ini" || fail "nominal inlet delay"

# refusals and exit codes
"$DL" simulate -q --network "$T/hd.net" --seed 9 --hours 0.1 -o "$T/a"; rc=$?
[ $rc -eq 73 ] || fail "non-empty folder without --force gave $rc"
cmp -s "$T/a/gps.nmea" "$T/b/gps.nmea" || fail "refused run touched the folder"
"$DL" simulate -q --force --network "$T/hd.net" --seed 9 --hours 0.1 -o "$T/a" || fail "--force"
cmp -s "$T/a/gps.nmea" "$T/b/gps.nmea" && fail "--force did not replace"
"$DL" simulate -q --network "$T/hd.net" -o "$T/d" --hours 0 2>/dev/null; [ $? -eq 64 ] || fail "--hours 0 not 64"
"$DL" simulate -q --network "$T/hd.net" -o "$T/d" --seed x 2>/dev/null; [ $? -eq 64 ] || fail "--seed x not 64"
"$DL" simulate -q -o "$T/d" 2>/dev/null; [ $? -eq 64 ] || fail "missing --network not 64"
"$DL" simulate -q --network "$T/none.net" -o "$T/d" 2>/dev/null; [ $? -eq 66 ] || fail "missing network not 66"
head -c 3000 "$T/hd.net" >"$T/trunc.net"
"$DL" simulate -q --network "$T/trunc.net" -o "$T/d" 2>/dev/null; [ $? -eq 65 ] || fail "damaged network not 65"
[ ! -e "$T/d" ] || fail "failed runs left a folder"

# METHOD §3-§6 with the true lags and the true path give the true loads back
if command -v python3 >/dev/null; then
  "$DL" simulate -q --network "$T/hd.net" --seed 7 --hours 2 -o "$T/o" || fail "2 h run"
  python3 - "$T/o" <<'EOF' || fail "oracle"
import csv, sys, math, datetime, configparser
d = sys.argv[1]
cp = configparser.ConfigParser(); cp.read(f"{d}/truth_run.txt"); tr = cp["truth"]
a, beta, vref = float(tr["calib_a"]), float(tr["calib_beta"]), float(tr["v_ref_kmh"]) / 3.6
def utc(s): return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
def dusttrak(path, shift):
    rows = open(path).read().split("\n")
    i = rows.index("MM/dd/yyyy,hh:mm:ss,mg/m^3")
    ts, vs = [], []
    for r in rows[i + 1:]:
        if r:
            dd, tt, v = r.split(",")
            t = datetime.datetime.strptime(dd + " " + tt, "%m/%d/%Y %H:%M:%S").replace(tzinfo=datetime.timezone.utc).timestamp()
            ts.append(t - 8 * 3600 + shift); vs.append(float(v) * 1000)
    return ts, vs
def at(series, t):
    ts, vs = series
    k = math.floor(t - ts[0])
    if k < 0 or k + 1 >= len(ts): return None
    w = t - ts[k]
    return vs[k] * (1 - w) + vs[k + 1] * w
ty = dusttrak(f"{d}/dusttrak_tyre.csv", float(tr["tyre_clock_offset_s"]) - float(tr["tyre_inlet_delay_s"]))
bg = dusttrak(f"{d}/dusttrak_background.csv", float(tr["background_clock_offset_s"]) - float(tr["background_inlet_delay_s"]))
truth = {r["segment"]: float(r["dust_load_gm2"]) for r in csv.DictReader(open(f"{d}/truth_segments.csv"))}
spd = {}
for line in open(f"{d}/gps.nmea"):
    f = line.split(",")
    if f[0] == "$GPRMC":
        spd[int(f[1][:2]) * 3600 + int(f[1][2:4]) * 60 + float(f[1][4:])] = float(f[7]) * 1852 / 3600
num, w = {}, {}
for p in csv.DictReader(open(f"{d}/truth_points.csv")):
    t = utc(p["time_utc"]); v = spd.get(t % 86400); vp = spd.get(t % 86400 - 1)
    if v is None or vp is None or not (15 / 3.6 <= v <= 70 / 3.6) or abs(v - vp) > 1.0: continue
    c1, c0 = at(ty, t), at(bg, t)
    if c1 is None or c0 is None: continue
    s = p["segment"]
    num[s] = num.get(s, 0) + (c1 - c0) * (vref / v) ** 3 * v
    w[s] = w.get(s, 0) + v
errs = sorted(abs(a * max(num[s] / w[s], 0) ** beta - truth[s]) / truth[s] for s in num if w[s] >= 200)
med = 100 * errs[len(errs) // 2]
print(f"oracle: {len(errs)} segments with >= 200 m, median load error {med:.2f} %")
sys.exit(0 if len(errs) >= 20 and med <= 3.0 else 1)
EOF
else
  echo "oracle part skipped: no python3"
fi
echo ok
