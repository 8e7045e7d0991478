#!/usr/bin/env bash
# bench_batch.sh: `dustload batch` end to end on a generated workload
# (bench/gen_batch_workload.sh: N weekly H-hour runs on the Haidian extract):
# fixes/s per core, strong scaling 1 -> 2 OpenMP threads and 1 -> 2 MPI
# workers (rank 0 only dispatches: -np 2 and -np 3), peak RSS per rank, the
# cost of a --resume pass over a finished batch, and a result hash over every
# dataset (equal in every configuration, or the bench fails).
# usage: bench/bench_batch.sh [N=52] [HOURS=8]   (DL_BIN: the binary)
set -euo pipefail
N=${1:-52}; H=${2:-8}
SRC=$(cd "$(dirname "$0")/.." && pwd)
DL=${DL_BIN:-$SRC/build/dustload}; FX=$SRC/tests/fixtures
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
"$DL" network import -q --osm "$FX/osm/beijing_haidian_2013.osm" --townships "$FX/demo/demo_townships.geojson" \
  --districts "$FX/demo/demo_district.geojson" -o "$T/hd.net"
DL_BIN=$DL "$SRC/bench/gen_batch_workload.sh" "$T/hd.net" "$T/runs" "$N" "$H" >/dev/null
MB=$(du -sm "$T/runs" | cut -f1)
export OMPI_MCA_btl_vader_single_copy_mechanism=none
MPI="mpirun --allow-run-as-root --oversubscribe --bind-to none -np"

hash_out() {
  /usr/bin/python3 - "$1" <<'PY'
import sys, os, h5py, hashlib
h = hashlib.sha256()
def walk(g):
    for k in sorted(g):
        o = g[k]
        if isinstance(o, h5py.Dataset):
            v = o[()]
            h.update(k.encode()); h.update(repr(v.tolist()).encode() if v.dtype.kind == "O" else v.tobytes())
        else: walk(o)
for f in sorted(x for x in os.listdir(sys.argv[1]) if x.endswith(".h5")):
    walk(h5py.File(os.path.join(sys.argv[1], f), "r"))
print(h.hexdigest()[:16])
PY
}

# one configuration: name cores procs cmd... ; prints a table row
declare -A WALL
row() {
  local name=$1 cores=$2; shift 2
  local out=$T/out.$name
  local t0 t1
  t0=$(date +%s.%N)
  "$@" "$T/runs" -o "$out" -q >"$T/sum.$name" 2>"$T/err.$name" || { cat "$T/err.$name"; exit 1; }
  t1=$(date +%s.%N)
  local wall fixes rss hash
  wall=$(echo "$t1 - $t0" | bc -l)
  fixes=$(sed -n 's/.*; \([0-9]*\) fixes in.*/\1/p' "$T/sum.$name")
  rss=$(cat "$T"/rss.* 2>/dev/null | sort -n | tail -1); rm -f "$T"/rss.*
  hash=$(hash_out "$out")
  WALL[$name]=$wall
  printf '| %-28s | %5d | %8.2f | %9.0f | %9.0f | %7.1f | %s |\n' "$name" "$cores" "$wall" \
    "$(echo "$fixes / $wall" | bc -l)" "$(echo "$fixes / $wall / $cores" | bc -l)" "$(echo "$rss / 1024" | bc -l)" "$hash"
  echo "$hash" >> "$T/hashes"
}
timed() { /usr/bin/time -f %M -o "$T/rss.$$.$RANDOM" "$@"; }
export -f timed 2>/dev/null || true
RSSW='exec /usr/bin/time -f %M -o '"$T"'/rss.${OMPI_COMM_WORLD_RANK:-0} "$0" "$@"'

echo "workload: $N runs x $H h (weekly, $(($N * $H * 3600)) s of driving), $MB MB of raw files; $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo
echo "| configuration                | cores | wall (s) | fixes/s   | per core  | peak RSS/rank (MB) | result hash |"
echo "|---|---:|---:|---:|---:|---:|---|"
row "1 process, 1 thread" 1 sh -c "$RSSW" "$DL" batch --threads 1
row "1 process, 2 threads" 2 sh -c "$RSSW" "$DL" batch --threads 2
if command -v mpirun >/dev/null; then
  row "mpirun -np 2 (1 worker x 1)" 1 $MPI 2 sh -c "$RSSW" "$DL" batch --threads 1
  row "mpirun -np 3 (2 workers x 1)" 2 $MPI 3 sh -c "$RSSW" "$DL" batch --threads 1
fi
[ "$(sort -u "$T/hashes" | wc -l)" -eq 1 ] || { echo "FAIL: results differ between configurations"; exit 1; }
# a --resume pass over the finished batch: input hashing + journal, no runs
t0=$(date +%s.%N); "$DL" batch -q "$T/runs" -o "$T/out.1 process, 1 thread" --resume >/dev/null; t1=$(date +%s.%N)
echo
printf 'speedup 1 -> 2 threads: %.2f; 1 -> 2 MPI workers: %s\n' \
  "$(echo "${WALL[1 process, 1 thread]} / ${WALL[1 process, 2 threads]}" | bc -l)" \
  "$( [ -n "${WALL[mpirun -np 3 (2 workers x 1)]:-}" ] && printf '%.2f' "$(echo "${WALL[mpirun -np 2 (1 worker x 1)]} / ${WALL[mpirun -np 3 (2 workers x 1)]}" | bc -l)" || echo n/a)"
printf 'resume check of %d finished runs (hash every input, read the journal): %.2f s\n' "$N" "$(echo "$t1 - $t0" | bc -l)"
