#!/usr/bin/env bash
# Installs what pier's build, demo and tests need, from Debian's packages.
# Idempotent: runs apt-get only when something is missing.
# Usage: scripts/install-deps.sh [extra-package...]
set -euo pipefail

want=(busybox-static iproute2 gcc libc6-dev make jq docker-registry "$@")
missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root or install them" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
