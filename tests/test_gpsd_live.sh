#!/usr/bin/env bash
# test_gpsd_live.sh: dustload as a live gpsd client, end to end: gpsfake
# replays real receiver logs on a loopback port; we judge by what the client
# received (fixes against gpsd's own .chk decoding), never by gpsfake's exit.
set -u
command -v gpsfake >/dev/null || { echo "skipped: gpsfake (gpsd-clients) not installed"; exit 77; }
command -v ss >/dev/null || { echo "skipped: ss (iproute2) needed to find a free port"; exit 77; }
BIN=${DL_BIN:?DL_BIN not set}
FIX=${DL_FIXTURES:?DL_FIXTURES not set}/nmea_gpsd
PY=$(command -v python3)
tmp=$(mktemp -d)
pids=()
fail=0

cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill -9 $(pgrep -P "$p") "$p" 2>/dev/null # gpsd is gpsfake's child
  done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

listening() { ss -ltnH "sport = :$1" | grep -q .; }

free_port() {
  local p i
  for i in $(seq 50); do
    p=$((20000 + (RANDOM + $$ + i) % 20000))
    listening "$p" || { echo "$p"; return 0; }
  done
  return 1
}

# start_fake PORT LOG CYCLE: -n makes gpsd open the (pseudo) device at once;
# without it gpsd opens it on our WATCH, after gpsfake has already written
# the first sentences, and the first epochs are lost. The client connects as
# soon as the port listens, well before gpsd has identified the device.
start_fake() {
  gpsfake -1 -n -c "$3" -W 5 -P "$1" "$2" >"$tmp/fake.$1.$(basename "$2").log" 2>&1 &
  fake=$!
  pids+=("$fake")
  local i
  for i in $(seq 100); do
    listening "$1" && return 0
    sleep 0.1
  done
  echo "FAIL: gpsfake did not listen on port $1"; cat "$tmp"/fake.*.log
  return 1
}

