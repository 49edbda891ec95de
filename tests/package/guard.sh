# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# guard.sh: sourced (after tests/support/tap.sh) by the tests that install packages on this machine
# (deb.sh, bootstrap_lock.sh). They run only where that was asked for: CI=true (CI's machine is
# a fresh Debian 12, run as root) or DSQLAUTH_PACKAGE_TEST=1 (a developer who accepts it), and
# only as root. Anything else is a failure with the reason, never a silent skip.
guard() { # NAME: what the test will do, for the message
    if [ "${CI:-}" != true ] && [ "${DSQLAUTH_PACKAGE_TEST:-}" != 1 ]; then
        bail "refusing to $1 on this machine: set DSQLAUTH_PACKAGE_TEST=1 to allow it (CI sets CI=true)"
    fi
    [ "$(id -u)" -eq 0 ] || bail "$1 needs root (apt-get, dpkg)"
}
