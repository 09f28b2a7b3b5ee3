#!/bin/sh
# vendor.sh copies the Socket.IO Admin UI's built dashboard (ui/dist of
# @socket.io/admin-ui, pinned in ../../package-lock.json) and its licence into
# admin-ui/, unchanged, so that Parley serves it without npm at run time. The
# source maps stay out (3.4 MB the dashboard does not need).
# Run `npm ci` in the repository root first; vendor_test.go checks the copy.
set -eu
cd "$(dirname "$0")"
src=../../node_modules/@socket.io/admin-ui
dst=admin-ui
if [ ! -f "$src/ui/dist/index.html" ]; then
	echo "vendor.sh: $src is missing: run npm ci in the repository root" >&2
	exit 1
fi
rm -rf "$dst"
mkdir -p "$dst"
cp "$src/LICENSE" "$dst/"
(cd "$src" && find ui/dist -type f ! -name '*.map') | while read -r f; do
	mkdir -p "$dst/$(dirname "$f")"
	cp "$src/$f" "$dst/$f"
done
echo "vendor.sh: copied @socket.io/admin-ui $(sed -n 's/^ *"version": *"\(.*\)",*$/\1/p' "$src/package.json" | head -n 1) into $dst"
