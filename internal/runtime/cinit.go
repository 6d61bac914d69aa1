package runtime

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/atomicfile"
	"github.com/pier-engine/pier/internal/caps"
	"github.com/pier-engine/pier/internal/nsenter"
	"github.com/pier-engine/pier/internal/rootfs"
	"github.com/pier-engine/pier/internal/seccomp"
	"github.com/pier-engine/pier/internal/syncmsg"
	"github.com/pier-engine/pier/internal/sys"
)

// The C init (internal/nsenter/preamble/cinit.c): for the common
// container the runtime decides, here in Go, everything the container's
// process does before execve and sends it as a plan; the process runs it
// in C and never starts a second Go runtime. The rest (cinitFallback)
// keeps the Go init, `pier-runtime init`.

// GoInitEnv, set to 1, makes every container use the Go init (tests, A/B).
const GoInitEnv = "PIER_GO_INIT"

// cinitFallback says why cfg needs the Go init, or "" when the C init
// can run it.
func cinitFallback(cfg *syncmsg.InitConfig) string {
	spec := cfg.Spec
	switch {
	case os.Getenv(GoInitEnv) == "1":
		return GoInitEnv
	case cfg.Process == nil:
		return "no process"
	case cfg.Process.Terminal:
		return "terminal"
	case cfg.UserNS || (spec.Linux != nil && namespacePath(spec, specs.UserNamespace) != ""):
		return "user namespace"
	case spec.Hooks != nil && (len(spec.Hooks.CreateContainer) > 0 || len(spec.Hooks.StartContainer) > 0):
		return "createContainer or startContainer hooks"
	case !kernelHasCInit():
		return "kernel without openat2 or mount_setattr"
	}
	return ""
}

var kernelProbe = sync.OnceValue(func() bool {
	fd, err := unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC})
	if err != nil {
		return false
	}
	unix.Close(fd)
	return unix.MountSetattr(-1, "", 0, &unix.MountAttr{}) != unix.ENOSYS
})

func kernelHasCInit() bool { return kernelProbe() }

// procPlan is the process part of a plan, checked before anything is made:
// what the Go init's prepare found at create time is found here.
type procPlan struct {
	proc   *specs.Process
	caps   *caps.Set
	last   int
	filter *seccompBPF
	rlimit [][3]uint64
}

// seccompBPF is a compiled filter as the C init loads it.
type seccompBPF struct {
	flags uint
	prog  []byte // struct sock_filter, 8 bytes each, little endian
}

func encodeBPF(f *seccomp.Filter) *seccompBPF {
	ins := f.Instructions()
	b := &seccompBPF{flags: f.Flags(), prog: make([]byte, 0, 8*len(ins))}
	for _, in := range ins {
		b.prog = binary.LittleEndian.AppendUint16(b.prog, in.Code)
		b.prog = append(b.prog, in.Jt, in.Jf)
		b.prog = binary.LittleEndian.AppendUint32(b.prog, in.K)
	}
	return b
}

// bpfFile keeps a container's compiled filter in its state directory:
// every exec into the container loads the same filter, and compiling a
// large profile (Docker's default) costs 1-2 ms each time.
const bpfFile = "seccomp.bpf"

// filterOf returns how to get rec's compiled filter: the one compiled by
// this create, else the state directory's copy, else a new compile (which
// is saved for the next exec).
func (r *Runtime) filterOf(rec *Record) func() (*seccompBPF, error) {
	return func() (*seccompBPF, error) {
		if rec.bpf != nil {
			return rec.bpf, nil
		}
		if rec.Spec.Linux == nil || rec.Spec.Linux.Seccomp == nil {
			return nil, nil
		}
		path := filepath.Join(r.dir(rec.ID), bpfFile)
		if rec.filter == nil {
			if raw, err := os.ReadFile(path); err == nil && len(raw) >= 12 && (len(raw)-4)%8 == 0 {
				return &seccompBPF{flags: uint(binary.LittleEndian.Uint32(raw)), prog: raw[4:]}, nil
			}
			f, err := seccomp.Compile(rec.Spec.Linux.Seccomp)
			if err != nil {
				return nil, err
			}
			rec.filter = f
		}
		b := encodeBPF(rec.filter)
		raw := binary.LittleEndian.AppendUint32(make([]byte, 0, 4+len(b.prog)), uint32(b.flags))
		// Best effort: without the copy, an exec compiles again.
		_ = atomicfile.WriteVolatile(path, append(raw, b.prog...), 0o600)
		return b, nil
	}
}

