package specgen

import (
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/mount"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// defaultShmSize is Docker's /dev/shm: 64 MiB.
const defaultShmSize = 64 << 20

func setMounts(in Input, s *specs.Spec) error {
	user, err := userMounts(in)
	if err != nil {
		return err
	}
	taken := map[string]bool{}
	for _, m := range user {
		taken[m.Destination] = true
	}
	for _, m := range defaultMounts(in, s) {
		// A user mount replaces the default one at its place, and a
		// user /dev replaces everything under /dev (Docker's rule).
		if taken[m.Destination] || (taken["/dev"] && strings.HasPrefix(m.Destination, "/dev/")) {
			continue
		}
		s.Mounts = append(s.Mounts, m)
	}
	s.Mounts = append(s.Mounts, user...)
	s.Linux.RootfsPropagation = rootfsPropagation(user)
	if initOn(in) {
		s.Mounts = append(s.Mounts, specs.Mount{
			Destination: InitTarget, Type: "bind", Source: in.InitPath, Options: []string{"bind", "ro"},
		})
	}
	return nil
}

// rootfsPropagation is Docker's rule: a shared bind mount needs a shared
// root and a slave one a slave root, or the container's copy of the source
// is private and the host's later mounts never reach it. Otherwise the
// runtime's default (rprivate) stands.
func rootfsPropagation(user []specs.Mount) string {
	root := ""
	for _, m := range user {
		for _, o := range m.Options {
			switch o {
			case "shared", "rshared":
				return "rshared"
			case "slave", "rslave":
				root = "rslave"
			}
		}
	}
	return root
}

// defaultMounts are Docker's (moby oci/defaults.go), then /dev/shm by
// IpcMode and the per-container network files.
func defaultMounts(in Input, s *specs.Spec) []specs.Mount {
	hc := in.HostConfig
	sysOpt := "ro"
	if hc.Privileged {
		sysOpt = "rw"
	}
	ms := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", sysOpt}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{sysOpt, "nosuid", "noexec", "nodev"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
	}
	if shm, ok := shmMount(in, s); ok {
		ms = append(ms, shm)
	}
	fileOpts := []string{"rbind", "rprivate"}
	if hc.ReadonlyRootfs {
		fileOpts = append(fileOpts, "ro")
	}
	for _, f := range []struct{ dst, src string }{
		{"/etc/resolv.conf", in.ResolvConfPath}, {"/etc/hostname", in.HostnamePath}, {"/etc/hosts", in.HostsPath},
	} {
		if f.src != "" {
			ms = append(ms, specs.Mount{Destination: f.dst, Type: "bind", Source: f.src, Options: slices.Clone(fileOpts)})
		}
	}
	return ms
}

// shmMount is a private tmpfs of ShmSize, the host's /dev/shm for
// --ipc host, none for --ipc none, and Input.ShmPath when the engine keeps
// the tmpfs on the host: a shareable container's, or the donor's for
// --ipc container:X (X's /dev/shm exists only in X's mount namespace, and
// mount(2) cannot bind from another one).
func shmMount(in Input, _ *specs.Spec) (specs.Mount, bool) {
	m := specs.Mount{Destination: "/dev/shm", Type: "bind", Options: []string{"rbind", "nosuid", "noexec", "nodev"}}
	switch ipc := in.HostConfig.IpcMode; {
	case ipc.IsNone():
		return m, false
	case ipc.IsHost():
		m.Source = "/dev/shm"
		return m, true
	case in.ShmPath != "":
		m.Source = in.ShmPath
		return m, true
	}
	size := in.HostConfig.ShmSize
	if size <= 0 {
		size = defaultShmSize
	}
	return specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm",
		Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=" + strconv.FormatInt(size, 10)}}, true
}

