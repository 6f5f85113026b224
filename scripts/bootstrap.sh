#!/usr/bin/env bash
# Prepares everything `make test` and `make demo` need on a bare Debian 12
# machine: Debian packages (installed with apt-get when running as root,
# otherwise named in a clear message), a Python >= 3.11 virtualenv in .venv,
# and the project with its Python dependencies installed into it.
#
# It is quick when nothing changed: the venv is reinstalled only when
# pyproject.toml is newer than the stamp it leaves behind.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
EXTRAS=${EXTRAS:-dev}
# Debian packages the project needs, beyond Python itself: libvirt-python is
# built from source against libvirt's headers (the libvirt test driver it
# uses in tests comes with the library itself), and so is the oVirt SDK
# against libxml2's.
DEB_PACKAGES=(ca-certificates pkg-config libvirt-dev libxml2-dev gcc python3-dev)

# The browser tests of `make test` drive the dashboard in Debian's headless
# Chromium through its WebDriver; without them (not root) they are skipped.
BROWSER_PACKAGES=(chromium chromium-driver)

say() { printf 'bootstrap: %s\n' "$*" >&2; }

find_python() {
    for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

missing_debs() {
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
            printf '%s\n' "$pkg"
    done
}

apt_install() {
    [ "$#" -gt 0 ] || return 0
    if ! command -v dpkg-query >/dev/null 2>&1; then
        say "not a Debian system; make sure these are installed: $*"
        return 0
    fi
    local missing
    mapfile -t missing < <(missing_debs "$@")
    [ "${#missing[@]}" -gt 0 ] || return 0
    if [ "$(id -u)" -ne 0 ]; then
        say "missing Debian packages: ${missing[*]}"
        say "install them with: sudo apt-get install -y ${missing[*]}"
        exit 1
    fi
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

PY=$(find_python) || {
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt_install python3 python3-venv python3-dev
        PY=$(find_python) || { say "Python >= 3.11 is required"; exit 1; }
    else
        say "Python >= 3.11 is required (Debian 12: apt-get install python3 python3-venv)"
        exit 1
    fi
}

apt_install "${DEB_PACKAGES[@]}"
if [ "$EXTRAS" = dev ] && command -v dpkg-query >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        apt_install "${BROWSER_PACKAGES[@]}"
    else
        mapfile -t missing_browser < <(missing_debs "${BROWSER_PACKAGES[@]}")
        if [ "${#missing_browser[@]}" -gt 0 ]; then
            say "the dashboard's browser tests need: sudo apt-get install -y ${missing_browser[*]}"
            say "(until then they are skipped)"
        fi
    fi
fi

# The LDAP identity backend's tests run an OpenLDAP server (slapd) of their own,
# with their own config on a high port. Debian's package would start the
# system's slapd on port 389: a policy-rc.d keeps it from starting during the
# install, and one already running from an earlier install is stopped.
LDAP_PACKAGES=(slapd ldap-utils)
install_ldap() {
    local policy=/usr/sbin/policy-rc.d made=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made=1
    fi
    local status=0
    apt_install "${LDAP_PACKAGES[@]}" || status=$?
    [ -z "$made" ] || rm -f "$policy"
    [ "$status" -eq 0 ] || exit "$status"
    if [ -f /var/run/slapd/slapd.pid ] && command -v service >/dev/null 2>&1; then
        service slapd stop >/dev/null 2>&1 || true
    fi
}
if [ "$EXTRAS" = dev ] && command -v dpkg-query >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        install_ldap
    else
        mapfile -t missing_ldap < <(missing_debs "${LDAP_PACKAGES[@]}")
        if [ "${#missing_ldap[@]}" -gt 0 ]; then
            say "the LDAP identity tests need: sudo apt-get install -y ${missing_ldap[*]}"
            say "(until then they are skipped)"
        fi
    fi
fi

# The network agent's linux_bridge driver runs iproute2's `ip`; its test makes
# links in a network namespace as root (skipped otherwise).
if ! PATH="$PATH:/usr/sbin:/sbin" command -v ip >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        apt_install iproute2
    else
        say "the network agent's linux_bridge driver needs: sudo apt-get install -y iproute2"
    fi
fi

# Debian's python3 needs python3-venv for `-m venv` to bring pip along.
if ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
    apt_install python3-venv
fi

STAMP="$VENV/.cellrouter-installed-$EXTRAS"
if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV with $PY"
    "$PY" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
    say "installing cellrouter[$EXTRAS] into $VENV"
    log="$VENV/pip-install.log"
    if ! { "$VENV/bin/python" -m pip install --upgrade pip &&
        "$VENV/bin/python" -m pip install -e ".[$EXTRAS]"; } >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        say "pip install failed; the whole log is in $log"
        exit 1
    fi
    touch "$STAMP"
fi
