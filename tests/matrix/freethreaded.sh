#!/usr/bin/env bash
# freethreaded.sh: prints the directory of a chroot holding a free-threaded
# CPython (Py_GIL_DISABLED) at /opt/python3.13t, building it when missing.
# Debian ships no free-threaded interpreter, so it is built from Debian's
# own source package: trixie's python3.13, the newest CPython whose source
# the mirror serves here (sid's python3.14 and python3.15, and every numpy
# source, answer 404), as upstream ships it (the orig tarball, without
# Debian's patches, which assume Debian's own build), configured with
# --disable-gil and no PGO, in a copy of the trixie chroot with the build
# dependencies added. It has no NumPy: none can be built for it here.
# Cached like the chroots (tests/matrix/chroot.sh): in $NDSPY_CHROOT_CACHE
# (default /var/cache/ndspy/chroots), built under a temporary name,
# checked (the interpreter runs without the GIL), stamped, then renamed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${NDSPY_CHROOT_CACHE:-/var/cache/ndspy/chroots}
name=trixie-3.13t
dir=$cache/$name
prefix=/opt/python3.13t
log=$cache/$name.log

base=$(bash "$here/chroot.sh" trixie) # waits for one being built
exec 9>"$cache/.$name.lock"
flock 9
# (a stamped chroot whose interpreter went missing is built again)
if [ -f "$dir/.ndspy-ok" ] && [ -x "$dir$prefix/bin/python3.13t" ]; then
	echo "$dir"
	exit 0
fi
rm -rf "$dir" "$dir".tmp.*
tmp=$(mktemp -d "$dir.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT # an interrupted build leaves nothing
echo "freethreaded.sh: building CPython 3.13t in $dir (log: $log)" >&2
: >"$log"

# (one && chain: errexit does not hold inside a function tested by if)
build() {
	local mirror
	cp -a "$base/." "$tmp/" && rm -f "$tmp/.ndspy-ok" &&
	mirror=$(awk '$1 == "deb" { print $2; exit }' \
		"$tmp/etc/apt/sources.list") &&
	echo "deb-src $mirror trixie main" >>"$tmp/etc/apt/sources.list" &&
	chroot "$tmp" apt-get -o Acquire::Check-Valid-Until=false update &&
	chroot "$tmp" apt-get -y --no-install-recommends \
		-o Acquire::Check-Valid-Until=false install \
		build-essential dpkg-dev libffi-dev zlib1g-dev libexpat1-dev &&
	chroot "$tmp" sh -ec 'mkdir /src && cd /src &&
		apt-get source --download-only python3.13 &&
		dpkg-source -x --skip-patches python3.13_*.dsc build' &&
	chroot "$tmp" sh -ec "cd /src/build &&
		./configure --disable-gil --prefix=$prefix --without-ensurepip \
			--disable-test-modules &&
		make -j$(nproc) && make install" &&
	rm -rf "$tmp/src" &&
	chroot "$tmp" $prefix/bin/python3.13t -c \
		'import sys; assert not sys._is_gil_enabled(); print(sys.version)'
}

start=$SECONDS
if ! version=$(build 2>>"$log" | tee -a "$log" | tail -n1) ||
	[ -z "$version" ]; then
	echo "freethreaded.sh: could not build CPython 3.13t; see $log" >&2
	exit 1
fi
echo "freethreaded.sh: built in $((SECONDS - start)) s: $version" >>"$log"
echo "$version" >"$tmp/.ndspy-ok"
mv "$tmp" "$dir"
trap - EXIT
echo "$dir"
