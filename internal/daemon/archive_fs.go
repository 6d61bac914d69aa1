package daemon

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/snapshot"
	"github.com/pier-engine/pier/internal/sys"
)

// ctrFS is a container's file system as docker cp sees it. Every path is
// resolved inside root (or inside a mount's source) with
// sys.OpenInRoot, which resolves ".." and symlinks, absolute or
// relative, as chroot(root) would: a symlink /etc/evil -> /../../host
// names the container's own /host.
//
// A live container is seen through its PID 1's root (/proc/PID/root),
// where the kernel shows its volumes, binds and tmpfs mounts as they are
// mounted. A stopped container is its snapshot, mounted here for the
// copy, and each bind mount (named volumes are binds too) is found by
// its destination: a path under it is resolved inside the mount's host
// source. A symlink can therefore not lead from a stopped container's
// rootfs into one of its volumes; it stays in the rootfs.
type ctrFS struct {
	rec  containerRecord
	root string
	// mounts are the spec's mounts, longest destination first.
	mounts []fsMount
	// live says root is the process's view, with its mounts in place.
	live    bool
	release func() error
}

// fsMount is one of the container's mounts.
type fsMount struct {
	dst, src string
	ro, bind bool
	dir      bool // the source is a directory (binds of files are files)
	// kernel is a file system of the kernel's (proc, sysfs, cgroup...),
	// whose files are not the container's data.
	kernel bool
}

// kernelFS are the mount types a copy does not descend into: dockerd's
// view of a container has them as empty directories, and /proc/kcore
// is not a file anyone wants in a tar.
var kernelFS = map[string]bool{"proc": true, "sysfs": true, "cgroup": true, "cgroup2": true, "devpts": true, "mqueue": true}

// openFS gives the file system of container ref; release it when done.
// A stopped container stays locked until then, so it cannot start while
// its snapshot is mounted here.
func (d *Daemon) openFS(ref string) (*ctrFS, error) {
	r, err := d.lookup(ref)
	if err != nil {
		return nil, err
	}
	mounts, err := d.specMounts(r.ID)
	if err != nil {
		return nil, err
	}
	if fs, ok := d.liveFS(r, mounts); ok {
		return fs, nil
	}
	r, unlock, err := d.lookupLocked(r.ID)
	if err != nil {
		return nil, err
	}
	if fs, ok := d.liveFS(r, mounts); ok {
		unlock()
		return fs, nil
	}
	rootfs := d.paths(r.ID).rootfs
	fs := &ctrFS{rec: r, root: rootfs, mounts: mounts, release: func() error { unlock(); return nil }}
	if r.Mounted {
		return fs, nil
	}
	if err := d.images.Snapshots().Mount(r.ID, rootfs); err != nil {
		unlock()
		return nil, fmt.Errorf("mount %s: %w", r.ID, err)
	}
	fs.release = func() error {
		defer unlock()
		return snapshot.Unmount(rootfs)
	}
	return fs, nil
}

// liveFS opens the root of r's PID 1 when it runs. The root is held
// open and checked to belong to r after it was opened, so a PID reused
// by another process in between is noticed and never read.
func (d *Daemon) liveFS(r containerRecord, mounts []fsMount) (*ctrFS, bool) {
	if r.Pid <= 0 || (r.State != container.StateRunning && r.State != container.StatePaused) {
		return nil, false
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/root", r.Pid))
	if err != nil {
		return nil, false
	}
	cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", r.Pid))
	if err != nil || !strings.Contains(string(cg), r.ID) {
		f.Close()
		return nil, false
	}
	return &ctrFS{
		rec: r, root: fmt.Sprintf("/proc/self/fd/%d", f.Fd()), mounts: mounts, live: true,
		release: f.Close,
	}, true
}

// specMounts reads the mounts of the container's OCI spec.
func (d *Daemon) specMounts(id string) ([]fsMount, error) {
	b, err := os.ReadFile(d.paths(id).config)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("container %s: spec: %w", id, err)
	}
	return fsMounts(s.Mounts), nil
}

