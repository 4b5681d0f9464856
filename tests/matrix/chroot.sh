#!/usr/bin/env bash
# chroot.sh SUITE: prints the directory of a Debian SUITE chroot with Python,
# NumPy and their headers, building it with debootstrap when it is missing.
# bookworm is the exception: a bare system (plus $NDSPY_CHROOT_PKGS) for
# installing ndspy's .deb into a copy of it.
# (tests/matrix/targets says which Pythons of each chroot are tested.)
# Chroots live in $NDSPY_CHROOT_CACHE (default /var/cache/ndspy/chroots),
# outside the repository, and are reused. A chroot counts only once its
# .ndspy-ok stamp exists: it is built under a temporary name, checked
# (python3 imports numpy, the headers are there), stamped, then renamed, so
# a failed or interrupted debootstrap is never taken for a good one.
# The Debian mirror is the one apt of this machine uses for its own release
# ($NDSPY_DEBIAN_MIRROR overrides it).
set -euo pipefail
suite=$1
cache=${NDSPY_CHROOT_CACHE:-/var/cache/ndspy/chroots}
dir=$cache/$suite

# The archive apt takes this machine's own release from.
apt_mirror() {
	local codename
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
		'Created-By: Packages' 2>/dev/null |
		awk -v want="$codename" '$2 == want && $3 == "main" {
			print $1; exit }'
}

case $suite in
bookworm) pkgs=${NDSPY_CHROOT_PKGS:-dpkg} ;;
bullseye) pkgs=python3-numpy,python3-dev ;;  # NumPy 1.x ships its headers
# sid's NumPy is built for its second Python too
sid) pkgs=python3-numpy,python3-numpy-dev,python3-dev,python3.15,python3.15-dev ;;
*) pkgs=python3-numpy,python3-numpy-dev,python3-dev ;;
esac

# A working Python + NumPy with headers in $1 (each python3.X it has)?
usable() {
	local py
	[ "$suite" != bookworm ] || return 0
	ls "$1"/usr/include/python3*/Python.h >/dev/null 2>&1 || return 1
	for py in "$1"/usr/bin/python3.*; do
		case $py in *-config) continue ;; esac
		chroot "$1" "${py#"$1"}" -c 'import numpy' || return 1
	done
}

mkdir -p "$cache"
exec 9>"$cache/.$suite.lock"
flock 9
if [ -f "$dir/.ndspy-ok" ]; then
	# a chroot cached before a package joined the list gets it now
	# (every one installed: dpkg also knows removed packages)
	if ! status=$(chroot "$dir" dpkg-query -W -f='${Status}\n' \
		${pkgs//,/ } 2>/dev/null) ||
		[ -n "$(grep -v '^install ok installed$' <<<"$status")" ]; then
		echo "chroot.sh: adding ${pkgs//,/ } to the $suite chroot" >&2
		if ! { chroot "$dir" apt-get -o Acquire::Check-Valid-Until=false \
			update && chroot "$dir" apt-get -y \
			-o Acquire::Check-Valid-Until=false install ${pkgs//,/ }; } \
			>>"$cache/$suite.log" 2>&1 || ! usable "$dir"; then
			echo "chroot.sh: could not add them; see $cache/$suite.log" >&2
			exit 1
		fi
	fi
	echo "$dir"
	exit 0
fi
mirror=${NDSPY_DEBIAN_MIRROR:-$(apt_mirror)}
if [ -z "$mirror" ]; then
	echo "chroot.sh: apt has no Debian archive for this machine's release;" \
		"set NDSPY_DEBIAN_MIRROR" >&2
	exit 1
fi
rm -rf "$dir" "$dir".tmp.*
tmp=$(mktemp -d "$dir.tmp.XXXXXX")
log=$cache/$suite.log
echo "chroot.sh: building the $suite chroot in $dir (log: $log)" >&2
if ! debootstrap --variant=minbase --include="$pkgs" "$suite" "$tmp" \
	"$mirror" >"$log" 2>&1; then
	rm -rf "$tmp"
	echo "chroot.sh: debootstrap $suite failed; see $log" >&2
	exit 1
fi
if [ "$suite" = bookworm ]; then
	versions=$(chroot "$tmp" dpkg-query -W -f='${Version}' dpkg)
elif ! versions=$(chroot "$tmp" /usr/bin/python3 -c \
	'import sys, numpy; print(sys.version.split()[0], numpy.__version__)') ||
	! usable "$tmp"; then
	rm -rf "$tmp"
	echo "chroot.sh: the $suite chroot has no working Python + NumPy" >&2
	exit 1
fi
echo "$versions" >"$tmp/.ndspy-ok"
mv "$tmp" "$dir"
echo "$dir"
