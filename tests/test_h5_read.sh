#!/usr/bin/env bash
# test_h5_read.sh: the HDF5 writer's reference file reads back in h5dump and h5py
# (types, values, UTF-8 strings, units/long_name attributes, empty columns, filters).
set -euo pipefail
bin=$(dirname "${DL_BIN:-build/dustload}")/test_h5
[ -x "$bin" ] || { echo "skipped: $bin not built"; exit 77; }
py=/usr/bin/python3  # Debian's python3-h5py; a pyenv python may lack it
"$py" -c 'import h5py' 2>/dev/null || { echo "skipped: python3-h5py not installed"; exit 77; }
command -v h5dump >/dev/null || { echo "skipped: h5dump not installed"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$bin" --write "$dir/run.h5"
[ -z "$(ls -A "$dir" | grep '\.tmp\.' || true)" ] || { echo "temporary file left behind"; exit 1; }

out=$(h5dump -H -p -d /samples/time "$dir/run.h5")
grep -q 'H5T_IEEE_F64LE' <<<"$out" || { echo "time is not float64: $out"; exit 1; }
grep -q 'SHUFFLE' <<<"$out" && grep -q 'DEFLATE' <<<"$out" || { echo "filters missing: $out"; exit 1; }
# h5dump 1.10 prints non-ASCII bytes as octal escapes, so check the type and an ASCII value
names=$(h5dump -d /roads/name "$dir/run.h5")
grep -q 'CSET H5T_CSET_UTF8' <<<"$names" && grep -q '"Chang'"'"'an Avenue"' <<<"$names" ||
  { echo "names not UTF-8 strings: $names"; exit 1; }

"$py" - "$dir/run.h5" <<'PY'
import math, sys
import h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
t = f["/samples/time"]
assert t.dtype == np.float64, t.dtype
assert t.attrs["units"] == "s" and t.attrs["long_name"] == "UTC seconds since 1970-01-01", dict(t.attrs)
v = t[...]
assert v[0] == 1555029596.0 and v[1] == 1555029597.0 and math.isnan(v[2]) and v[3] == -0.5, v
assert f["/samples/segment"].dtype == np.int32 and list(f["/samples/segment"][...]) == [-1, 0, 7, 2147483647]
assert f["/samples/flags"].dtype == np.uint32 and list(f["/samples/flags"][...]) == [0, 512, 4294967295, 5]
assert f["/segments/osm_way"].dtype == np.int64 and int(f["/segments/osm_way"][0]) == -9007199254740993
assert f["/segments/grade"].dtype == np.uint8 and list(f["/segments/grade"][...]) == [0, 1, 255, 3]
names = [s.decode("utf-8") for s in f["/roads/name"][...]]
assert names == ["长安街", "Chang'an Avenue", "", "优"], names
assert f["/match/points"].shape == (0,) and f["/match/names"].shape == (0,)
assert f["/samples/time"].compression == "gzip" and f["/samples/time"].shuffle
assert f.attrs["configuration"] == "grid_hz = 1\nv_ref_kmh = 30\n"
assert f.attrs["calib_a"] == 0.04 and list(f.attrs["lags_s"]) == [2.0, -3.0, 7.5]
assert f["/district"].attrs["note"] == "区"
print("h5py: ok")
PY
echo "h5dump + h5py: ok"
