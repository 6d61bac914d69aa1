package runtime

import (
	"encoding/binary"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/caps"
	"github.com/pier-engine/pier/internal/nsenter"
	"github.com/pier-engine/pier/internal/rootfs"
	"github.com/pier-engine/pier/internal/syncmsg"
)

// planOps decodes an encoded plan's operation numbers and first two
// arguments, enough to check the order and choices of the planner.
func planOps(t *testing.T, p *nsenter.Plan) (ops []nsenter.Op, args [][2]uint64, texts [][]string) {
	t.Helper()
	raw, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	for off := 16; off < len(raw); {
		op, n := nsenter.Op(le.Uint32(raw[off:])), int(le.Uint32(raw[off+4:]))
		args = append(args, [2]uint64{le.Uint64(raw[off+8:]), le.Uint64(raw[off+16:])})
		off += 40
		var tx []string
		for i := 0; i < n; i++ {
			l := int(le.Uint32(raw[off:]))
			tx = append(tx, string(raw[off+4:off+4+l]))
			off += 4 + l
		}
		ops, texts = append(ops, op), append(texts, tx)
	}
	return ops, args, texts
}

func cgroupStep() rootfs.Step {
	return rootfs.Step{Kind: rootfs.KindCgroup, Destination: "/sys/fs/cgroup", Source: "cgroup", Type: "cgroup",
		Flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV | unix.MS_RDONLY}
}

// On a cgroup2 host the config's cgroup mount is one cgroup2 mount, which
// the C init may turn into a bind of the host's tree (arg1 = 2).
func TestPlanCgroup2(t *testing.T) {
	var p nsenter.Plan
	mi := "30 1 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
	o := rootfs.Options{Rootfs: "/r", Spec: &specs.Spec{Linux: &specs.Linux{}}}
	if err := planCgroupTree(&p, o, cgroupStep(), mi, "0::/pier/c1\n"); err != nil {
		t.Fatal(err)
	}
	ops, args, texts := planOps(t, &p)
	if len(ops) != 1 || ops[0] != nsenter.OpMountInRoot || args[0][1] != 2 || texts[0][3] != "cgroup2\x00" {
		t.Errorf("cgroup2 host: ops %v args %v texts %q", ops, args, texts)
	}
}

// On a hybrid host: a tmpfs, a bind per hierarchy with no flags of its
// own, and one recursive mount_setattr for the whole tree at the end.
func TestPlanCgroupHybridSetsAttributesOnce(t *testing.T) {
	var p nsenter.Plan
	mi := "30 1 0:26 / /sys/fs/cgroup ro - tmpfs tmpfs ro\n" +
		"31 30 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n" +
		"32 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n" +
		"33 30 0:29 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
	own := "5:memory:/pier/c1\n4:cpu,cpuacct:/pier/c1\n0::/pier/c1\n"
	o := rootfs.Options{Rootfs: "/r", Spec: &specs.Spec{Linux: &specs.Linux{}}}
	if err := planCgroupTree(&p, o, cgroupStep(), mi, own); err != nil {
		t.Fatal(err)
	}
	ops, args, texts := planOps(t, &p)
	var binds, setattrs int
	for i, op := range ops {
		switch op {
		case nsenter.OpMountInRoot:
			if args[i][1] == 1 {
				binds++
				if args[i][0] != unix.MS_BIND|unix.MS_REC {
					t.Errorf("bind of %q has flags %#x, want MS_BIND|MS_REC only", texts[i][1], args[i][0])
				}
			}
		case nsenter.OpRemountInRoot:
			t.Errorf("a remount per hierarchy: %q", texts[i])
		case nsenter.OpSetattrInRoot:
			setattrs++
			want := uint64(unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC)
			if i != len(ops)-1 || args[i][0] != want || texts[i][1] != "/sys/fs/cgroup\x00" {
				t.Errorf("setattr %d of %d: %#x on %q", i, len(ops), args[i][0], texts[i][1])
			}
		}
	}
	if binds != 3 || setattrs != 1 || ops[0] != nsenter.OpMountInRoot || texts[0][3] != "tmpfs\x00" {
		t.Errorf("hybrid host: %d binds, %d setattrs, ops %v", binds, setattrs, ops)
	}
}

// The process's part keeps the kernel's order: seccomp before the
// credentials without no_new_privs, after no_new_privs with it.
func TestPlanExecOrder(t *testing.T) {
	for _, nnp := range []bool{false, true} {
		var p nsenter.Plan
		proc := &specs.Process{Args: []string{"true"}, NoNewPrivileges: nnp}
		set, err := caps.Parse(&specs.LinuxCapabilities{})
		if err != nil {
			t.Fatal(err)
		}
		pp := &procPlan{proc: proc, caps: set, filter: &seccompBPF{prog: make([]byte, 8)}}
		planExec(&p, &syncmsg.InitConfig{Spec: &specs.Spec{}}, pp)
		ops, _, _ := planOps(t, &p)
		pos := map[nsenter.Op]int{}
		for i, op := range ops {
			pos[op] = i
		}
		if nnp && !(pos[nsenter.OpNNP] < pos[nsenter.OpSeccomp] && pos[nsenter.OpUser] < pos[nsenter.OpSeccomp]) {
			t.Errorf("with no_new_privs: %v", ops)
		}
		if !nnp && !(pos[nsenter.OpSeccomp] < pos[nsenter.OpUser]) {
			t.Errorf("without no_new_privs: %v", ops)
		}
		if ops[0] != nsenter.OpCloseFrom || ops[len(ops)-1] != nsenter.OpExec {
			t.Errorf("fds first and execve last: %v", ops)
		}
	}
}
