#!/usr/bin/env bash
# Builds the buildx CLI plugin (module github.com/docker/buildx, through the
# Go module proxy) and installs it as docker-buildx into a CLI plugin folder.
#
# The default folder is pier's own ($PIER_BUILDX_DIR, default
# ~/.cache/pier/docker-config/cli-plugins), not the machine's: with buildx
# in a system plugin folder, docker CLI 28's `docker build` always takes the
# BuildKit path, which would change what every other client on this machine
# does. Tests point DOCKER_CONFIG at a directory whose cli-plugins holds it.
# The binary is cached by version in $PIER_BUILDX_CACHE (default
# ~/.cache/pier/buildx), so a rerun only copies it.
# Usage: scripts/install-buildx.sh [plugin-dir]
set -euo pipefail

version=${BUILDX_VERSION:-v0.39.1}
module=github.com/docker/buildx
dir=${1:-${PIER_BUILDX_DIR:-$HOME/.cache/pier/docker-config/cli-plugins}}
cache=${PIER_BUILDX_CACHE:-$HOME/.cache/pier/buildx}
bin=$cache/docker-buildx-$version
plugin=$dir/docker-buildx

if [ -x "$plugin" ] && cmp -s "$bin" "$plugin"; then
	exit 0
fi
if [ ! -x "$bin" ]; then
	echo "install-buildx: building $module $version (first time: a few minutes)"
	mkdir -p "$cache"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	# The version is stamped as buildx's own build does, so `docker buildx
	# version` and the BuildKit client's user agent name it.
	GOBIN=$tmp GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=${GOTOOLCHAIN_BUILDX:-auto} \
		go install -trimpath -ldflags "-s -w -X $module/version.Version=$version -X $module/version.Package=$module" \
		"$module/cmd/buildx@$version"
	mv "$tmp/buildx" "$bin.tmp"
	mv "$bin.tmp" "$bin"
fi
mkdir -p "$dir"
install -m 0755 "$bin" "$plugin.tmp"
mv "$plugin.tmp" "$plugin"
echo "install-buildx: $plugin ($("$plugin" version 2>/dev/null || echo "$version"))"
