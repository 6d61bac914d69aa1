#!/usr/bin/env bash
# Builds Docker Compose v2 (module github.com/docker/compose/v5, through the
# Go module proxy) and installs it as the docker CLI plugin
# docker-compose, for the e2e tests that drive pierd with `docker compose`.
# The binary is cached by version in $PIER_COMPOSE_CACHE (default
# ~/.cache/pier/compose), so a rerun only copies it.
# Usage: scripts/install-compose.sh [plugin-dir]
#   plugin-dir defaults to /usr/local/lib/docker/cli-plugins as root,
#   ~/.docker/cli-plugins otherwise.
set -euo pipefail

version=${COMPOSE_VERSION:-v5.6.0}
module=github.com/docker/compose/v5
if [ "$(id -u)" = 0 ]; then
	dir=${1:-/usr/local/lib/docker/cli-plugins}
else
	dir=${1:-$HOME/.docker/cli-plugins}
fi
cache=${PIER_COMPOSE_CACHE:-$HOME/.cache/pier/compose}
bin=$cache/docker-compose-$version
plugin=$dir/docker-compose

if [ -x "$plugin" ] && cmp -s "$bin" "$plugin"; then
	exit 0
fi
if [ ! -x "$bin" ]; then
	echo "install-compose: building $module $version (first time: a few minutes)"
	mkdir -p "$cache"
	tmp=$(mktemp -d)
	trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
	# `go install pkg@version` refuses a module whose go.mod has exclude
	# directives (compose's has), so the module's source comes through
	# the proxy (go mod download) and is built as the main module, with
	# the toolchain its go.mod names (GOTOOLCHAIN=auto fetches it) and its
	# own go.sum. The version is stamped as compose's Makefile does.
	export GOTOOLCHAIN=${GOTOOLCHAIN_COMPOSE:-auto}
	src=$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "$module@$version" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -d "$src" ] || { echo "install-compose: go mod download $module@$version gave no source" >&2; exit 1; }
	cp -r "$src" "$tmp/src"
	chmod -R u+w "$tmp/src"
	(cd "$tmp/src" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath \
		-ldflags "-s -w -X $module/internal.Version=$version" -o "$tmp/docker-compose" ./cmd)
	mv "$tmp/docker-compose" "$bin.tmp"
	mv "$bin.tmp" "$bin"
fi
mkdir -p "$dir"
install -m 0755 "$bin" "$plugin.tmp"
mv "$plugin.tmp" "$plugin"
echo "install-compose: $plugin ($("$plugin" version --short 2>/dev/null || echo "$version"))"
