#!/usr/bin/env bash
# test_inspect_instruments.sh: `dustload inspect` on the real TrakPro exports:
# --samples rows after --tz +05:30, the summary, and exit codes.
set -euo pipefail
bin=${DL_BIN:?} fx=${DL_FIXTURES:?}
dt=$fx/mmaq_dusttrak/2019_09_25_h091000_KAN_DT8530.csv
drx=$fx/mmaq_dusttrak/2019_08_30_h134435_CSTEP_DT602_8533.csv
fail() { echo "FAIL: $*"; exit 1; }

out=$("$bin" inspect --samples --tz +05:30 "$dt")
[ "$(echo "$out" | sed -n 1p)" = "time_utc,channel,value_ugm3,line" ] || fail "header: $(echo "$out" | head -1)"
[ "$(echo "$out" | sed -n 2p)" = "2019-09-25T03:40:01.000Z,AEROSOL,90.000,30" ] || fail "first row"
[ "$(echo "$out" | tail -1)" = "2019-09-25T07:35:06.000Z,AEROSOL,96.000,14135" ] || fail "last row"
[ "$(echo "$out" | wc -l)" -eq 14107 ] || fail "row count $(echo "$out" | wc -l)"

out=$("$bin" inspect --samples --tz +05:30 --channel PM10 --clock-offset 10 "$drx")
[ "$(echo "$out" | sed -n 2p)" = "2019-08-30T08:15:45.000Z,PM10,75.000,30" ] || fail "DRX PM10 row: $(echo "$out" | sed -n 2p)"

sum=$("$bin" inspect --tz +05:30 "$dt" "$drx")
for want in "format:     dusttrak" "accepted:   14106" "instrument: DustTrak II 8530 serial 8530172809" \
            "channel AEROSOL    14106 readings, 41.0 .. 3120.0 ug/m3, mean 202.3" \
            "time span:  2019-09-25T03:40:01.000Z .. 2019-09-25T07:35:06.000Z (14105 s)" \
            "channel PM2.5      5471 readings, 7.0 .. 91.0 ug/m3, mean 24.1" "gaps > 90 s: 0"; do
  echo "$sum" | grep -qF -- "$want" || fail "summary lacks '$want'"
done
echo "$sum" | grep -q "time zone:  none given" && fail "zone warning despite --tz"
"$bin" inspect "$dt" | grep -qF "time zone:  none given (--tz): local times read as UTC" || fail "no zone warning"

set +e
msg=$("$bin" inspect --samples --channel PM3 "$drx" 2>&1 >/dev/null); rc=$?
set -e
[ $rc -eq 78 ] || fail "unknown channel exit $rc"
echo "$msg" | grep -qF "no channel 'PM3' (the file has: PM1, PM2.5, RESP, PM10, TOTAL)" || fail "message: $msg"
echo "ok"
