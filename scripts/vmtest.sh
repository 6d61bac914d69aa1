#!/bin/sh
# vmtest.sh runs the root tests of internal/runtime and internal/cgroups, and
# pierd's end-to-end tests that do not time anything (emulation is ~10x
# slower), in the cgroup-v2-only VM of ../shared/vm (vm-run.sh). The dev machines are
# cgroup-hybrid with no v2 controllers, so pier-runtime's pure-v2 paths
# (clone3 CLONE_INTO_CGROUP, the eBPF device filter, cgroup2 mounts in the
# container, memory.max, pids.max, cgroup.freeze, cgroup.kill) only meet a
# real kernel there.
#
# Optional: `make test-vm` calls it, `make test` never does (it needs
# ../shared, qemu and several minutes of TCG). Without vm-run.sh it prints
# "skipped" and exits 0.
#
# usage: scripts/vmtest.sh [TEST-BINARY-ARGS...]   e.g. -test.run Pause
# env:   VM_RUN (path of vm-run.sh), VMTEST_TIMEOUT (VM seconds, default 2400)
# Exit status: 0 if every package passed, else the first failing status
# (124 = the VM timed out, 125 = the VM itself failed).
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
vm=${VM_RUN:-$(dirname "$0")/../../shared/vm/vm-run.sh}
if [ ! -x "$vm" ]; then
	echo "vmtest: skipped: $vm not found (the cgroup-v2 VM is an optional extra)"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "vmtest: skipped: vm-run.sh needs root"
	exit 0
fi

share=$(mktemp -d /tmp/pier-vmtest.XXXXXX)
trap 'rm -rf "$share"' EXIT
trap 'exit 130' INT TERM

cd "$repo"
make build >/dev/null
cp -a bin "$share/bin"
# CGO is fine: the host's libc is shared into the guest with /usr.
for pkg in runtime cgroups; do
	go test -c -o "$share/$pkg.test" "./internal/$pkg"
done
go test -c -o "$share/e2e.test" ./test/e2e
# pierd on cgroup v2: containers, OOM, the process view, networks, a tty.
e2e_run=${VMTEST_E2E:-'TestDockerRun$|TestDockerOOM|TestContainerIsAProcess|TestNetworkModes|TestNetworkUserDNS|TestDockerRunInteractiveTerminal'}

# One boot runs the three packages; each writes its log into the share so the
# host can summarise it, and its exit status to $pkg.rc.
args="-test.v -test.count=1 -test.timeout 20m"
for a in "$@"; do args="$args '$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'"; done
cat >"$share/run.sh" <<EOF
#!/bin/sh
cd "$share"
for pkg in runtime cgroups e2e; do
	echo "=== vmtest: \$pkg ==="
	run=-test.count=1
	[ \$pkg != e2e ] || run='-test.run=$e2e_run'
	{ PIER_TEST_ROOT=1 PIER_TEST_SLOW=5 PIER_BIN_DIR="$share/bin" ./\$pkg.test $args "\$run" 2>&1
	  echo \$? >\$pkg.rc; } | tee \$pkg.log
done
EOF
chmod +x "$share/run.sh"

start=$(date +%s)
vmrc=0
"$vm" --timeout "${VMTEST_TIMEOUT:-2400}" --share "$share" \
	--modules "overlay veth bridge nf_tables nft_nat nft_masq nft_chain_nat nf_nat" \
	-- "$share/run.sh" || vmrc=$?
took=$(($(date +%s) - start))

echo
echo "=== vmtest summary (cgroup v2 VM, ${took}s) ==="
rc=0
for pkg in runtime cgroups e2e; do
	if [ ! -f "$share/$pkg.rc" ]; then
		echo "$pkg: did not finish (vm-run exit $vmrc)"
		[ "$rc" != 0 ] || rc=${vmrc:-1}
		[ "$rc" != 0 ] || rc=1
		continue
	fi
	prc=$(cat "$share/$pkg.rc")
	log=$share/$pkg.log
	# Top-level tests only: subtests are indented.
	pass=$(grep -c '^--- PASS' "$log" || true)
	fail=$(grep -c '^--- FAIL' "$log" || true)
	skip=$(grep -c '^--- SKIP' "$log" || true)
	echo "$pkg: exit $prc: $pass passed, $fail failed, $skip skipped"
	grep '^--- FAIL' "$log" | sed 's/^/    /' || true
	if [ "$prc" != 0 ] && [ "$rc" = 0 ]; then rc=$prc; fi
done
if [ "$rc" = 0 ] && [ "$vmrc" != 0 ]; then rc=$vmrc; fi
exit "$rc"