func planProcess(spec *specs.Spec, p *specs.Process, filter func() (*seccompBPF, error)) (*procPlan, error) {
	pp := &procPlan{proc: p}
	for i, rl := range p.Rlimits {
		id, ok := sys.RlimitIDs[rl.Type]
		if !ok {
			return nil, fmt.Errorf("process.rlimits[%d].type: unknown rlimit %q", i, rl.Type)
		}
		if !sys.HasCap(unix.CAP_SYS_RESOURCE) {
			var cur unix.Rlimit
			if err := unix.Prlimit(0, id, nil, &cur); err != nil {
				return nil, fmt.Errorf("process.rlimits[%d] %s: getrlimit: %w", i, rl.Type, err)
			}
			if rl.Hard > cur.Max {
				return nil, fmt.Errorf("process.rlimits[%d] %s: cannot raise the hard limit from %d to %d without CAP_SYS_RESOURCE: %w",
					i, rl.Type, cur.Max, rl.Hard, unix.EPERM)
			}
		}
		pp.rlimit = append(pp.rlimit, [3]uint64{uint64(id), rl.Soft, rl.Hard})
	}
	c := p.Capabilities
	if c == nil {
		c = &specs.LinuxCapabilities{}
	}
	var err error
	if pp.caps, err = caps.Parse(c); err != nil {
		return nil, err
	}
	if pp.last, err = caps.LastCap(); err != nil {
		return nil, err
	}
	if pp.filter, err = filter(); err != nil {
		return nil, err
	}
	if spec.Linux != nil && spec.Linux.Personality != nil {
		if _, ok := personalities[spec.Linux.Personality.Domain]; !ok {
			return nil, fmt.Errorf("linux.personality.domain: unknown domain %q", spec.Linux.Personality.Domain)
		}
	}
	return pp, nil
}

var personalities = map[specs.LinuxPersonalityDomain]uint64{specs.PerLinux: 0, specs.PerLinux32: 8}

// createPlan is the whole plan of a new container's process, pid.
func createPlan(cfg *syncmsg.InitConfig, pid int, pp *procPlan) (*nsenter.Plan, error) {
	p := &nsenter.Plan{}
	planCgroupNS(p, cfg)
	p.Add(nsenter.OpSetsid, [4]uint64{})
	if !cfg.NoNewKeyring {
		p.Add(nsenter.OpKeyring, [4]uint64{}, "_ses."+cfg.ID)
	}
	planOOM(p, cfg.Process)
	opts := rootfs.Options{Rootfs: cfg.Rootfs, Spec: cfg.Spec, NoPivot: cfg.NoPivot, SharedMountNS: cfg.SharedMountNS}
	steps, err := rootfs.Plan(opts)
	if err != nil {
		return nil, err
	}
	if err := planPrepare(p, opts, steps, pid); err != nil {
		return nil, err
	}
	if h := cfg.Spec.Hostname; h != "" {
		p.Add(nsenter.OpHostname, [4]uint64{}, h)
	}
	if d := cfg.Spec.Domainname; d != "" {
		p.Add(nsenter.OpDomainname, [4]uint64{}, d)
	}
	p.Add(nsenter.OpSyncHooks, [4]uint64{})
	kind := nsenter.PivotRoot
	if cfg.SharedMountNS {
		kind = nsenter.PivotChroot
	} else if cfg.NoPivot {
		kind = nsenter.PivotMove
	}
	p.Add(nsenter.OpPivot, [4]uint64{uint64(kind)}, cfg.Rootfs)
	planFinish(p, cfg.Spec, steps)
	planPrepareProcess(p, pp)
	p.Add(nsenter.OpReady, [4]uint64{})
	p.Add(nsenter.OpWaitFifo, [4]uint64{uint64(cfg.FifoFd)})
	planExec(p, cfg, pp)
	return p, nil
}

// execPlan is the plan of a process joining a running container.
func execPlan(cfg *syncmsg.InitConfig, pp *procPlan) *nsenter.Plan {
	p := &nsenter.Plan{}
	planCgroupNS(p, cfg)
	planOOM(p, cfg.Process)
	planPrepareProcess(p, pp)
	p.Add(nsenter.OpReady, [4]uint64{})
	planExec(p, cfg, pp)
	return p
}

func planCgroupNS(p *nsenter.Plan, cfg *syncmsg.InitConfig) {
	if cfg.CgroupNSFd >= 0 {
		p.Add(nsenter.OpCgroupNSJoin, [4]uint64{uint64(cfg.CgroupNSFd)})
	}
	if cfg.NewCgroupNS {
		p.Add(nsenter.OpCgroupNSNew, [4]uint64{})
	}
}

func planOOM(p *nsenter.Plan, proc *specs.Process) {
	if proc.OOMScoreAdj != nil {
		p.Add(nsenter.OpOOMScore, [4]uint64{}, strconv.Itoa(*proc.OOMScoreAdj))
	}
}

