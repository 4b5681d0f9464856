#!/bin/sh
# deb.sh VERSION STAGING OUT: OUT, a Debian package of what `make install
# DESTDIR=STAGING PREFIX=/usr` put in STAGING: the dynamically linked
# ndspy (Debian keeps its libraries patched; the static build is another
# matter), its man page and bash completion. Depends are what
# dpkg-shlibdeps finds the binary needs, with the versions Debian's shlibs
# files give.
set -eu
umask 022 # dpkg-deb wants its control directory 0755
version=$1 staging=$(cd "$2" && pwd) out=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# dpkg-shlibdeps wants a source package around the binary it reads
mkdir "$work/debian"
printf 'Source: ndspy\n\nPackage: ndspy\nArchitecture: amd64\n' \
	>"$work/debian/control"
shlibs=$(cd "$work" && dpkg-shlibdeps -O -e"$staging/usr/bin/ndspy" \
	2>"$work/err") || { cat "$work/err" >&2; exit 1; }
depends=$(printf '%s\n' "$shlibs" | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "deb.sh: dpkg-shlibdeps found no libraries" >&2; exit 1; }
size=$(du -sk "$staging/usr" | cut -f1)
mkdir -p "$staging/DEBIAN"
cat >"$staging/DEBIAN/control" <<CONTROL
Package: ndspy
Version: $version
Architecture: amd64
Maintainer: ndspy developers <ndspy@localhost>
Installed-Size: $size
Depends: $depends
Section: devel
Priority: optional
Description: look inside the NumPy arrays of another process
 ndspy shows the NumPy arrays of a running Python process or of a core
 file as NumPy itself would (dtype, shape, strides, flags, base chain),
 finds every array, names them by Python path, prints thread stacks, and
 follows NumPy's buffer allocations with eBPF.
CONTROL
# Debian keeps man pages compressed
gzip -9n "$staging/usr/share/man/man1/ndspy.1"
dpkg-deb --root-owner-group --build "$staging" "$out" >/dev/null
