#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bootstrap_lock.sh: tools/bootstrap waits for the package manager's locks instead of failing
# with "Could not get lock". While a holder keeps /var/lib/dpkg/lock-frontend and the package
# lists' lock for a few seconds, bootstrap installs a probe package from a local file repository
# (no network); it must wait, then succeed. The locks are taken as apt and dpkg take them, with
# fcntl (flock(1) would not stop them: Linux keeps the two kinds of lock apart). The probe is
# purged at the end.
#
# Run by tools/test (see tools/package for when). Prints TAP. Needs root, dpkg-dev and
# /usr/bin/python3; it refuses (fails) unless CI=true or DSQLAUTH_PACKAGE_TEST=1.
set -u

. "$(dirname "$0")/../support/tap.sh"
. "$(dirname "$0")/guard.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

guard "install and purge a probe package while holding the dpkg lock"
for p in dpkg-deb dpkg-scanpackages apt-get /usr/bin/python3; do
    command -v "$p" >/dev/null || bail "$p is missing (tools/bootstrap installs it)"
done
PROBE=dsqlauth-lock-probe
dpkg-query -W -f='${Status}' "$PROBE" 2>/dev/null | grep -q "install ok installed" &&
    bail "$PROBE is installed already: dpkg --purge $PROBE first"

T=$(mktemp -d /tmp/dsqlauth-bootstrap-lock.XXXXXX) || bail "mktemp"
HOLDER=
cleanup() {
    [ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null
    dpkg --purge "$PROBE" >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT

# The probe: an empty package in a flat file repository; apt reads only that repository.
mkdir -p "$T/probe/DEBIAN" "$T/repo" "$T/lists/partial" "$T/cache/archives/partial" "$T/parts"
cat >"$T/probe/DEBIAN/control" <<C
Package: $PROBE
Version: 1.0
Architecture: all
Maintainer: dsqlauth tests <tests@localhost>
Description: empty package for dsqlauth's bootstrap lock test
C
dpkg-deb --root-owner-group --build "$T/probe" "$T/repo/${PROBE}_1.0_all.deb" >/dev/null ||
    bail "dpkg-deb failed"
(cd "$T/repo" && dpkg-scanpackages --multiversion . /dev/null >Packages 2>/dev/null) ||
    bail "dpkg-scanpackages failed"
echo "deb [trusted=yes] file:$T/repo ./" >"$T/sources.list"
cat >"$T/apt.conf" <<C
Dir::Etc::SourceList "$T/sources.list";
Dir::Etc::SourceParts "$T/parts";
Dir::State::Lists "$T/lists";
Dir::Cache "$T/cache";
C
export APT_CONFIG=$T/apt.conf

# The holder: the lists lock for 2 s (apt-get update retries), the dpkg frontend lock for HOLD s
# (apt-get install waits itself), taken as apt takes them.
HOLD=7
/usr/bin/python3 - "$T/lists/lock:2" "/var/lib/dpkg/lock-frontend:$HOLD" >"$T/holder.out" <<'PY' &
import fcntl, sys, time
held = []
for arg in sys.argv[1:]:
    path, seconds = arg.rsplit(":", 1)
    f = open(path, "a")
    fcntl.lockf(f, fcntl.LOCK_EX)
    held.append((float(seconds), f))
print("held", flush=True)
start = time.time()
for seconds, f in sorted(held, key=lambda h: h[0]):
    time.sleep(max(0.0, start + seconds - time.time()))
    f.close()
PY
HOLDER=$!
for _ in $(seq 50); do grep -q held "$T/holder.out" 2>/dev/null && break; sleep 0.1; done
grep -q held "$T/holder.out" || bail "could not take the locks"
ok "holding the lists lock for 2 s and /var/lib/dpkg/lock-frontend for $HOLD s"

start=$(date +%s)
out=$(DSQLAUTH_APT_LOCK_TIMEOUT=60 "$ROOT/tools/bootstrap" "$PROBE" 2>&1)
rc=$?
took=$(($(date +%s) - start))
[ "$rc" -eq 0 ] && ok "bootstrap succeeded once the locks were free" ||
    not_ok "bootstrap succeeded once the locks were free" "exit $rc: $out"
[ "$took" -ge $((HOLD - 2)) ] && ok "it waited ($took s)" || not_ok "it waited" "took $took s: $out"
expect_match "it said it was waiting" "waiting" "$out"
expect_not "no 'Could not get lock' failure" "^E: " "$out"
dpkg-query -W -f='${Status}' "$PROBE" 2>/dev/null | grep -q "install ok installed" &&
    ok "the probe package is installed" || not_ok "the probe package is installed" "$out"
wait "$HOLDER" 2>/dev/null
HOLDER=

# Without the wait (the old behaviour) it fails at once: the test can tell the difference.
/usr/bin/python3 - 3 /var/lib/dpkg/lock-frontend >"$T/holder2.out" <<'PY' &
import fcntl, sys, time
f = open(sys.argv[2], "a")
fcntl.lockf(f, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[1]))
PY
HOLDER=$!
for _ in $(seq 50); do grep -q held "$T/holder2.out" 2>/dev/null && break; sleep 0.1; done
out=$(apt-get -o DPkg::Lock::Timeout=0 install -y "$PROBE" 2>&1)
expect_match "the same lock makes a plain apt-get fail at once" "Could not get lock" "$out"
wait "$HOLDER" 2>/dev/null
HOLDER=

dpkg --purge "$PROBE" >/dev/null 2>&1
dpkg-query -W -f='${Status}' "$PROBE" 2>/dev/null | grep -q "installed" &&
    not_ok "the probe package is purged" || ok "the probe package is purged"

echo "1..$n"
exit $((failed > 0))