func fsMounts(ms []specs.Mount) []fsMount {
	var out []fsMount
	for _, m := range ms {
		fm := fsMount{dst: path.Clean("/" + m.Destination), src: m.Source, bind: m.Type == "bind", kernel: kernelFS[m.Type]}
		for _, o := range m.Options {
			switch o {
			case "ro":
				fm.ro = true
			case "bind", "rbind":
				fm.bind = true
			}
		}
		if fm.bind {
			st, err := os.Stat(m.Source)
			fm.dir = err == nil && st.IsDir()
		}
		out = append(out, fm)
	}
	// Longest first, so the innermost mount matches; later mounts of
	// the same destination cover earlier ones.
	slices.Reverse(out)
	slices.SortStableFunc(out, func(a, b fsMount) int { return cmp.Compare(len(b.dst), len(a.dst)) })
	return out
}

// mountOf is the mount that holds the container path p, if any.
func mountOf(mounts []fsMount, p string) (fsMount, bool) {
	p = path.Clean("/" + p)
	for _, m := range mounts {
		if p == m.dst || strings.HasPrefix(p, m.dst+"/") {
			return m, true
		}
	}
	return fsMount{}, false
}

// locate says in which host directory the container path abs is to be
// resolved, and as what path there. Trailing "/" and "/." are kept.
func (fs *ctrFS) locate(abs string) (root, rel string) {
	if fs.live {
		return fs.root, abs
	}
	m, ok := mountOf(fs.mounts, abs)
	switch {
	case !ok || !m.bind:
		return fs.root, abs
	case m.dir:
		return m.src, "/" + strings.TrimPrefix(strings.TrimPrefix(abs, m.dst), "/")
	case path.Clean(abs) == m.dst:
		return path.Dir(m.src), path.Base(m.src)
	}
	return fs.root, abs
}

// open opens abs as an O_PATH descriptor; a final symlink is followed
// only when follow is set.
func (fs *ctrFS) open(abs string, follow bool) (*os.File, error) {
	root, rel := fs.locate(abs)
	flags := sys.OPath
	if !follow {
		flags |= sys.ONoFollow
	}
	return sys.OpenInRoot(root, rel, flags)
}

// containerPath turns an open file back into its path in the container.
func (fs *ctrFS) containerPath(f *os.File) (string, error) {
	host, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil {
		return "", err
	}
	if fs.live {
		// The kernel names files of another mount namespace from that
		// namespace's root: the container's own path.
		return host, nil
	}
	for _, m := range fs.mounts {
		if !m.bind {
			continue
		}
		if rest, ok := under(host, m.src); ok {
			return path.Join(m.dst, rest), nil
		}
	}
	if rest, ok := under(host, fs.root); ok {
		return path.Join("/", rest), nil
	}
	return "", fmt.Errorf("%s is outside the container", host)
}

func under(p, dir string) (string, bool) {
	if p == dir {
		return "/", true
	}
	rest, ok := strings.CutPrefix(p, strings.TrimSuffix(dir, "/")+"/")
	return "/" + rest, ok
}

// writable is dockerd's check before an extraction: a path in a mount
// follows the mount's mode, any other the rootfs's.
func (fs *ctrFS) writable(abs string) error {
	if m, ok := mountOf(fs.mounts, abs); ok {
		if m.ro {
			return readOnly("mounted volume is marked read-only")
		}
		return nil
	}
	if fs.rec.HostConfig != nil && fs.rec.HostConfig.ReadonlyRootfs {
		return readOnly("container rootfs is marked read-only")
	}
	return nil
}

// openTop opens what a tar of abs starts from, as a root no name of the
// tar can leave: a directory itself (entry "."), anything else from its
// parent, so that a final symlink stays a link. It also gives the
// container path of that directory.
func (fs *ctrFS) openTop(abs string, isDir bool) (*os.Root, string, string, error) {
	root, rel := fs.locate(abs)
	entry := "."
	if !isDir {
		rel, entry = path.Split(path.Clean("/" + rel))
	}
	f, err := sys.OpenInRoot(root, rel, sys.OPath|sys.ODirectory)
	if err != nil {
		return nil, "", "", err
	}
	defer f.Close()
	dir, err := fs.containerPath(f)
	if err != nil {
		return nil, "", "", fmt.Errorf("resolve %s: %w", abs, err)
	}
	r, err := os.OpenRoot(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil {
		return nil, "", "", fmt.Errorf("open %s: %w", abs, err)
	}
	return r, entry, dir, nil
}

// kernelMount says the container path p is where a kernel file system
// is mounted in a live container.
func (fs *ctrFS) kernelMount(p string) bool {
	if !fs.live {
		return false
	}
	for _, m := range fs.mounts {
		if m.dst == p {
			return m.kernel
		}
	}
	return false
}
