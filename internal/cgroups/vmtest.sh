#!/bin/sh
# vmtest.sh runs this package's tests, root tests included, in the
# cgroup-v2-only VM of /work/shared/vm, where the v2 code (memory.max,
# pids.max, io, cpu.weight, the eBPF device filter, cgroup.freeze,
# cgroup.kill) meets a real kernel; the dev machines are hybrid with no v2
# controllers. Extra arguments go to the test binary (e.g. -test.run Real).
# Optional in `make test`: it needs root, qemu and about half a minute.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
vm=${VM_RUN:-/work/shared/vm/vm-run.sh}
work=$(mktemp -d /tmp/pier-cgroups-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

# Static, so the guest needs nothing but the kernel.
(cd "$here" && CGO_ENABLED=0 go test -c -o "$work/cgroups.test" .)

args="-test.v -test.count=1"
for a in "$@"; do args="$args '$a'"; done
exec "$vm" --timeout 300 --modules loop --share "$work" -- \
	sh -c "PIER_TEST_ROOT=1 exec ./cgroups.test $args"
