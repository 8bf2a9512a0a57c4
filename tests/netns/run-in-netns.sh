#!/bin/sh
# automake log compiler for shell tests: each test runs in fresh network and
# mount namespaces, with /sys remounted so /sys/class/net is the namespace's.
# Exit 77 (skip) when namespaces cannot be made, with the reason; under CI
# that is a failure, since these tests must run there.
test="$1"
shift
skip() {
	echo "SKIP: $*"
	if [ "${CI:-}" = true ]; then
		echo "CI=true: a skipped netns test is a failure"
		exit 1
	fi
	exit 77
}
[ "$(id -u)" = 0 ] || skip "netns tests need root"
command -v unshare >/dev/null || skip "unshare(1) missing (util-linux)"
command -v ip >/dev/null || skip "ip(8) missing (iproute2)"
unshare -n -m true 2>/dev/null || skip "cannot create network/mount namespaces here"
exec unshare -n -m --propagation private -- sh -c '
	mount -t sysfs sysfs /sys || exit 99
	ip link set lo up
	exec "$@"' vfo-netns bash "$test" "$@"