kill_fake() { kill -9 $(pgrep -P "$1") "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# wait_fix PORT SECONDS: block until gpsd on PORT has sent a second watcher
# (gpspipe) a TPV with a 2D/3D fix and a position (its first mode-3 TPVs, from
# GSA, have neither time nor lat), so "killed mid-stream" really is mid-stream
# however slowly gpsfake starts on a loaded machine; then give our client,
# which watches the same gpsd, a moment to receive the same report.
wait_fix() {
  timeout "$2" gpspipe -w "127.0.0.1:$1" 2>/dev/null | grep -q -m1 '"class":"TPV".*"mode":[23].*"lat":' ||
    { echo "  (gpsd on port $1 sent no fix within $2 s)"; return 1; }
  sleep 0.5
}

# check_chk FIXES.csv LOG.chk MIN: every fix agrees with a gpsd TPV of the same
# time of day (the date depends on gpsd's century guess for 2-digit years)
# and position; at least MIN fixes.
check_chk() {
  "$PY" - "$@" <<'PYEOF'
import csv, json, sys
fixes, chk, need = sys.argv[1], sys.argv[2], int(sys.argv[3])
want = {}
for line in open(chk, encoding="utf-8", errors="replace"):
    try:
        o = json.loads(line)
    except ValueError:
        continue
    if o.get("class") == "TPV" and o.get("mode", 0) >= 2 and "time" in o and "lat" in o:
        want.setdefault(o["time"][11:23], (o["lat"], o["lon"]))
rows = list(csv.DictReader(open(fixes)))
bad = [r for r in rows if r["time_utc"][11:23] not in want or
       abs(float(r["lat"]) - want[r["time_utc"][11:23]][0]) > 1e-9 or
       abs(float(r["lon"]) - want[r["time_utc"][11:23]][1]) > 1e-9]
print(f"  {len(rows)} fixes, {len(want)} gpsd epochs in {chk.split('/')[-1]}, {len(bad)} disagree")
for r in bad[:5]:
    print("  disagrees:", r)
sys.exit(0 if not bad and len(rows) >= need else 1)
PYEOF
}

echo "1. replay iTrek.log: the client gets every fix gpsd decodes, and stops at --live-fixes"
n_chk=$("$PY" -c "import json,sys; print(len({json.loads(l)['time'] for l in open(sys.argv[1]) if l.startswith('{\"class\":\"TPV\"') and '\"time\"' in l and json.loads(l).get('mode',0)>=2}))" "$FIX/iTrek.log.chk")
port=$(free_port) || { echo "skipped: no free port"; exit 77; }
start_fake "$port" "$FIX/iTrek.log" 0.05 || exit 1
t0=$(date +%s.%N)
"$BIN" inspect --fixes --live-fixes "$n_chk" --live-seconds 12 "gpsd://127.0.0.1:$port" >"$tmp/live1.csv" 2>"$tmp/live1.err"
rc=$?
dt=$(echo "$(date +%s.%N) - $t0" | bc)
kill_fake "$fake"
echo "  exit $rc after ${dt} s"
if [ "$rc" -ne 0 ] || ! check_chk "$tmp/live1.csv" "$FIX/iTrek.log.chk" "$n_chk"; then
  echo "FAIL: live replay of iTrek.log (want all $n_chk gpsd epochs)"; cat "$tmp/live1.err"; fail=1
fi
if [ "$(echo "$dt > 15" | bc)" = 1 ]; then echo "FAIL: --live-seconds 12 took ${dt} s"; fail=1; fi

echo "2. gpsd killed mid-stream, another gpsd comes up on the port: the client reconnects"
port=$(free_port) || { echo "skipped: no free port"; exit 77; }
start_fake "$port" "$FIX/iTrek.log" 0.15 || exit 1
t0=$(date +%s.%N)
"$BIN" inspect --fixes --live-seconds 14 "gpsd://127.0.0.1:$port" >"$tmp/live2.csv" 2>"$tmp/live2.err" &
client=$!
wait_fix "$port" 8
kill_fake "$fake"
sleep 1.5
start_fake "$port" "$FIX/bu353s4.log" 0.05 || exit 1
wait "$client"
rc=$?
dt=$(echo "$(date +%s.%N) - $t0" | bc)
kill_fake "$fake"
n_a=$(awk -F, 'NR > 1 && $2 > 30' "$tmp/live2.csv" | wc -l)   # iTrek: Japan, lat 35.3
n_b=$(awk -F, 'NR > 1 && $2 < -30' "$tmp/live2.csv" | wc -l)  # bu353s4: New Zealand, lat -37.8
echo "  exit $rc after ${dt} s: $n_a fixes before the kill, $n_b after reconnecting"
awk -F, 'NR == 1 || $2 > 30' "$tmp/live2.csv" >"$tmp/live2a.csv"
awk -F, 'NR == 1 || $2 < -30' "$tmp/live2.csv" >"$tmp/live2b.csv"
if [ "$rc" -ne 0 ] || [ "$n_a" -lt 1 ] || [ "$n_b" -lt 1 ] ||
   ! check_chk "$tmp/live2a.csv" "$FIX/iTrek.log.chk" 1 ||
   ! check_chk "$tmp/live2b.csv" "$FIX/bu353s4.log.chk" 1; then
  echo "FAIL: reconnect"; cat "$tmp/live2.err"; fail=1
fi
if [ "$(echo "$dt > 17" | bc)" = 1 ]; then echo "FAIL: --live-seconds 14 took ${dt} s"; fail=1; fi

echo "3. gpsd killed mid-stream and gone: the client returns what it got in bounded time"
port=$(free_port) || { echo "skipped: no free port"; exit 77; }
start_fake "$port" "$FIX/iTrek.log" 0.15 || exit 1
t0=$(date +%s.%N)
"$BIN" inspect --fixes --live-seconds 10 "gpsd://127.0.0.1:$port" >"$tmp/live3.csv" 2>"$tmp/live3.err" &
client=$!
wait_fix "$port" 8
kill_fake "$fake"
wait "$client"
rc=$?
dt=$(echo "$(date +%s.%N) - $t0" | bc)
n=$(($(wc -l <"$tmp/live3.csv") - 1))
echo "  exit $rc after ${dt} s with $n fixes"
if [ "$rc" -ne 0 ] || [ "$n" -lt 1 ] || ! check_chk "$tmp/live3.csv" "$FIX/iTrek.log.chk" 1; then
  echo "FAIL: partial stream"; cat "$tmp/live3.err"; fail=1
fi
if [ "$(echo "$dt > 12" | bc)" = 1 ]; then echo "FAIL: --live-seconds 10 took ${dt} s"; fail=1; fi

echo "4. nothing listening: exit 69 (EX_UNAVAILABLE) with a clear message"
port=$(free_port) || { echo "skipped: no free port"; exit 77; }
t0=$(date +%s.%N)
"$BIN" inspect --live-seconds 3 "gpsd://127.0.0.1:$port" >"$tmp/live4.out" 2>"$tmp/live4.err"
rc=$?
dt=$(echo "$(date +%s.%N) - $t0" | bc)
echo "  exit $rc after ${dt} s: $(cat "$tmp/live4.err")"
if [ "$rc" -ne 69 ] || ! grep -q "cannot connect to gpsd" "$tmp/live4.err"; then
  echo "FAIL: unreachable gpsd"; fail=1
fi
if [ "$(echo "$dt > 5" | bc)" = 1 ]; then echo "FAIL: --live-seconds 3 took ${dt} s"; fail=1; fi

exit $fail
