package cgroups

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestRealDeviceFilter drives the eBPF device filter through bpf(2) on
// the machine's cgroup2 tree whatever the layout (hybrid's unified tree
// here, v2 in the VM), where TestRealDevices takes v1's lists on a hybrid
// machine: each attach replaces the last, the kernel enforces the rules,
// and a program the verifier refuses is reported with its log.
func TestRealDeviceFilter(t *testing.T) {
	m := realManager(t)
	dir := m.Paths()[""]
	c := startChild(t, "while read x; do if echo hi > /dev/null; then echo ok; else echo denied; fi; done")
	if err := m.Apply(c.pid()); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		rules []specs.LinuxDeviceCgroup
		want  string
	}{
		{[]specs.LinuxDeviceCgroup{dev(false, "a", -1, -1, "rwm"), dev(true, "c", 1, 5, "rwm")}, "denied"},
		{[]specs.LinuxDeviceCgroup{dev(false, "a", -1, -1, "rwm"), dev(true, "c", 1, 3, "rwm")}, "ok"},
		{[]specs.LinuxDeviceCgroup{dev(false, "a", -1, -1, "rwm"), dev(true, "c", 1, 3, "rwm"), dev(false, "c", 1, 3, "w")}, "denied"},
		{[]specs.LinuxDeviceCgroup{dev(false, "a", -1, -1, "rwm"), dev(true, "c", 1, 3, "w")}, "ok"},
		{[]specs.LinuxDeviceCgroup{dev(false, "a", -1, -1, "rwm"), dev(true, "c", 1, 3, "r")}, "denied"},
	} {
		rules, err := devRules(step.rules)
		if err != nil {
			t.Fatal(err)
		}
		if err := attachDevices(dir, rules); err != nil {
			t.Fatal(err)
		}
		if got := c.step(t); got != step.want {
			t.Errorf("rules %+v: writing /dev/null: %s, want %s", step.rules, got, step.want)
		}
	}
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if ids, err := attachedPrograms(fd); err != nil || len(ids) != 1 {
		t.Errorf("programs on %s after five attaches: %v, %v; want one", dir, ids, err)
	}
	// No exit: the verifier refuses the program, and says why.
	_, err = loadProgram([]insn{alu32Imm(unix.BPF_MOV, r0, 1)})
	if err == nil || !strings.Contains(err.Error(), "verifier") {
		t.Errorf("loading a program without exit: %v, want the verifier's log", err)
	}
}
