#!/bin/sh
# test-deps.sh makes sure everything `make test` needs is on the machine:
# Debian packages (redis-server, Node.js and npm, Chromium, HAProxy,
# docker-compose to validate the compose file) and the npm
# packages pinned by package-lock.json. Missing Debian packages are installed
# with apt-get when it can be run (as root or through sudo); otherwise the
# script says what to install and fails, so that tests never run without
# their dependencies.
set -eu
cd "$(dirname "$0")/.."

# command -> Debian package
need="redis-server:redis-server redis-cli:redis-tools node:nodejs npm:npm chromium:chromium haproxy:haproxy docker-compose:docker-compose"

missing=""
for pair in $need; do
	cmd=${pair%%:*}
	pkg=${pair#*:}
	command -v "$cmd" >/dev/null 2>&1 || missing="$missing $pkg"
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" = 0 ]; then
		apt="apt-get"
	elif command -v sudo >/dev/null 2>&1; then
		apt="sudo apt-get"
	else
		echo "test-deps: missing Debian packages:$missing (install them with apt-get)" >&2
		exit 1
	fi
	echo "test-deps: installing$missing"
	$apt update -qq
	DEBIAN_FRONTEND=noninteractive $apt install -y -qq --no-install-recommends $missing
fi

# npm ci when node_modules is missing or older than the lock file. A
# node_modules that links to another checkout's packages is left alone:
# npm ci would empty the other checkout's directory through the link.
if [ -L node_modules ]; then
	echo "test-deps: node_modules links to $(readlink node_modules); not reinstalling it from here"
elif [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	echo "test-deps: npm ci"
	npm ci --no-audit --no-fund
fi
