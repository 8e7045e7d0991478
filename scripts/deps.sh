#!/usr/bin/env bash
# Installs every build and test dependency of dustload from Debian packages.
# Idempotent: installs only what is missing. Works as root or with sudo.
set -euo pipefail
PKGS=(
  build-essential cmake pkg-config git
  libfftw3-dev            # FFTW (+ fftw3_omp): cross-correlation, low-pass
  libgsl-dev              # GSL: despiking, interpolation, fitting
  libhdf5-dev hdf5-tools  # HDF5 results (h5dump for tests)
  libgps-dev gpsd gpsd-clients   # libgps live source; gpsfake for tests
  libproj-dev proj-data   # PROJ: WGS84 <-> UTM
  libreadosm-dev          # readosm: .osm and .osm.pbf
  libinih-dev             # inih: manifests
  libexpat1-dev           # expat: GPX
  libssl-dev              # libcrypto: SHA-256 of inputs
  libjansson-dev          # jansson: GeoJSON boundaries
  zlib1g-dev
  libopenmpi-dev openmpi-bin     # Open MPI: batch across machines
  libcmocka-dev           # unit tests
  python3 python3-h5py python3-numpy python3-pyproj  # ../shared/checks, HDF5 read-back test
  bc iproute2             # timing arithmetic and free-port search in the live gpsd test
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PKGS[@]} packages present" >&2
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done" >&2