// userMounts gathers Binds, Mounts and Tmpfs, parents before children.
func userMounts(in Input) ([]specs.Mount, error) {
	var out []specs.Mount
	for _, b := range in.HostConfig.Binds {
		m, err := parseBind(in, b)
		if err != nil {
			return nil, invalid("HostConfig.Binds", fmt.Errorf("%q: %w", b, err))
		}
		out = append(out, m)
	}
	for i, hm := range in.HostConfig.Mounts {
		m, err := apiMount(in, hm)
		if err != nil {
			return nil, invalid(fmt.Sprintf("HostConfig.Mounts[%d]", i), err)
		}
		out = append(out, m)
	}
	for _, dst := range sortedKeys(in.HostConfig.Tmpfs) {
		if !path.IsAbs(dst) {
			return nil, invalid("HostConfig.Tmpfs", fmt.Errorf("%q is not an absolute path", dst))
		}
		opts := []string{"noexec", "nosuid", "nodev", "rprivate"}
		if v := in.HostConfig.Tmpfs[dst]; v != "" {
			opts = append(opts, strings.Split(v, ",")...)
		}
		out = append(out, specs.Mount{Destination: path.Clean(dst), Type: "tmpfs", Source: "tmpfs", Options: mergeTmpfs(opts)})
	}
	seen := map[string]bool{}
	for _, m := range out {
		if seen[m.Destination] {
			return nil, invalid("HostConfig", fmt.Errorf("duplicate mount point %s", m.Destination))
		}
		seen[m.Destination] = true
	}
	slices.SortStableFunc(out, func(a, b specs.Mount) int { return depth(a.Destination) - depth(b.Destination) })
	return out, nil
}

func depth(p string) int {
	if p == "/" {
		return 0
	}
	return strings.Count(path.Clean(p), "/")
}

// parseBind reads Docker's "src:dst[:opts]": src a host path or a volume
// name, opts from ro, rw, z, Z, nocopy and a propagation mode.
func parseBind(in Input, spec string) (specs.Mount, error) {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
		return specs.Mount{}, errors.New("want src:dst[:options]")
	}
	if err := checkTarget(parts[1]); err != nil {
		return specs.Mount{}, err
	}
	src := parts[0]
	if !path.IsAbs(src) {
		var err error
		if src, err = volumePath(in, src, ""); err != nil {
			return specs.Mount{}, err
		}
	}
	ro, prop := false, "rprivate"
	if len(parts) == 3 {
		for _, o := range strings.Split(parts[2], ",") {
			switch {
			case o == "ro" || o == "rw":
				ro = o == "ro"
			case o == "z" || o == "Z" || o == "nocopy":
				// SELinux relabelling and volume copy-up: nothing to do here.
			case slices.Contains(mount.Propagations, mount.Propagation(o)):
				prop = o
			default:
				return specs.Mount{}, fmt.Errorf("unknown option %q", o)
			}
		}
	}
	return bindMount(src, parts[1], !ro, true, prop), nil
}

func bindMount(src, dst string, rw, recursive bool, prop string) specs.Mount {
	kind := "rbind"
	if !recursive {
		kind = "bind"
	}
	opts := []string{kind, prop}
	if !rw {
		opts = append(opts, "ro")
	}
	return specs.Mount{Destination: path.Clean(dst), Type: "bind", Source: src, Options: opts}
}

func checkTarget(dst string) error {
	if !path.IsAbs(dst) {
		return fmt.Errorf("destination %q is not an absolute path", dst)
	}
	if path.Clean(dst) == "/" {
		return errors.New("destination can't be '/'")
	}
	return nil
}

