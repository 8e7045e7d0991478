#!/usr/bin/env bash
# test_inspect_manifest.sh: `dustload inspect MANIFEST` validates a run
# manifest (even one whose comments mention DustTrak exports) and names the
# file and line of the first problem, exit 78 (EX_CONFIG).
set -u
DL=${DL_BIN:?}; FX=${DL_FIXTURES:?}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
out=$("$DL" inspect "$FX/manifests/example.ini") || fail "valid manifest: exit $?"
grep -q "format:     manifest (valid)" <<<"$out" || fail "not detected as a manifest: $out"
grep -q "run:        2019-09-25-KAN-example, vehicle KAN-van-1" <<<"$out" || fail "run line: $out"
grep -q "instrument: bg         background .*channel PM10" <<<"$out" || fail "instrument line: $out"
printf '[run]\nid = x\nbogus = 1\n' >"$T/bad.ini"
"$DL" inspect "$T/bad.ini" 2>"$T/err"; rc=$?
[ $rc -eq 78 ] || fail "bad manifest exit $rc"
grep -q "bad.ini:3: \[run\] unknown key 'bogus'" "$T/err" || fail "message: $(cat "$T/err")"
echo "ok"
