#!/usr/bin/env bash
# make compat-docker-py: docker-py's own integration suite (tests/integration
# of its repository at tag 5.0.3, the version of Debian's python3-docker),
# run with Debian's python3 and pytest against pierd and against Debian's
# dockerd 20.10, each started privately on its own socket and state dir.
#
# DOCKER_PY_SRC must name a checkout of docker-py 5.0.3 that the developer
# fetched beforehand; it is read, never copied into this repository.
#   git clone --branch 5.0.3 https://github.com/docker/docker-py /tmp/docker-py
#   DOCKER_PY_SRC=/tmp/docker-py make compat-docker-py
#
# Images the suite pulls (alpine:3.10, busybox, ...) are a busybox-static
# rootfs imported under those names: no registry is reachable here.
# Output, in $OUT (default /tmp/pier-compat-docker-py): junit XML and the
# pytest log per engine, and table.md: counts, every test that passes on
# Docker but fails on pier with its cause, and the tests left out with why.
# Optional: ENGINES="pier docker" (or one of them), PYTEST_ARGS (e.g. -k exec).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
src=${DOCKER_PY_SRC:?set DOCKER_PY_SRC to a docker-py 5.0.3 checkout}
[ -d "$src/tests/integration" ] || { echo "compat-docker-py: $src has no tests/integration" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "compat-docker-py: needs root (it starts pierd and dockerd)" >&2; exit 1; }
scripts/install-deps.sh docker.io python3-docker python3-pytest python3-pytest-timeout python3-paramiko busybox-static curl jq
[ -x bin/pierd ] || { echo "compat-docker-py: bin/pierd missing; run make build" >&2; exit 1; }

