#!/usr/bin/env bash
# Builds crictl and critest (sigs.k8s.io/cri-tools) through the Go module proxy, once.
#
#   usage: scripts/install-critools.sh     prints the bin directory holding crictl and critest
#
# Env: CRI_TOOLS_VERSION (v1.37.0), CRI_TOOLS_CACHE (/tmp/cri-tools; kept across runs, the
# same layout as ../shared/cri/fixture.sh so that either can reuse the other's build).
set -euo pipefail

VER=${CRI_TOOLS_VERSION:-v1.37.0}
CACHE=${CRI_TOOLS_CACHE:-/tmp/cri-tools}
BIN=$CACHE/$VER/bin

if [ -x "$BIN/crictl" ] && [ -x "$BIN/critest" ]; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || { echo "install-critools: go not found" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/critools.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
export GOPATH=${GOPATH:-$(go env GOPATH)} GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-auto}
# the module's source from the proxy (go mod download gives its directory)
dir=$(cd "$work" && go mod download -json "sigs.k8s.io/cri-tools@$VER" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$dir" ] || { echo "install-critools: cri-tools $VER not downloaded" >&2; exit 1; }
cp -r "$dir" "$work/src"; chmod -R u+w "$work/src"
ldflags="-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=${VER#v}"
mkdir -p "$BIN.tmp"
( cd "$work/src" && CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags "$ldflags" -o "$BIN.tmp/crictl" ./cmd/crictl \
  && CGO_ENABLED=0 go test -mod=mod -c -trimpath -ldflags "$ldflags" -o "$BIN.tmp/critest" ./cmd/critest ) >&2
rm -rf "$BIN"; mv "$BIN.tmp" "$BIN"
echo "$BIN"
