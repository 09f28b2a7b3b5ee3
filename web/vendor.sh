#!/bin/sh
# vendor.sh copies the socket.io browser client pinned in ../package-lock.json into
# static/vendor/, unchanged, so that `go run ./cmd/parley` works without npm.
# Run `npm ci` in the repository root first; vendor_test.go checks the copy afterwards.
set -eu
cd "$(dirname "$0")"
src=../node_modules/socket.io-client
dst=static/vendor/socket.io-client
if [ ! -f "$src/dist/socket.io.esm.min.js" ]; then
	echo "vendor.sh: $src is missing: run npm ci in the repository root" >&2
	exit 1
fi
mkdir -p "$dst"
cp "$src/dist/socket.io.esm.min.js" "$src/LICENSE" "$dst/"
echo "vendor.sh: copied socket.io-client $(sed -n 's/^ *"version": *"\(.*\)",*$/\1/p' "$src/package.json" | head -n 1) into $dst"