out=${OUT:-/tmp/pier-compat-docker-py}
engines=${ENGINES:-pier docker}
mkdir -p "$out"
work=$(mktemp -d /tmp/pier-dpy.XXXXXX)
epid=""
# dockerd gets a bridge of its own, so that another dockerd on this machine
# (docker0) is not touched.
bridge=pydock$$
stop_engine() {
	[ -n "$epid" ] || return 0
	# Neither engine stops its containers when it stops (pierd keeps them
	# running for its restart): remove everything the suite left first.
	local sock=${DOCKER_HOST#unix://} c n
	if [ -S "$sock" ]; then
		for c in $(curl -s --unix-socket "$sock" 'http://d/containers/json?all=1' | jq -r '.[].Id' 2>/dev/null); do
			curl -s -o /dev/null --max-time 30 --unix-socket "$sock" -X DELETE "http://d/containers/$c?force=1&v=1"
		done
		for n in $(curl -s --unix-socket "$sock" http://d/networks | jq -r '.[] | select(.Name != "bridge" and .Name != "host" and .Name != "none") | .Id' 2>/dev/null); do
			curl -s -o /dev/null --unix-socket "$sock" -X DELETE "http://d/networks/$n"
		done
	fi
	kill "$epid" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$epid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$epid" 2>/dev/null || true
	wait "$epid" 2>/dev/null || true
	epid=""
}
# drop_bridge_rules deletes, one by one, the iptables rules the private
# dockerd wrote for its bridge (its MASQUERADE of the bridge's subnet and
# its FORWARD/DOCKER rules, which dockerd leaves behind when it stops); a
# leftover MASQUERADE would rewrite the sources of whatever later uses
# that subnet. Nothing else in the ruleset is touched.
drop_bridge_rules() {
	local t rule
	for t in nat filter; do
		iptables -t "$t" -S 2>/dev/null | grep -F -- "$bridge" | sed 's/^-A /-D /' |
			while read -r rule; do eval iptables -t "$t" "$rule" 2>/dev/null || true; done
	done
}
cleanup() {
	stop_engine
	drop_bridge_rules
	# Anything still mounted under $work is left in place rather than
	# deleted through (rm -rf would cross into a container's rootfs).
	if grep -q " $work/" /proc/mounts; then
		echo "compat-docker-py: mounts left under $work; not removing it" >&2
		ip link del "$bridge" 2>/dev/null || true
		return
	fi
	ip link del "$bridge" 2>/dev/null || true
	rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

# The rootfs every image the suite names is made of.
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp" "$work/rootfs/root"
cp /bin/busybox "$work/rootfs/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$work/rootfs/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$work/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$work/rootfs/etc/group"
tar -C "$work/rootfs" -c . >"$work/rootfs.tar"
images="alpine:3.10 alpine:latest busybox:latest busybox:buildroot-2014.02"

wait_ping() { # wait_ping SOCKET
	for _ in $(seq 150); do
		curl -sf --unix-socket "$1" http://d/_ping >/dev/null 2>&1 && return 0
		kill -0 "$epid" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

start_engine() { # start_engine NAME: sets DOCKER_HOST, epid
	local name=$1 dir="$work/$1"
	mkdir -p "$dir"
	case $name in
	pier)
		bin/pierd --root "$dir/root" --host "unix://$dir/api.sock" --runtime "$repo/bin/pier-runtime" \
			>"$out/pierd.log" 2>&1 &
		;;
	docker)
		ip route | grep -q '^10\.213\.7\.' && { echo "compat-docker-py: 10.213.7.0/24 is in use" >&2; exit 1; }
		ip link add "$bridge" type bridge
		ip addr add 10.213.7.1/24 dev "$bridge"
		ip link set "$bridge" up
		dockerd --bridge "$bridge"  --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/docker.pid" \
			-H "unix://$dir/api.sock" --iptables=true >"$out/dockerd.log" 2>&1 &
		;;
	esac
	epid=$!
	wait_ping "$dir/api.sock" || { echo "compat-docker-py: $name did not answer; see $out/${name}d.log" >&2; exit 1; }
	export DOCKER_HOST="unix://$dir/api.sock"
	local id
	id=$(curl -sf --unix-socket "$dir/api.sock" -X POST -H 'Content-Type: application/x-tar' \
		--data-binary @"$work/rootfs.tar" 'http://d/images/create?fromSrc=-&repo=alpine&tag=3.10' |
		sed -n 's/.*"status":"\(sha256:[0-9a-f]*\)".*/\1/p' | tail -1)
	[ -n "$id" ] || { echo "compat-docker-py: importing the rootfs into $name failed" >&2; exit 1; }
	for ref in $images; do
		curl -sf --unix-socket "$dir/api.sock" -X POST "http://d/images/$id/tag?repo=${ref%%:*}&tag=${ref#*:}" >/dev/null
	done
}

# Left out on both engines, with the reason: a private dockerd must not join
# or create a swarm on this shared machine (it would listen on 0.0.0.0 and
# add overlay networks), and plugins are pulled from Docker Hub.
deselect=(
	--ignore=tests/integration/api_swarm_test.py
	--ignore=tests/integration/api_service_test.py
	--ignore=tests/integration/api_secret_test.py
	--ignore=tests/integration/api_config_test.py
	--ignore=tests/integration/api_plugin_test.py
	--ignore=tests/integration/models_swarm_test.py
	--ignore=tests/integration/models_services_test.py
	--ignore=tests/integration/models_nodes_test.py
)

# The tests run from a copy outside the source tree, so that `import docker`
# is Debian's python3-docker 5.0.3 (the tag's own package warns on
# distutils, which the suite turns into errors) and nothing is written there.
# SETUPTOOLS_USE_DISTUTILS=stdlib: setuptools' own distutils warns on every
# StrictVersion, which conftest.py's simplefilter('error') makes fatal.
# Both engines are driven at API 1.41, docker-py 5.0.3's default and the
# newest Docker 20.10 speaks (API_VERSION=auto lets each negotiate; pierd
# then answers as 1.51, where e.g. volume prune keeps named volumes).
api=${API_VERSION:-1.41}
[ "$api" = auto ] && api=
mkdir -p "$work/dpy"
cp -r "$src/tests" "$src/pytest.ini" "$work/dpy/"

for e in $engines; do
	start_engine "$e"
	echo "compat-docker-py: running the suite against $e ($DOCKER_HOST)"
	(cd "$work/dpy" && env ${api:+DOCKER_TEST_API_VERSION=$api} SETUPTOOLS_USE_DISTUTILS=stdlib /usr/bin/python3 -m pytest -p no:cacheprovider -q -rA --timeout 180 \
		--junitxml "$out/$e.xml" "${deselect[@]}" ${PYTEST_ARGS:-} tests/integration) \
		>"$out/$e.log" 2>&1 || true
	tail -1 "$out/$e.log"
	stop_engine
done

/usr/bin/python3 "$repo/scripts/compat-docker-py-table.py" "$out" | tee "$out/table.md"
