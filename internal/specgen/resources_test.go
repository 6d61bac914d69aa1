package specgen

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/errdefs"
)

func TestResources(t *testing.T) {
	in := input(t)
	r := &in.HostConfig.Resources
	r.Memory = 64 << 20
	r.MemoryReservation = 32 << 20
	r.NanoCPUs = 1_500_000_000
	r.CPUShares = 512
	r.CpusetCpus, r.CpusetMems = "0-1", "0"
	r.PidsLimit = ptr(int64(100))
	r.BlkioWeight = 300
	r.OomKillDisable = ptr(true)
	res := build(t, in).Linux.Resources
	m := res.Memory
	if *m.Limit != 64<<20 || *m.Swap != 128<<20 || *m.Reservation != 32<<20 || !*m.DisableOOMKiller {
		t.Errorf("memory = limit %d swap %d reservation %d oom-kill-disable %v", *m.Limit, *m.Swap, *m.Reservation, *m.DisableOOMKiller)
	}
	c := res.CPU
	if *c.Period != 100000 || *c.Quota != 150000 || *c.Shares != 512 || c.Cpus != "0-1" || c.Mems != "0" {
		t.Errorf("cpu = period %d quota %d shares %d cpus %q mems %q", *c.Period, *c.Quota, *c.Shares, c.Cpus, c.Mems)
	}
	if *res.Pids.Limit != 100 || *res.BlockIO.Weight != 300 {
		t.Errorf("pids %d, blkio weight %d", *res.Pids.Limit, *res.BlockIO.Weight)
	}
}

func TestResourceVariants(t *testing.T) {
	in := input(t)
	in.HostConfig.Memory, in.HostConfig.MemorySwap = 64<<20, -1
	in.HostConfig.PidsLimit = ptr(int64(0))
	in.HostConfig.CPUPeriod, in.HostConfig.CPUQuota = 50000, 25000
	res := build(t, in).Linux.Resources
	if *res.Memory.Swap != -1 {
		t.Errorf("swap = %d, want -1 (unlimited)", *res.Memory.Swap)
	}
	if *res.Pids.Limit != -1 {
		t.Errorf("pids = %d, want -1 for PidsLimit 0", *res.Pids.Limit)
	}
	if *res.CPU.Period != 50000 || *res.CPU.Quota != 25000 {
		t.Errorf("cpu = %d/%d, want 25000/50000", *res.CPU.Quota, *res.CPU.Period)
	}
	none := build(t, input(t)).Linux.Resources
	if none.Memory != nil || none.CPU != nil || none.Pids != nil || none.BlockIO != nil {
		t.Errorf("unset resources appear: %+v", none)
	}
}

func TestDevices(t *testing.T) {
	in := input(t)
	in.HostConfig.Devices = []container.DeviceMapping{{PathOnHost: "/dev/net/tun", PathInContainer: "/dev/tun0", CgroupPermissions: "rw"}}
	in.HostConfig.DeviceCgroupRules = []string{"c 1:3 mr", "b *:* r"}
	s := build(t, in)
	if len(s.Linux.Devices) != 1 || s.Linux.Devices[0].Path != "/dev/tun0" || s.Linux.Devices[0].Major != 10 {
		t.Errorf("devices = %+v, want /dev/tun0 10:200", s.Linux.Devices)
	}
	rules := s.Linux.Resources.Devices
	if len(rules) == 0 || rules[0].Allow || rules[0].Access != "rwm" || rules[0].Type != "" {
		t.Fatalf("first rule = %+v, want deny-all", rules)
	}
	has := func(kind string, major, minor *int64, access string) bool {
		return slices.ContainsFunc(rules, func(r specs.LinuxDeviceCgroup) bool {
			return r.Allow && r.Type == kind && eq(r.Major, major) && eq(r.Minor, minor) && r.Access == access
		})
	}
	for _, d := range [][2]int64{{1, 3}, {1, 5}, {1, 8}, {1, 9}, {5, 0}, {5, 1}} { // null zero random urandom tty console
		if !has("c", &d[0], &d[1], "rwm") {
			t.Errorf("c %d:%d not allowed", d[0], d[1])
		}
	}
	if !has("c", ptr(int64(10)), ptr(int64(200)), "rw") || !has("c", ptr(int64(1)), ptr(int64(3)), "mr") || !has("b", nil, nil, "r") {
		t.Errorf("rules = %+v, want the device's and the user's", rules)
	}
}

