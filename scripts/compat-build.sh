#!/usr/bin/env bash
# Compatibility report for pier's classic builder: moby's own build tests
# (integration-cli, DockerCLIBuildSuite, ~250 cases, DOCKER_BUILDKIT=0)
# run against a private pierd and, for comparison, a private dockerd 20.10
# (Debian's docker.io) on this machine. The source is fetched (a moby
# checkout in $MOBY_SRC, e.g. `git clone https://github.com/moby/moby`),
# never copied into this repository. Developer-run: `make compat-build`.
#
# usage: MOBY_SRC=/path/to/moby [COMPAT_ONLY=pier|docker] scripts/compat-build.sh [-run REGEX]
# Writes $RESULTS/compat-build.txt (per-test results of both) and prints
# the pass counts.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "compat-build: needs root" >&2; exit 2; }
REPO=$(cd "$(dirname "$0")/.." && pwd)
SRC=${MOBY_SRC:?set MOBY_SRC to a moby checkout}
BIN=${PIER_BIN:-$REPO/bin}
RESULTS=${RESULTS:-$REPO/bench/results}
RUN=TestDockerCLIBuildSuite
[ "${1:-}" = -run ] && RUN="TestDockerCLIBuildSuite/$2"
. "$REPO/bench/lib/busybox.sh"
. "$REPO/bench/engine/lib.sh"
mkdir -p "$RESULTS"
W=$(mktemp -d /tmp/pier-compat-build-XXXXXX)
PP= DP=
CG=compat-build-$$

cleanup() {
	set +e
	stop_pierd_dockerd
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "compat-build: compiling moby's integration-cli tests" >&2
(cd "$SRC" && GOFLAGS=-mod=vendor go test -c -o "$W/integration-cli.test" ./integration-cli)

start_pierd_dockerd
make_busybox_rootfs "$W/rootfs"
wait_for 30 docker -H "unix://$W/pier.sock" info || { tail "$W/pierd.log" >&2; exit 1; }
wait_for 30 docker -H "unix://$W/docker.sock" info || { tail "$W/dockerd.log" >&2; exit 1; }
# The suite's frozen images must exist: busybox for all (no registry is
# reachable here; tests needing the others' real content fail on both).
tar -C "$W/rootfs" -c . | docker -H "unix://$W/docker.sock" import --change 'CMD ["sh"]' - busybox:latest >/dev/null
for sock in pier docker; do
	for img in busybox:glibc hello-world:frozen debian:trixie-slim hello-world:amd64 hello-world:arm64; do
		docker -H "unix://$W/$sock.sock" tag busybox:latest "$img"
	done
done

# run NAME SOCKET: the suite against one daemon, in its own directory.
run() {
	mkdir -p "$W/run-$1"
	(cd "$SRC/integration-cli" && DOCKER_HOST="unix://$W/$2" \
		TEST_INTEGRATION_USE_GRAPHDRIVER=1 DOCKER_BUILDKIT=0 TEST_CLIENT_BINARY=${TEST_CLIENT_BINARY:-/usr/local/bin/docker} DOCKER_CONFIG="$W/cfg-$1" \
		TMPDIR="$W/run-$1" timeout 3600 "$W/integration-cli.test" -test.run "$RUN" -test.v -test.timeout 60m \
		>"$W/$1.log" 2>&1) || true
	grep -E '^    --- (PASS|FAIL|SKIP): ' "$W/$1.log" | sed "s/^    //; s/ (.*//" | sort -k3 >"$W/$1.results"
}
# COMPAT_ONLY=pier (or docker) runs one side only.
# Only the runs are waited for: the daemons run in the background too.
pids=()
for n in pier docker; do
	[ -z "${COMPAT_ONLY:-}" ] || [ "$COMPAT_ONLY" = "$n" ] || { : >"$W/$n.results"; continue; }
	run "$n" "$n.sock" &
	pids+=($!)
done
wait "${pids[@]}"
{
	echo "moby integration-cli $RUN, DOCKER_BUILDKIT=0, $(cd "$SRC" && git rev-parse --short HEAD 2>/dev/null || echo source)"
	for n in pier docker; do
		echo "$n: $(grep -c PASS "$W/$n.results") passed, $(grep -c FAIL "$W/$n.results") failed, $(grep -c SKIP "$W/$n.results") skipped"
	done
	echo
	join -1 3 -2 3 -a1 -a2 -e - -o 0,1.2,2.2 "$W/pier.results" "$W/docker.results" | awk '{printf "%-70s pier %-6s docker %s\n", $1, $2, $3}'
} >"$RESULTS/compat-build.txt"
head -3 "$RESULTS/compat-build.txt"
echo "compat-build: per-test results in $RESULTS/compat-build.txt" >&2