// apiMount converts one HostConfig.Mounts entry (bind, volume or tmpfs).
func apiMount(in Input, m mount.Mount) (specs.Mount, error) {
	if err := checkTarget(m.Target); err != nil {
		return specs.Mount{}, err
	}
	switch m.Type {
	case mount.TypeBind:
		if !path.IsAbs(m.Source) {
			return specs.Mount{}, fmt.Errorf("bind source %q is not an absolute path", m.Source)
		}
		prop, recursive := "rprivate", true
		if o := m.BindOptions; o != nil {
			recursive = !o.NonRecursive
			if o.Propagation != "" {
				prop = string(o.Propagation)
			}
		}
		return bindMount(m.Source, m.Target, !m.ReadOnly, recursive, prop), nil
	case mount.TypeVolume:
		var sub string
		if m.VolumeOptions != nil {
			sub = m.VolumeOptions.Subpath
		}
		src, err := volumePath(in, m.Source, sub)
		if err != nil {
			return specs.Mount{}, err
		}
		return bindMount(src, m.Target, !m.ReadOnly, true, "rprivate"), nil
	case mount.TypeTmpfs:
		if m.Source != "" {
			return specs.Mount{}, errors.New("tmpfs mounts take no source")
		}
		opts := append([]string{"noexec", "nosuid", "nodev", "rprivate"}, tmpfsOptions(m)...)
		return specs.Mount{Destination: path.Clean(m.Target), Type: "tmpfs", Source: "tmpfs", Options: mergeTmpfs(opts)}, nil
	}
	return specs.Mount{}, fmt.Errorf("mount type %q is not supported", m.Type)
}

func tmpfsOptions(m mount.Mount) []string {
	var opts []string
	if m.ReadOnly {
		opts = append(opts, "ro")
	}
	o := m.TmpfsOptions
	if o == nil {
		return opts
	}
	if o.SizeBytes > 0 {
		opts = append(opts, "size="+strconv.FormatInt(o.SizeBytes, 10))
	}
	if o.Mode != 0 {
		opts = append(opts, "mode="+strconv.FormatUint(uint64(unixMode(o.Mode)), 8))
	}
	for _, kv := range o.Options {
		opts = append(opts, strings.Join(kv, "="))
	}
	return opts
}

// unixMode takes the docker CLI's raw octal (tmpfs-mode=1777 arrives as
// 0o1777) as well as Go's ModeSticky/ModeSetuid/ModeSetgid bits.
func unixMode(m os.FileMode) uint32 {
	u := uint32(m) & 0o7777
	for bit, flag := range map[os.FileMode]uint32{os.ModeSticky: 0o1000, os.ModeSetgid: 0o2000, os.ModeSetuid: 0o4000} {
		if m&bit != 0 {
			u |= flag
		}
	}
	return u
}

// volumePath resolves a named volume (and a subpath inside it). Anonymous
// volumes, the image's VOLUMEs included, are the daemon's to name before
// calling Build.
func volumePath(in Input, name, sub string) (string, error) {
	if name == "" {
		return "", errors.New("volume without a name")
	}
	if in.VolumePath == nil {
		return "", fmt.Errorf("volume %q: no volume resolver", name)
	}
	dir, err := in.VolumePath(name)
	if err != nil {
		return "", fmt.Errorf("volume %q: %w", name, err)
	}
	if sub == "" {
		return dir, nil
	}
	if !localPath(sub) {
		return "", fmt.Errorf("volume %q: subpath %q leaves the volume", name, sub)
	}
	return path.Join(dir, sub), nil
}

// localPath reports whether p stays below its base: relative, with no ".."
// climbing out.
func localPath(p string) bool {
	c := path.Clean(p)
	return !path.IsAbs(c) && c != ".." && !strings.HasPrefix(c, "../")
}

// mergeTmpfs keeps the last of each option family, so a user's "exec"
// overrides the default "noexec" and a later size= wins.
func mergeTmpfs(opts []string) []string {
	family := func(o string) string {
		k, _, _ := strings.Cut(o, "=")
		if strings.HasPrefix(k, "no") && k != "nodiratime" {
			return k[2:]
		}
		if k == "ro" {
			return "rw"
		}
		return k
	}
	var out []string
	for i := len(opts) - 1; i >= 0; i-- {
		f := family(opts[i])
		if !slices.ContainsFunc(out, func(o string) bool { return family(o) == f }) {
			out = append(out, opts[i])
		}
	}
	slices.Reverse(out)
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
