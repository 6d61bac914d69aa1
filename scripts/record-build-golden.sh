#!/bin/sh
# Records what Docker 20.10's classic builder makes of the build test
# Dockerfiles: each image's config and history, as test data that
# test/e2e/build_golden_test.go compares pier's builds with.
#
# It starts Debian's dockerd (docker.io) privately (own data root, exec
# root and socket, no bridge, no iptables), imports a busybox image made
# like pier's own (/bin/busybox, its applets, /etc/passwd and group, PATH
# and CMD ["sh"]), builds test/e2e/testdata/build/<name>/ with
# DOCKER_BUILDKIT=0, and writes test/e2e/testdata/build/golden/<name>.json.
# Stops dockerd by its PID. Run as root: scripts/record-build-golden.sh
set -eu
cd "$(dirname "$0")/.."
data=test/e2e/testdata/build
work=$(mktemp -d /tmp/pier-golden.XXXXXX)
sock=$work/docker.sock
dockerd --data-root "$work/data" --exec-root "$work/exec" --pidfile "$work/dockerd.pid" \
	-H "unix://$sock" --iptables=false --ip6tables=false --bridge=none \
	>"$work/dockerd.log" 2>&1 &
pid=$!
cleanup() {
	kill "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
	# dockerd's own mounts are gone with it; its state goes too.
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
docker() { DOCKER_BUILDKIT=0 DOCKER_CONFIG=$work/cfg /usr/bin/docker -H "unix://$sock" "$@"; }
i=0
until docker version >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$work/dockerd.log"; exit 1; }
	sleep 0.2
done

# busybox, as pier makes it (internal/image/busybox.go).
root=$work/rootfs
mkdir -p "$root/bin" "$root/etc"
cp /bin/busybox "$root/bin/busybox"
for a in $(/bin/busybox --list); do
	[ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
tar -C "$root" -c . | docker import \
	--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	--change 'CMD ["sh"]' - busybox:latest >/dev/null

mkdir -p "$data/golden"
for dir in "$data"/*/Dockerfile; do
	dir=$(dirname "$dir")
	name=$(basename "$dir")
	docker build -q --network none -t "golden-$name" "$dir" >/dev/null
	docker save "golden-$name" -o "$work/$name.tar"
	python3 - "$work/$name.tar" "$data/golden/$name.json" <<'PY'
import json, sys, tarfile
t = tarfile.open(sys.argv[1])
manifest = json.load(t.extractfile("manifest.json"))
cfg = json.load(t.extractfile(manifest[0]["Config"]))
out = {"config": cfg.get("config", {}), "history": cfg.get("history", []), "author": cfg.get("author", "")}
with open(sys.argv[2], "w") as f:
    json.dump(out, f, indent=2, sort_keys=True)
    f.write("\n")
PY
	echo "recorded $name"
done