func eq(a, b *int64) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		field  string
		modify func(*Input)
	}{
		{"HostConfig.Memory", func(in *Input) { in.HostConfig.Memory = 1 << 20 }},
		{"HostConfig.MemorySwap", func(in *Input) { in.HostConfig.Memory, in.HostConfig.MemorySwap = 64<<20, 32<<20 }},
		{"HostConfig.MemorySwap", func(in *Input) { in.HostConfig.MemorySwap = 64 << 20 }},
		{"HostConfig.MemoryReservation", func(in *Input) { in.HostConfig.Memory, in.HostConfig.MemoryReservation = 64<<20, 128<<20 }},
		{"HostConfig.NanoCPUs", func(in *Input) { in.HostConfig.NanoCPUs = -1 }},
		{"HostConfig.NanoCPUs", func(in *Input) { in.NumCPU = 2; in.HostConfig.NanoCPUs = 3e9 }},
		{"HostConfig.NanoCPUs", func(in *Input) { in.HostConfig.NanoCPUs, in.HostConfig.CPUQuota = 1e9, 5000 }},
		{"HostConfig.CPUShares", func(in *Input) { in.HostConfig.CPUShares = -5 }},
		{"HostConfig.CPUQuota", func(in *Input) { in.HostConfig.CPUQuota = 10 }},
		{"HostConfig.BlkioWeight", func(in *Input) { in.HostConfig.BlkioWeight = 5 }},
		{"HostConfig.CapAdd", func(in *Input) { in.HostConfig.CapAdd = []string{"NOT_A_CAP"} }},
		{"HostConfig.CapDrop", func(in *Input) { in.HostConfig.CapDrop = []string{"CAP_FLY"} }},
		{"HostConfig.Binds", func(in *Input) { in.HostConfig.Binds = []string{"/src"} }},
		{"HostConfig.Binds", func(in *Input) { in.HostConfig.Binds = []string{"/src:relative"} }},
		{"HostConfig.Binds", func(in *Input) { in.HostConfig.Binds = []string{"/src:/dst:bogus"} }},
		{"HostConfig.Binds", func(in *Input) { in.HostConfig.Binds = []string{"/src:/"} }},
		{"HostConfig.Mounts[0]", func(in *Input) {
			in.HostConfig.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: "v", Target: "/v", VolumeOptions: &mount.VolumeOptions{Subpath: "../../etc"}}}
		}},
		{"HostConfig.Mounts[0]", func(in *Input) { in.HostConfig.Mounts = []mount.Mount{{Type: "npipe", Source: "x", Target: "/x"}} }},
		{"HostConfig.SecurityOpt", func(in *Input) { in.HostConfig.SecurityOpt = []string{"bogus=1"} }},
		{"HostConfig.SecurityOpt", func(in *Input) { in.HostConfig.SecurityOpt = []string{"label=type:svirt_t"} }},
		{"HostConfig.SecurityOpt", func(in *Input) { in.HostConfig.SecurityOpt = []string{"apparmor=docker-default"} }},
		{"HostConfig.SecurityOpt", func(in *Input) { in.HostConfig.SecurityOpt = []string{"seccomp=/nonexistent/profile.json"} }},
		{"HostConfig.SecurityOpt", func(in *Input) { in.HostConfig.SecurityOpt = []string{"no-new-privileges=maybe"} }},
		{"HostConfig.Ulimits", func(in *Input) { in.HostConfig.Ulimits = []*units.Ulimit{{Name: "nofile", Soft: 10, Hard: 5}} }},
		{"HostConfig.Ulimits", func(in *Input) { in.HostConfig.Ulimits = []*units.Ulimit{{Name: "bogus", Soft: 1, Hard: 1}} }},
		{"HostConfig.Devices", func(in *Input) {
			in.HostConfig.Devices = []container.DeviceMapping{{PathOnHost: "/dev/x", CgroupPermissions: "rwx"}}
		}},
		{"HostConfig.DeviceCgroupRules", func(in *Input) { in.HostConfig.DeviceCgroupRules = []string{"c 1 rwm"} }},
		{"HostConfig.OomScoreAdj", func(in *Input) { in.HostConfig.OomScoreAdj = 2000 }},
		{"HostConfig.IpcMode", func(in *Input) { in.HostConfig.IpcMode = "weird" }},
		{"Config.User", func(in *Input) { in.Config.User = "nosuchuser" }},
		{"Config.User", func(in *Input) { in.Config.User = "www:nosuchgroup" }},
		{"Config.WorkingDir", func(in *Input) { in.Config.WorkingDir = "relative" }},
		{"Config.Cmd", func(in *Input) { in.Image.Config.Cmd = nil }},
		{"Input.InitPath", func(in *Input) { in.InitPath = "" }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			in := input(t)
			tc.modify(&in)
			_, err := Build(in)
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("Build = %v, want ErrInvalidArgument", err)
			}
			if !strings.HasPrefix(err.Error(), tc.field+":") {
				t.Errorf("error %q does not name %s", err, tc.field)
			}
		})
	}
}

func TestUserDefinedNetworkNotYet(t *testing.T) {
	in := input(t)
	in.HostConfig.NetworkMode = "mynet"
	if _, err := Build(in); !errors.Is(err, errdefs.ErrNotImplemented) || !strings.Contains(err.Error(), "HostConfig.NetworkMode") {
		t.Errorf("Build = %v, want ErrNotImplemented naming HostConfig.NetworkMode", err)
	}
}

// The spec round-trips through JSON with what every OCI runtime requires:
// ociVersion, root.path, process args/cwd (absolute), absolute mount
// destinations and a mount namespace.
func TestSpecMarshalsComplete(t *testing.T) {
	raw, err := json.Marshal(build(t, input(t)))
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	switch {
	case s.Version != OCIVersion:
		t.Errorf("ociVersion = %q", s.Version)
	case s.Root == nil || s.Root.Path == "":
		t.Error("no root.path")
	case s.Process == nil || len(s.Process.Args) == 0 || !strings.HasPrefix(s.Process.Cwd, "/"):
		t.Errorf("process = %+v", s.Process)
	case s.Linux == nil || s.Linux.Seccomp == nil || s.Linux.Resources == nil:
		t.Errorf("linux = %+v", s.Linux)
	}
	if _, ok := namespaceOf(&s, specs.MountNamespace); !ok {
		t.Error("no mount namespace")
	}
	for _, m := range s.Mounts {
		if !strings.HasPrefix(m.Destination, "/") || m.Type == "" || m.Source == "" {
			t.Errorf("mount %+v is incomplete", m)
		}
	}
	for _, k := range []string{`"ociVersion"`, `"root"`, `"process"`, `"mounts"`, `"linux"`, `"seccomp"`, `"maskedPaths"`} {
		if !strings.Contains(string(raw), k) {
			t.Errorf("JSON lacks %s", k)
		}
	}
}