// planPrepare: rootfs.Prepare's steps, before the pivot.
func planPrepare(p *nsenter.Plan, o rootfs.Options, steps []rootfs.Step, pid int) error {
	prop, _, err := rootfs.RootPropagation(o)
	if err != nil {
		return err
	}
	if !o.SharedMountNS {
		p.Add(nsenter.OpMount, [4]uint64{uint64(prop)}, "", "/", "", "")
		if prop&unix.MS_SHARED != 0 {
			// as rootfs.Prepare: wall the rootfs off from the shared root
			mp, err := rootfs.HoldingMount(o.Rootfs)
			if err != nil {
				return err
			}
			p.Add(nsenter.OpMount, [4]uint64{unix.MS_PRIVATE}, "", mp, "", "")
		}
	}
	p.Add(nsenter.OpMount, [4]uint64{unix.MS_BIND | unix.MS_REC}, o.Rootfs, o.Rootfs, "", "")
	for _, s := range steps {
		if s.Phase != rootfs.PhasePrepare {
			continue
		}
		if err := planStep(p, o, s, pid); err != nil {
			return err
		}
	}
	return nil
}

func planStep(p *nsenter.Plan, o rootfs.Options, s rootfs.Step, pid int) error {
	root := o.Rootfs
	if s.IfExists != "" && s.Kind != rootfs.KindSymlink {
		return fmt.Errorf("%s: a conditional step the C init cannot take", s)
	}
	switch s.Kind {
	case rootfs.KindMount:
		planMount(p, root, s, 0)
	case rootfs.KindCgroup:
		return planCgroup(p, o, s, pid)
	case rootfs.KindDevice:
		d := s.Device
		mode := uint64(uint32(*d.FileMode)&0o7777) | uint64(deviceType(d.Type))
		dev := unix.Mkdev(uint32(d.Major), uint32(d.Minor))
		p.Add(nsenter.OpMknodInRoot, [4]uint64{mode, dev, uint64(*d.UID), uint64(*d.GID)}, root, d.Path)
	case rootfs.KindSymlink:
		replace := uint64(0)
		if s.Replace {
			replace = 1
		}
		p.Add(nsenter.OpSymlinkInRoot, [4]uint64{replace}, root, s.Destination, s.Target, s.IfExists)
	case rootfs.KindMkdir:
		p.Add(nsenter.OpMkdirInRoot, [4]uint64{uint64(s.Mode.Perm())}, root, s.Destination)
	default:
		return fmt.Errorf("%s: not a prepare step", s)
	}
	return nil
}

func deviceType(t string) uint32 {
	switch t {
	case "b":
		return unix.S_IFBLK
	case "p":
		return unix.S_IFIFO
	}
	return unix.S_IFCHR
}

// planMount: the mount, then what its first mount(2) could not apply.
// how is the C side's arg1: 1 a bind, 2 a cgroup2 mount that falls back
// to a bind of the host's tree.
func planMount(p *nsenter.Plan, root string, s rootfs.Step, how uint64) {
	typ := s.Type
	if s.IsBind() {
		typ, how = "", 1
	}
	p.Add(nsenter.OpMountInRoot, [4]uint64{uint64(s.Flags), how}, root, s.Source, s.Destination, typ, s.Data)
	if s.IsBind() && s.RemountFlags() != 0 {
		p.Add(nsenter.OpRemountInRoot, [4]uint64{uint64(unix.MS_BIND | unix.MS_REMOUNT | s.RemountFlags())}, root, s.Destination)
	}
	for _, prop := range s.Propagation {
		p.Add(nsenter.OpPropagateInRoot, [4]uint64{uint64(prop)}, root, s.Destination)
	}
	if s.Attr != nil {
		p.Add(nsenter.OpSetattrInRoot, [4]uint64{s.Attr.Attr_set, s.Attr.Attr_clr}, root, s.Destination)
	}
}

// planCgroup expands the config's cgroup mount against the container
// process's view of the host. On a v1 or hybrid host the tree (a tmpfs
// and a bind or mount per hierarchy) gets its flags with one recursive
// mount_setattr at the end, instead of a remount per hierarchy.
func planCgroup(p *nsenter.Plan, o rootfs.Options, s rootfs.Step, pid int) error {
	mi, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		return fmt.Errorf("mounts[%d] (cgroup): %w", s.Index, err)
	}
	own, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return fmt.Errorf("mounts[%d] (cgroup): %w", s.Index, err)
	}
	return planCgroupTree(p, o, s, string(mi), string(own))
}

