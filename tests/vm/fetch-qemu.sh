#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Fetch a QEMU with the emulated igb (82576, SR-IOV; QEMU >= 8.0) from
# bookworm-backports WITHOUT touching the system's QEMU or apt state: a
# private apt configuration (own sources list, lists and cache
# directories) downloads the .debs, dpkg -x unpacks them into a private
# prefix. Prints the prefix on stdout; run QEMU as
#
#   QEMU_MODULE_DIR=$P/usr/lib/x86_64-linux-gnu/qemu \
#       $P/usr/bin/qemu-system-x86_64 -L $P/usr/share/qemu ...
#
# The prefix is cached under CACHEDIR keyed by the package version and
# reused without any network access on the next call (VFO_QEMU_REFRESH=1
# looks for a newer version first).
#
# usage: fetch-qemu.sh [-c CACHEDIR]
#   -c  cache directory (default $VFO_VM_CACHE or /tmp/vfo-vm-$UID/cache)
#
# Exit: 0 prefix printed; 1 fetch failed; 77 a prerequisite is missing
# (no apt-get/dpkg: not a Debian system).
set -euo pipefail

die() { echo "fetch-qemu: $*" >&2; exit "${2:-1}"; }

CACHE=${VFO_VM_CACHE:-/tmp/vfo-vm-$(id -u)/cache}
while getopts "c:h" opt; do
	case $opt in
	c) CACHE=$OPTARG ;;
	h) sed -n '3,22p' "$0"; exit 0 ;;
	*) exit 2 ;;
	esac
done

SUITE=bookworm-backports
# igb with SR-IOV needs QEMU >= 8.0; seabios 1.16.3 from the same suite:
# with bookworm's 1.16.2 a q35 boot under QEMU 10 stalls ~38 s.
PKGS=(qemu-system-x86 qemu-system-common qemu-system-data seabios)
BIN=usr/bin/qemu-system-x86_64

command -v apt-get >/dev/null && command -v dpkg >/dev/null ||
	die "no apt-get/dpkg: cannot fetch QEMU from $SUITE" 77

# Reuse: the newest complete prefix, unless asked to refresh.
newest_cached() {
	local d best=
	for d in $(ls -1d "$CACHE"/qemu-bpo-* 2>/dev/null | sort -V); do
		[ -f "$d/.complete" ] && [ -x "$d/$BIN" ] && best=$d
	done
	[ -n "$best" ] && echo "$best"
}
if [ "${VFO_QEMU_REFRESH:-0}" != 1 ] && P=$(newest_cached); then
	echo "$P"
	exit 0
fi

# The mirror this machine already uses (deb822 or one-line sources).
mirror() {
	local m
	m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
		/etc/apt/sources.list.d/*.list 2>/dev/null |
		grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -1 |
		tr -d ' ')
	echo "${m:-http://deb.debian.org/debian}"
}
MIRROR=$(mirror)
MIRROR=${MIRROR%/}

mkdir -p "$CACHE"
APTDIR=$CACHE/apt-$SUITE
mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$APTDIR/debs"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
SIGNED=
[ -r "$KEYRING" ] && SIGNED="[signed-by=$KEYRING] "
echo "deb ${SIGNED}$MIRROR $SUITE main" >"$APTDIR/sources.list"

APTOPT=(-o "Dir::Etc::sourcelist=$APTDIR/sources.list"
	-o "Dir::Etc::sourceparts=-"
	-o "Dir::State::Lists=$APTDIR/lists"
	-o "Dir::Cache=$APTDIR/cache"
	-o "Dir::Cache::archives=$APTDIR/cache/archives"
	-o "APT::Sandbox::User=root"
	-o "Acquire::Retries=3"
	-o "Acquire::http::Timeout=30"
	-o "APT::Get::List-Cleanup=0")
APT=(apt-get -q "${APTOPT[@]}")

echo "fetch-qemu: apt-get update ($MIRROR $SUITE)" >&2
timeout 50 "${APT[@]}" update >"$APTDIR/update.log" 2>&1 ||
	die "apt-get update failed: $(tail -3 "$APTDIR/update.log")"

VER=$(apt-cache "${APTOPT[@]}" show "qemu-system-x86/$SUITE" 2>/dev/null |
	sed -n 's/^Version: //p' | head -1)
[ -n "$VER" ] || die "no qemu-system-x86 in $SUITE"
# "1:10.0.2+ds-1~bpo12+1" -> "10.0.2+ds-1~bpo12+1" (no ':' in paths)
KEY=${VER#*:}
P=$CACHE/qemu-bpo-$KEY
if [ -f "$P/.complete" ] && [ -x "$P/$BIN" ]; then
	echo "$P"
	exit 0
fi

echo "fetch-qemu: downloading ${PKGS[*]} from $SUITE (qemu $VER)" >&2
rm -f "$APTDIR/debs"/*.deb
(cd "$APTDIR/debs" &&
	timeout 60 "${APT[@]}" download "${PKGS[@]/%//$SUITE}") >"$APTDIR/download.log" 2>&1 ||
	die "apt-get download failed: $(tail -3 "$APTDIR/download.log")"

TMP=$(mktemp -d "$CACHE/qemu-bpo.tmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
for deb in "$APTDIR/debs"/*.deb; do
	dpkg -x "$deb" "$TMP"
	echo "$(basename "$deb")" >>"$TMP/.debs"
done
[ -x "$TMP/$BIN" ] || die "no $BIN in the downloaded packages"

# Libraries the new QEMU needs that this system lacks. Every one of them
# comes with bookworm's own qemu-system-x86 (7.2), so they are a
# prerequisite to install, not something to fetch behind apt's back: name
# the packages (from the .deb's Depends) and skip.
missing_libs() {
	ldd "$TMP/$BIN" 2>/dev/null | awk '/not found/ { print $1 }'
}
MISSING=$(missing_libs)
if [ -n "$MISSING" ]; then
	NEED=
	for dep in $(dpkg-deb -f "$APTDIR"/debs/qemu-system-x86_*.deb Depends |
		tr ',' '\n' | sed 's/(.*)//; s/|.*//' | tr -d ' '); do
		case $dep in qemu-* | seabios | ipxe-qemu) continue ;; esac
		dpkg -s "$dep" >/dev/null 2>&1 || NEED="$NEED $dep"
	done
	die "QEMU $VER needs libraries this system lacks ($(echo $MISSING)): apt-get install${NEED:- qemu-system-x86}" 77
fi
"$TMP/$BIN" -L "$TMP/usr/share/qemu" --version >/dev/null ||
	die "the fetched QEMU does not run"
touch "$TMP/.complete"
rm -rf "$P"
mv "$TMP" "$P"
trap - EXIT
echo "fetch-qemu: QEMU $VER in $P" >&2
echo "$P"
