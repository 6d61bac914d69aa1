package specgen

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/caps"
)

// Golden lists, written out from Docker's documentation and `docker inspect`
// (not from the code under test), so a change to the defaults fails here.
var (
	dockerCaps = []string{
		"CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
		"CAP_KILL", "CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP",
		"CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
	}
	dockerMasked = []string{
		"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/sched_debug", "/proc/scsi", "/proc/timer_list",
		"/proc/timer_stats", "/sys/devices/virtual/powercap", "/sys/firmware",
	}
	dockerReadonly = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

func TestDefaultsMatchDocker(t *testing.T) {
	s := build(t, input(t))
	c := s.Process.Capabilities
	for name, set := range map[string][]string{"bounding": c.Bounding, "effective": c.Effective, "permitted": c.Permitted} {
		if !sameSet(set, dockerCaps) {
			t.Errorf("%s = %v, want Docker's %v", name, set, dockerCaps)
		}
	}
	if len(c.Inheritable) != 0 || len(c.Ambient) != 0 {
		t.Errorf("inheritable %v, ambient %v: want none, as Docker", c.Inheritable, c.Ambient)
	}
	if !sameSet(s.Linux.MaskedPaths, dockerMasked) {
		t.Errorf("masked = %v, want %v", s.Linux.MaskedPaths, dockerMasked)
	}
	if !sameSet(s.Linux.ReadonlyPaths, dockerReadonly) {
		t.Errorf("readonly = %v, want %v", s.Linux.ReadonlyPaths, dockerReadonly)
	}
	if s.Process.NoNewPrivileges {
		t.Error("noNewPrivileges set by default; Docker leaves it off")
	}
}

func TestDefaultSeccomp(t *testing.T) {
	s := build(t, input(t))
	sc := s.Linux.Seccomp
	if sc == nil {
		t.Fatal("no seccomp profile")
	}
	if sc.DefaultAction != specs.ActErrno {
		t.Errorf("default action = %s, want SCMP_ACT_ERRNO", sc.DefaultAction)
	}
	names := map[string]bool{}
	for _, r := range sc.Syscalls {
		if r.Action == specs.ActAllow {
			for _, n := range r.Names {
				names[n] = true
			}
		}
	}
	// Docker's default allows ~350 syscalls; guard against an empty or a
	// wholly different profile.
	if len(names) < 250 || len(names) > 600 {
		t.Errorf("profile allows %d syscalls, want Docker's ~350", len(names))
	}
	for _, n := range []string{"read", "write", "execve", "clone", "exit_group"} {
		if !names[n] {
			t.Errorf("profile does not allow %s", n)
		}
	}
	// Gated by CAP_SYS_ADMIN, which the defaults lack.
	if names["mount"] {
		t.Error("profile allows mount without CAP_SYS_ADMIN")
	}
	in := input(t)
	in.HostConfig.CapAdd = []string{"SYS_ADMIN"}
	if !allows(build(t, in).Linux.Seccomp, "mount") {
		t.Error("with CAP_SYS_ADMIN the profile does not allow mount")
	}
}

func allows(sc *specs.LinuxSeccomp, name string) bool {
	for _, r := range sc.Syscalls {
		if r.Action == specs.ActAllow && slices.Contains(r.Names, name) {
			return true
		}
	}
	return false
}

func TestCapAddDrop(t *testing.T) {
	all := caps.Known()
	for _, tc := range []struct {
		name      string
		add, drop []string
		want      []string
	}{
		{name: "add", add: []string{"sys_admin"}, want: append(slices.Clone(dockerCaps), "CAP_SYS_ADMIN")},
		{name: "drop", drop: []string{"CAP_NET_RAW", "chown"}, want: without(dockerCaps, []string{"CAP_NET_RAW", "CAP_CHOWN"})},
		{name: "drop all add one", add: []string{"NET_BIND_SERVICE"}, drop: []string{"ALL"}, want: []string{"CAP_NET_BIND_SERVICE"}},
		{name: "add all drop one", add: []string{"all"}, drop: []string{"SYS_ADMIN"}, want: without(all, []string{"CAP_SYS_ADMIN"})},
		{name: "add existing", add: []string{"KILL"}, want: dockerCaps},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input(t)
			in.HostConfig.CapAdd, in.HostConfig.CapDrop = tc.add, tc.drop
			got := build(t, in).Process.Capabilities.Bounding
			if !sameSet(got, tc.want) || len(got) != len(tc.want) {
				t.Errorf("caps = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPrivileged(t *testing.T) {
	in := input(t)
	in.HostConfig.Privileged = true
	in.HostConfig.CapDrop = []string{"ALL"} // ignored, as Docker does
	s := build(t, in)
	if got := s.Process.Capabilities.Effective; !sameSet(got, caps.Known()) {
		t.Errorf("caps = %v, want all", got)
	}
	if s.Linux.MaskedPaths != nil || s.Linux.ReadonlyPaths != nil || s.Linux.Seccomp != nil {
		t.Errorf("masked %v, readonly %v, seccomp %v: want none", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths, s.Linux.Seccomp != nil)
	}
	rules := s.Linux.Resources.Devices
	if len(rules) != 1 || !rules[0].Allow || rules[0].Access != "rwm" || rules[0].Type != "" {
		t.Errorf("device rules = %+v, want allow-all", rules)
	}
	if len(s.Linux.Devices) != 1 || s.Linux.Devices[0].Path != "/dev/kmsg" {
		t.Errorf("devices = %+v, want the host's", s.Linux.Devices)
	}
	for _, dst := range []string{"/sys", "/sys/fs/cgroup"} {
		if m, _ := mountAt(s, dst); !slices.Contains(m.Options, "rw") {
			t.Errorf("%s options %v, want rw when privileged", dst, m.Options)
		}
	}
}

func TestSecurityOpts(t *testing.T) {
	profile := filepath.Join(t.TempDir(), "profile.json")
	raw, err := json.Marshal(seccomp.Seccomp{
		LinuxSeccomp: specs.LinuxSeccomp{DefaultAction: specs.ActAllow},
		Syscalls: []*seccomp.Syscall{{LinuxSyscall: specs.LinuxSyscall{
			Names: []string{"chmod"}, Action: specs.ActErrno}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(profile, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opts    []string
		nnp     bool
		seccomp string // "default", "none", "custom"
		masked  bool
	}{
		{opts: []string{"no-new-privileges"}, nnp: true, seccomp: "default", masked: true},
		{opts: []string{"no-new-privileges:true"}, nnp: true, seccomp: "default", masked: true},
		{opts: []string{"no-new-privileges=false"}, seccomp: "default", masked: true},
		{opts: []string{"seccomp=unconfined"}, seccomp: "none", masked: true},
		{opts: []string{"seccomp:unconfined"}, seccomp: "none", masked: true},
		{opts: []string{"seccomp=" + profile}, seccomp: "custom", masked: true},
		{opts: []string{"seccomp=" + string(raw)}, seccomp: "custom", masked: true},
		{opts: []string{"systempaths=unconfined"}, seccomp: "default"},
		{opts: []string{"label=disable", "apparmor=unconfined"}, seccomp: "default", masked: true},
	} {
		t.Run(tc.opts[0][:min(len(tc.opts[0]), 30)], func(t *testing.T) {
			in := input(t)
			in.HostConfig.SecurityOpt = tc.opts
			s := build(t, in)
			if s.Process.NoNewPrivileges != tc.nnp {
				t.Errorf("noNewPrivileges = %v, want %v", s.Process.NoNewPrivileges, tc.nnp)
			}
			got := "none"
			if sc := s.Linux.Seccomp; sc != nil && sc.DefaultAction == specs.ActAllow {
				got = "custom"
			} else if sc != nil {
				got = "default"
			}
			if got != tc.seccomp {
				t.Errorf("seccomp = %s, want %s", got, tc.seccomp)
			}
			if (len(s.Linux.MaskedPaths) > 0) != tc.masked || (len(s.Linux.ReadonlyPaths) > 0) != tc.masked {
				t.Errorf("masked %v, readonly %v, want present = %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths, tc.masked)
			}
		})
	}
}

func TestHostConfigMaskedPaths(t *testing.T) {
	in := input(t)
	in.HostConfig.MaskedPaths = []string{"/proc/kcore"}
	in.HostConfig.ReadonlyPaths = []string{}
	s := build(t, in)
	if !slices.Equal(s.Linux.MaskedPaths, []string{"/proc/kcore"}) || len(s.Linux.ReadonlyPaths) != 0 {
		t.Errorf("masked %v, readonly %v: want HostConfig's", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
}

// TestHostCapabilitiesBound: privileged and --cap-add ALL get only what the
// engine's bounding set holds (this host lacks CAP_SYS_RESOURCE, and capset
// fails for a capability the runtime cannot have).
func TestHostCapabilitiesBound(t *testing.T) {
	host := slices.DeleteFunc(caps.Known(), func(c string) bool { return c == "CAP_SYS_RESOURCE" })
	for _, hc := range []container.HostConfig{{Privileged: true}, {CapAdd: []string{"ALL"}}} {
		in := input(t)
		in.HostConfig = &hc
		in.HostCapabilities = func() ([]string, error) { return host, nil }
		got := build(t, in).Process.Capabilities.Bounding
		if !sameSet(got, host) {
			t.Errorf("%+v: caps %v, want the host's %v", hc, got, host)
		}
	}
}

func TestBoundingSet(t *testing.T) {
	got, err := boundingSet()
	if err != nil || len(got) == 0 {
		t.Fatalf("boundingSet() = %v, %v", got, err)
	}
	for _, c := range got {
		if _, ok := caps.Number(c); !ok && !strings.HasPrefix(c, "CAP_") {
			t.Errorf("unexpected name %q", c)
		}
	}
}
