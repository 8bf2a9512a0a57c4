#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build a guest initramfs (cpio.gz) from Debian's installed kernel, its
# modules, busybox-static and the programs given on the command line (with
# the shared libraries they link and the dynamic loader). Prints the path of
# the image on stdout. Images are cached, keyed on every input, so a second
# call with the same inputs costs a hash and nothing else.
#
# usage: mkinitramfs.sh [-c CACHEDIR] [-k KVER] [-m MODULE]... [-f SRC:DST]...
#                       [-u] [PROGRAM[:DST]]...
#   -c  cache directory (default $VFO_VM_CACHE or /tmp/vfo-vm-cache)
#   -k  kernel version (default: the newest under /lib/modules with a
#       matching /boot/vmlinuz-*)
#   -m  extra module (dependencies resolved with modprobe --show-depends)
#   -f  a plain file copied to DST inside the image
#   -u  with Debian's udev: systemd-udevd, udevadm (and the libraries they
#       link), the rules and .link file that give NICs their predictable
#       names (75-net-description, 80-net-setup-link, 99-default.link).
#       /init then starts udevd and lets it rename the NICs before the test
#   PROGRAM  a binary, copied to DST (default /usr/bin/<name>) with its libs
#
# The per-test guest script is NOT baked in here: lib.sh appends a small
# second cpio archive (the kernel unpacks concatenated archives in order),
# so one cached base image serves every test.
#
# The image's /init: mounts proc/sys/dev/run/tmp, loads the modules in
# dependency order, brings up lo, links /dev/virtio-ports/<name>, exports
# every vfo.KEY=VALUE from the kernel command line as VFO_KEY, (with -u:
# starts systemd-udevd, triggers "add" for the net devices and waits for
# udev to settle: the NICs have their udev names), sources
# /test.env, runs /test.sh in the background (its output on the console,
# then "VFO-TEST-EXIT: <rc>"), and reads commands from the console (ttyS0)
# forever: each line is run by sh, output on the console.
set -euo pipefail

die() { echo "mkinitramfs: $*" >&2; exit 1; }

CACHE=${VFO_VM_CACHE:-/tmp/vfo-vm-cache}
KVER=
MODULES=(virtio_pci virtio_net net_failover e1000e bonding virtio_console 8021q)
FILES=()
UDEV=0
while getopts "c:k:m:f:uh" opt; do
	case $opt in
	c) CACHE=$OPTARG ;;
	k) KVER=$OPTARG ;;
	m) MODULES+=("$OPTARG") ;;
	f) FILES+=("$OPTARG") ;;
	u) UDEV=1 ;;
	h) sed -n '3,36p' "$0"; exit 0 ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
PROGRAMS=("$@")
UDEV_FILES=(/lib/udev/rules.d/75-net-description.rules
	/lib/udev/rules.d/80-net-setup-link.rules
	/usr/lib/systemd/network/99-default.link)
if [ "$UDEV" = 1 ]; then
	UDEVADM=$(command -v udevadm || true)
	[ -n "$UDEVADM" ] && [ -x /lib/systemd/systemd-udevd ] ||
		die "no udev: install udev"
	for f in "${UDEV_FILES[@]}"; do
		[ -f "$f" ] || die "$f missing: install udev"
		FILES+=("$f:$f")
	done
	PROGRAMS+=("$UDEVADM:/bin/udevadm")
fi

if [ -z "$KVER" ]; then
	for v in $(ls -1 /lib/modules 2>/dev/null | sort -rV); do
		if [ -f "/boot/vmlinuz-$v" ]; then KVER=$v; break; fi
	done
fi
[ -n "$KVER" ] || die "no kernel: install linux-image-amd64"
[ -d "/lib/modules/$KVER" ] || die "no /lib/modules/$KVER"
BUSYBOX=$(command -v busybox || true)
[ -n "$BUSYBOX" ] && file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
	BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || die "no busybox: install busybox-static"

# The /init script. Kept here so that changing it changes the cache key.
INIT=$(cat <<'EOF'
#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /run /tmp /var/run
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
exec </dev/console >/dev/console 2>&1
echo "VFO-INIT: start uptime=$(cut -d' ' -f1 /proc/uptime)"
while read -r mod args; do
	insmod "/lib/modules/$mod" $args || echo "VFO-INIT: insmod $mod failed"
done </etc/vfo-modules
ip link set lo up
hostname vfo-guest
for w in $(cat /proc/cmdline); do
	case $w in
	vfo.*=*)
		k=${w%%=*}; k=${k#vfo.}
		k=$(echo "$k" | tr 'a-z.-' 'A-Z__')
		export "VFO_$k=${w#*=}" ;;
	esac
done
# With udev (mkinitramfs.sh -u): the daemon renames the NICs that are
# already there (net.ifnames), and every NIC hot-added later.
if [ -f /etc/vfo-udev ]; then
	/lib/systemd/systemd-udevd --daemon || echo "VFO-INIT: udevd failed"
	udevadm trigger --action=add --subsystem-match=net
	udevadm settle --timeout=60 || echo "VFO-INIT: udev did not settle"
	echo "VFO-INIT: udev up, NICs: $(ls /sys/class/net | tr '\n' ' ')"
fi
[ -f /test.env ] && . /test.env
# No udev here: link the virtio-serial ports by name once the host has
# told the guest their names (asynchronous after the module loads).
/usr/bin/vfo-vports 3
echo "VFO-INIT: ready uptime=$(cut -d' ' -f1 /proc/uptime)"
if [ -x /test.sh ]; then
	( /test.sh; echo "VFO-TEST-EXIT: $?" ) &
fi
# The console is the test's command channel: no echo, one command a line.
stty -echo -F /dev/ttyS0 2>/dev/null
while :; do
	while IFS= read -r line; do
		sh -c "$line" </dev/null
	done </dev/ttyS0
	sleep 1
done
EOF
)