// planCgroupTree is planCgroup on the texts of the container process's
// mountinfo and cgroup files.
func planCgroupTree(p *nsenter.Plan, o rootfs.Options, s rootfs.Step, mountinfo, own string) error {
	steps := rootfs.ExpandCgroup(s, mountinfo, own, rootfs.HasCgroupNS(o))
	if len(steps) == 1 {
		planMount(p, o.Rootfs, steps[0], 2)
		return nil
	}
	set := rootfs.CgroupTreeAttrs(s.Flags)
	for _, st := range steps {
		if st.Kind == rootfs.KindMount && st.IsBind() {
			st.Flags = unix.MS_BIND | unix.MS_REC // the flags come with the setattr below
		}
		if st.Kind == rootfs.KindMount {
			planMount(p, o.Rootfs, st, 0)
		} else if err := planStep(p, o, st, 0); err != nil {
			return err
		}
	}
	if set != 0 {
		p.Add(nsenter.OpSetattrInRoot, [4]uint64{set, 0}, o.Rootfs, s.Destination)
	}
	return nil
}

// planFinish: rootfs.Finish's steps after the pivot, with the sysctls
// written through a private clone of the container's /proc taken first.
func planFinish(p *nsenter.Plan, spec *specs.Spec, steps []rootfs.Step) {
	sysctl := spec.Linux.Sysctl
	if len(sysctl) > 0 {
		p.Add(nsenter.OpProcClone, [4]uint64{})
	}
	for _, s := range steps {
		if s.Phase != rootfs.PhaseFinish {
			continue
		}
		switch s.Kind {
		case rootfs.KindReadonly:
			p.Add(nsenter.OpReadonly, [4]uint64{}, s.Destination)
		case rootfs.KindMask:
			p.Add(nsenter.OpMask, [4]uint64{}, s.Destination)
		case rootfs.KindRemountRoot:
			p.Add(nsenter.OpRemountKeeping, [4]uint64{unix.MS_RDONLY}, "/")
		case rootfs.KindPropagation:
			p.Add(nsenter.OpMount, [4]uint64{uint64(s.Flags)}, "", "/", "", "")
		}
	}
	keys := make([]string, 0, len(sysctl))
	for k := range sysctl {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p.Add(nsenter.OpSysctl, [4]uint64{}, rootfs.SysctlFile(k), sysctl[k], k)
	}
}

// planPrepareProcess: cwd, env (HOME from the container's passwd when
// missing), argv and the program's path, found before READY.
func planPrepareProcess(p *nsenter.Plan, pp *procPlan) {
	proc := pp.proc
	p.Add(nsenter.OpChdir, [4]uint64{}, proc.Cwd)
	home := uint64(1)
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range proc.Env {
		if strings.HasPrefix(e, "HOME=") {
			home = 0
		}
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	p.Add(nsenter.OpEnv, [4]uint64{uint64(proc.User.UID), home}, proc.Env...)
	p.Add(nsenter.OpArgs, [4]uint64{}, proc.Args...)
	p.Add(nsenter.OpLookPath, [4]uint64{}, path)
}

// planExec: the Go init's exec, in its order (the kernel's).
func planExec(p *nsenter.Plan, cfg *syncmsg.InitConfig, pp *procPlan) {
	proc := pp.proc
	p.Add(nsenter.OpCloseFrom, [4]uint64{uint64(3 + cfg.PreserveFds)})
	for i, rl := range pp.rlimit {
		p.Add(nsenter.OpRlimit, rl3(rl), fmt.Sprintf("process.rlimits[%d] %s", i, proc.Rlimits[i].Type))
	}
	if !proc.NoNewPrivileges && pp.filter != nil {
		p.AddBytes(nsenter.OpSeccomp, [4]uint64{uint64(pp.filter.flags)}, pp.filter.prog)
	}
	c := pp.caps
	p.Add(nsenter.OpCapBset, [4]uint64{c.Bounding, uint64(pp.last)})
	groups := make([]byte, 0, 4*len(proc.User.AdditionalGids))
	for _, g := range proc.User.AdditionalGids {
		groups = binary.LittleEndian.AppendUint32(groups, g)
	}
	p.AddBytes(nsenter.OpUser, [4]uint64{uint64(proc.User.UID), uint64(proc.User.GID)}, groups)
	p.Add(nsenter.OpCapset, [4]uint64{c.Effective, c.Permitted, c.Inheritable, c.Ambient})
	if proc.NoNewPrivileges {
		p.Add(nsenter.OpNNP, [4]uint64{})
		if pp.filter != nil {
			p.AddBytes(nsenter.OpSeccomp, [4]uint64{uint64(pp.filter.flags)}, pp.filter.prog)
		}
	}
	if proc.User.Umask != nil {
		p.Add(nsenter.OpUmask, [4]uint64{uint64(*proc.User.Umask)})
	}
	if l := cfg.Spec.Linux; l != nil && l.Personality != nil {
		p.Add(nsenter.OpPersonality, [4]uint64{personalities[l.Personality.Domain]})
	}
	p.Add(nsenter.OpExec, [4]uint64{})
}

func rl3(rl [3]uint64) [4]uint64 { return [4]uint64{rl[0], rl[1], rl[2]} }
