#!/usr/bin/env bash
# The main job on bundled examples: installs dependencies, builds, then runs
# dustload on real captures shipped in tests/fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build >/dev/null
DL=build/dustload
F=tests/fixtures
echo "== dustload inspect: a real u-blox NMEA log, a real Garmin GPX track, a real DustTrak II export"
$DL inspect $F/nmea_gpsd/ublox-neo-m9n-nmea.log $F/mmaq_dusttrak/2019_09_25_h091000_KAN_Garmin_3.gpx
$DL inspect --tz +05:30 $F/mmaq_dusttrak/2019_09_25_h091000_KAN_DT8530.csv
echo "== first fixes of the NMEA log (CSV)"
$DL inspect --fixes $F/nmea_gpsd/ublox-neo-m9n-nmea.log | head -5