VPORTS=$(cat <<'EOF'
#!/bin/sh
# vfo-vports [WAIT_S]: link /dev/virtio-ports/<name> -> /dev/vportNpM,
# waiting up to WAIT_S seconds for every port to learn its name.
w=${1:-0}
mkdir -p /dev/virtio-ports
i=0
while :; do
	missing=0
	for d in /sys/class/virtio-ports/vport*; do
		[ -e "$d" ] || continue
		n=$(cat "$d/name" 2>/dev/null)
		if [ -z "$n" ]; then missing=1; continue; fi
		ln -sf "../${d##*/}" "/dev/virtio-ports/$n"
	done
	[ $missing = 0 ] && break
	[ $i -ge $((w * 10)) ] && break
	i=$((i + 1))
	usleep 100000
done
EOF
)

# Modules in dependency order, each once, with modprobe's options.
MODLIST=$(
	for m in "${MODULES[@]}"; do
		modprobe -S "$KVER" --show-depends "$m" ||
			die "module $m not found for $KVER"
	done | awk '$1 == "insmod" && !seen[$2]++ { $1 = ""; sub(/^ /, ""); print }'
)

# Cache key: everything that ends up in the image.
key_input() {
	echo "v1 $KVER udev=$UDEV"
	printf '%s\n' "$INIT" "$VPORTS" "$MODLIST"
	sha256sum "$BUSYBOX" "$0" | cut -d' ' -f1
	local p src dst
	for p in "${PROGRAMS[@]}" "${FILES[@]}"; do
		src=${p%%:*}; dst=${p#*:}
		[ -f "$src" ] || die "$src: no such file"
		echo "$dst $(sha256sum "$src" | cut -d' ' -f1)"
	done
}
KEY=$(key_input | sha256sum | cut -c1-16)
OUT=$CACHE/initramfs-$KVER-$KEY.cpio.gz
if [ -s "$OUT" ]; then
	echo "$OUT"
	exit 0
fi

mkdir -p "$CACHE"
ROOT=$(mktemp -d "$CACHE/root.XXXXXX")
trap 'rm -rf "$ROOT" "$OUT.tmp.$$"' EXIT
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,lib/modules,root}

cp "$BUSYBOX" "$ROOT/bin/busybox"
for a in $("$BUSYBOX" --list-full); do
	[ -e "$ROOT/$a" ] || ln -s /bin/busybox "$ROOT/$a"
done
printf '%s\n' "$INIT" >"$ROOT/init"
printf '%s\n' "$VPORTS" >"$ROOT/usr/bin/vfo-vports"
chmod 755 "$ROOT/init" "$ROOT/usr/bin/vfo-vports"

# Modules: copied flat, decompressed (busybox insmod reads plain .ko).
: >"$ROOT/etc/vfo-modules"
while read -r path args; do
	name=${path##*/}
	case $name in
	*.ko.xz) xz -dc "$path" >"$ROOT/lib/modules/${name%.xz}"; name=${name%.xz} ;;
	*.ko.zst) zstd -qdc "$path" >"$ROOT/lib/modules/${name%.zst}"; name=${name%.zst} ;;
	*.ko.gz) gzip -dc "$path" >"$ROOT/lib/modules/${name%.gz}"; name=${name%.gz} ;;
	*) cp "$path" "$ROOT/lib/modules/$name" ;;
	esac
	echo "$name $args" >>"$ROOT/etc/vfo-modules"
done <<<"$MODLIST"

# Copy a file to the same path inside the image (libraries, loader).
copy_same() {
	mkdir -p "$ROOT$(dirname "$1")"
	[ -e "$ROOT$1" ] || cp -L "$1" "$ROOT$1"
}

for p in "${PROGRAMS[@]}"; do
	src=${p%%:*}
	dst=/usr/bin/$(basename "$src")
	[ "$p" != "$src" ] && dst=${p#*:}
	mkdir -p "$ROOT$(dirname "$dst")"
	rm -f "$ROOT$dst"
	cp -L "$src" "$ROOT$dst"
	chmod 755 "$ROOT$dst"
	# ldd lines: "libx.so => /path (addr)" or "/lib64/ld-linux... (addr)".
	for lib in $(ldd "$src" 2>/dev/null | grep -o '/[^ ]*' || true); do
		copy_same "$lib"
	done
done
for f in "${FILES[@]}"; do
	mkdir -p "$ROOT$(dirname "${f#*:}")"
	cp -L "${f%%:*}" "$ROOT${f#*:}"
done
if [ "$UDEV" = 1 ]; then
	# systemd-udevd is udevadm under another name (it looks at argv[0]).
	mkdir -p "$ROOT/lib/systemd" "$ROOT/etc/udev/rules.d"
	ln -sf /bin/udevadm "$ROOT/lib/systemd/systemd-udevd"
	: >"$ROOT/etc/vfo-udev"
fi
# 32-bit-style /lib64 path for the loader when only /lib/x86_64... exists.
[ -e "$ROOT/lib64" ] || ln -s lib "$ROOT/lib64"

(cd "$ROOT" && find . -print0 | cpio --null -o -H newc --quiet) |
	gzip -1 >"$OUT.tmp.$$"
mv -f "$OUT.tmp.$$" "$OUT"
echo "$OUT"
