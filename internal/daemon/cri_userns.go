package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/pier-engine/pier/internal/daemon/pod"
	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/userns"
)

// A pod with userns_options POD (Kubernetes' hostUsers: false) gets a user
// namespace of its own with the kubelet's mappings, and its network, IPC
// and UTS namespaces are made inside it (internal/userns), all held by
// bind-mounted files. Its containers join them. Their rootfs is an overlay
// of idmapped image layers (snapshot.MountIDMapped), so the container's
// root owns the image's files, and what it writes is owned on the host by
// the mapped ids. The pod's root is let through the engine's 0700
// directories by ACL entries naming its host uid.

// usernsField names the pod's user namespace options in errors.
const usernsField = "config.linux.security_context.namespace_options.userns_options"

// podIDMaps is a pod's user namespace: the uid and gid ranges of its root.
type podIDMaps struct {
	uid, gid userns.Mapping
}

// checkUserns checks the pod's user namespace options: NODE (or none)
// keeps the host's, POD needs one mapping per id kind starting at
// container id 0, and the pod's network, IPC and PID namespaces of its
// own (the kubelet does not mix hostNetwork, hostIPC or hostPID with a
// user namespace either). It returns the maps for POD, nil for NODE.
func checkUserns(nsOpts *runtimeapi.NamespaceOption) (*podIDMaps, error) {
	u := nsOpts.GetUsernsOptions()
	if u == nil {
		return nil, nil // the host's, as NODE (POD is mode 0: only a message that is there asks for it)
	}
	switch u.GetMode() {
	case runtimeapi.NamespaceMode_NODE:
		return nil, nil
	case runtimeapi.NamespaceMode_CONTAINER, runtimeapi.NamespaceMode_TARGET:
		return nil, fmt.Errorf("%s.mode: %s is not a pod's mode (POD or NODE): %w", usernsField, u.GetMode(), errdefs.ErrInvalidArgument)
	case runtimeapi.NamespaceMode_POD:
	default:
		return nil, fmt.Errorf("%s.mode: unknown mode %d: %w", usernsField, u.GetMode(), errdefs.ErrInvalidArgument)
	}
	var maps podIDMaps
	for _, f := range []struct {
		name string
		ms   []*runtimeapi.IDMapping
		to   *userns.Mapping
	}{{"uids", u.GetUids(), &maps.uid}, {"gids", u.GetGids(), &maps.gid}} {
		if len(f.ms) != 1 {
			return nil, fmt.Errorf("%s.%s: want exactly one mapping, got %d: %w", usernsField, f.name, len(f.ms), errdefs.ErrInvalidArgument)
		}
		m := f.ms[0]
		if m.GetContainerId() != 0 || m.GetLength() == 0 {
			return nil, fmt.Errorf("%s.%s: the mapping must start at container id 0 and not be empty (got %d-%d): %w",
				usernsField, f.name, m.GetContainerId(), uint64(m.GetContainerId())+uint64(m.GetLength()), errdefs.ErrInvalidArgument)
		}
		if uint64(m.GetHostId())+uint64(m.GetLength()) > math.MaxUint32 {
			return nil, fmt.Errorf("%s.%s: host ids %d+%d run past the last id: %w", usernsField, f.name, m.GetHostId(), m.GetLength(), errdefs.ErrInvalidArgument)
		}
		if m.GetHostId() == 0 {
			return nil, fmt.Errorf("%s.%s: host id 0 would make the pod's root the host's: %w", usernsField, f.name, errdefs.ErrInvalidArgument)
		}
		*f.to = userns.Mapping{ContainerID: 0, HostID: m.GetHostId(), Size: m.GetLength()}
	}
	for field, mode := range map[string]runtimeapi.NamespaceMode{"network": nsOpts.GetNetwork(), "ipc": nsOpts.GetIpc(), "pid": nsOpts.GetPid()} {
		if mode == runtimeapi.NamespaceMode_NODE {
			return nil, fmt.Errorf("config.linux.security_context.namespace_options.%s: NODE with a POD user namespace (the host's namespaces are not the pod's user namespace's): %w",
				field, errdefs.ErrInvalidArgument)
		}
	}
	if !userns.Supported() {
		return nil, fmt.Errorf("%s.mode: POD: this kernel has no user namespaces or no idmapped mounts (5.19): %w", usernsField, errdefs.ErrNotImplemented)
	}
	return &maps, nil
}

// makePodUserns makes the pod's user namespace and, owned by it, its
// network, IPC and UTS namespaces (the UTS one with the pod's hostname),
// and lets the pod's root through the engine's directories to the pod's
// own. teardown undoes all of it.
func (c *CRI) makePodUserns(s *pod.Sandbox, dir string, maps *podIDMaps) error {
	if err := reachableRoot(c.d.cfg.Root); err != nil {
		return err
	}
	s.UsernsUID, s.UsernsGID = maps.uid.HostID, maps.gid.HostID
	if err := c.grantSearch(s.UsernsUID, append(c.sharedDirs(), dir)...); err != nil {
		_ = c.revokePassage(s, dir)
		return fmt.Errorf("pod %s: %w", s.ID, err)
	}
	p := userns.Paths{User: filepath.Join(dir, "userns"), Net: c.d.criDir("netns", s.ID),
		IPC: filepath.Join(dir, "ipcns"), UTS: filepath.Join(dir, "utsns")}
	if err := userns.NewPod(p, maps.uid, maps.gid, s.Config.GetHostname()); err != nil {
		_ = c.revokePassage(s, dir)
		return fmt.Errorf("pod %s: %w", s.ID, err)
	}
	s.Userns, s.Netns, s.Ipcns, s.Utsns = p.User, p.Net, p.IPC, p.UTS
	return nil
}

// reachableRoot checks that the directories above the engine's root let
// anyone search them: the pod's root is an unprivileged host
// uid, and pierd gives it passage through its own directories only.
func reachableRoot(root string) error {
	for d := filepath.Dir(root); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("%s.mode: POD: %w", usernsField, err)
		}
		if st.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s.mode: POD: %s (above pierd's %s) is %#o: the pod's root, an unprivileged host uid, cannot pass it (chmod o+x): %w",
				usernsField, d, root, st.Mode().Perm(), errdefs.ErrConflict)
		}
		if d == "/" {
			return nil
		}
	}
}

// dummyID stands for any container's id in paths.
const dummyID = "0000000000000000000000000000000000000000000000000000000000000000"

// passage lists the directories from each of dirs up to the engine's root
// when it is under it, else up to / (the exec root's, /run/pier/...: the
// directories pierd made there), which the pod's root must be able to
// search. grantSearch skips those anyone may search.
func (c *CRI) passage(dirs ...string) []string {
	root := c.d.cfg.Root
	seen := map[string]bool{}
	var out []string
	for _, p := range dirs {
		inRoot := p == root || strings.HasPrefix(p, root+"/")
		for d := p; d != "/" && !seen[d]; d = filepath.Dir(d) {
			seen[d] = true
			out = append(out, d)
			if inRoot && d == root {
				break
			}
		}
	}
	return out
}

// sharedDirs are the engine's directories above every pod's and
// container's own that the root of a pod's user namespace must pass.
func (c *CRI) sharedDirs() []string {
	p := c.d.paths(dummyID)
	return c.passage(c.d.criDir("pods"), c.d.criDir("imagevols"), c.d.criDir("idmap"), filepath.Dir(p.dir), filepath.Dir(filepath.Dir(p.hosts)))
}

func (c *CRI) grantSearch(uid uint32, dirs ...string) error {
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o001 != 0 {
			continue // anyone may search it already
		}
		if err := userns.GrantSearch(d, uid); err != nil {
			return err
		}
	}
	return nil
}

// releaseUserns removes the pod's user namespace file and its root's
// passage through the shared directories.
func (c *CRI) releaseUserns(s *pod.Sandbox, dir string) error {
	return errors.Join(userns.Delete(s.Userns), c.revokePassage(s, dir))
}

// revokePassage takes back the pod's root's search right on the pod's
// directory, and on the shared ones unless another pod holding a user
// namespace has the same root.
func (c *CRI) revokePassage(s *pod.Sandbox, dir string) error {
	var errs []error
	dirs := []string{dir}
	others, _ := c.sandboxes()
	shared := false
	for _, o := range others {
		shared = shared || o.ID != s.ID && o.Userns != "" && o.UsernsUID == s.UsernsUID
	}
	if !shared {
		dirs = append(dirs, c.sharedDirs()...)
	}
	for _, d := range dirs {
		if err := userns.RevokeSearch(d, s.UsernsUID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// usernsRef is what a container of a pod with a user namespace keeps in
// its directory (usernsFile), so that its start mounts its rootfs
// idmapped.
type usernsRef struct {
	Path string `json:"path"`
	UID  uint32 `json:"uid"`
	GID  uint32 `json:"gid"`
}

const usernsFile = "userns.json"

// joinPodUserns puts the container in the pod's user namespace: the
// namespace in its spec, its idmapped-rootfs note, its /etc files owned by
// the pod's root and its directories passable by it.
func (c *CRI) joinPodUserns(spec *specs.Spec, id string, s *pod.Sandbox, mounts []*runtimeapi.Mount) error {
	if s.Userns == "" {
		return nil
	}
	if err := c.idmapVolumes(spec, id, s, mounts); err != nil {
		return err
	}
	if spec.Linux == nil {
		spec.Linux = &specs.Linux{}
	}
	spec.Linux.UIDMappings, spec.Linux.GIDMappings = nil, nil
	spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: s.Userns})
	p := c.d.paths(id)
	b, err := json.Marshal(usernsRef{Path: s.Userns, UID: s.UsernsUID, GID: s.UsernsGID})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(p.dir, usernsFile), b, 0o600); err != nil {
		return fmt.Errorf("container %s: %w", id, err)
	}
	if err := c.grantSearch(s.UsernsUID, c.passage(p.bundle, filepath.Dir(p.hosts), filepath.Dir(p.resolvConf), filepath.Dir(p.hostname))...); err != nil {
		return fmt.Errorf("container %s: %w", id, err)
	}
	for _, f := range []string{p.hosts, p.hostname, p.resolvConf} {
		if err := os.Chown(f, int(s.UsernsUID), int(s.UsernsGID)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("container %s: %w", id, err)
		}
	}
	return nil
}

// podUsernsOf says whether container id is in a pod's user namespace, and
// which; nil for every other container.
func (d *Daemon) podUsernsOf(id string) (*usernsRef, error) {
	return readUsernsRef(d.paths(id).dir)
}

// readUsernsRef reads the usernsFile in a container's directory; nil when
// there is none.
func readUsernsRef(dir string) (*usernsRef, error) {
	p := filepath.Join(dir, usernsFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r usernsRef
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return &r, nil
}

// checkMountIDMap checks a mount's uid and gid mappings, which the kubelet
// sets on a userns pod's volumes (KEP-127) so that they are mounted
// idmapped: they must be the pod's own user namespace's, and the mount
// private (an idmapped mount is a clone outside the host's peer groups).
func checkMountIDMap(s *pod.Sandbox, m *runtimeapi.Mount) error {
	if len(m.GetUidMappings()) == 0 && len(m.GetGidMappings()) == 0 {
		return nil
	}
	const field = "config.mounts.uid_mappings"
	u := s.Config.GetLinux().GetSecurityContext().GetNamespaceOptions().GetUsernsOptions()
	if u == nil || u.GetMode() != runtimeapi.NamespaceMode_POD {
		return fmt.Errorf("%s on %s: the pod has no user namespace of its own to map the mount through: %w", field, m.GetContainerPath(), errdefs.ErrInvalidArgument)
	}
	for _, f := range []struct {
		name      string
		got, want []*runtimeapi.IDMapping
	}{{"uid_mappings", m.GetUidMappings(), u.GetUids()}, {"gid_mappings", m.GetGidMappings(), u.GetGids()}} {
		if len(f.got) != 1 || len(f.want) != 1 || f.got[0].GetContainerId() != f.want[0].GetContainerId() ||
			f.got[0].GetHostId() != f.want[0].GetHostId() || f.got[0].GetLength() != f.want[0].GetLength() {
			return fmt.Errorf("config.mounts.%s on %s: must be the pod's user namespace mapping (%v), got %v: %w",
				f.name, m.GetContainerPath(), f.want, f.got, errdefs.ErrInvalidArgument)
		}
	}
	if m.GetPropagation() != runtimeapi.MountPropagation_PROPAGATION_PRIVATE {
		return fmt.Errorf("config.mounts.propagation on %s: an idmapped mount must be private, not %s: %w", m.GetContainerPath(), m.GetPropagation(), errdefs.ErrInvalidArgument)
	}
	return nil
}

// idmapVolumes attaches, for each mount with mappings, an idmapped clone
// of its host path under <root>/cri/idmap/<id>/ and makes the container
// bind that instead. unbindIDMapped undoes it.
func (c *CRI) idmapVolumes(spec *specs.Spec, id string, s *pod.Sandbox, mounts []*runtimeapi.Mount) error {
	dir := c.d.criDir("idmap", id)
	made := false
	for i, m := range mounts {
		if len(m.GetUidMappings()) == 0 {
			continue
		}
		if !made {
			if err := c.grantSearch(s.UsernsUID, dir); err != nil {
				return fmt.Errorf("container %s: %w", id, err)
			}
			made = true
		}
		dst := filepath.Join(dir, strconv.Itoa(i))
		if err := userns.BindIDMapped(m.GetHostPath(), dst, s.Userns); err != nil {
			return fmt.Errorf("container %s: config.mounts %s: %w", id, m.GetContainerPath(), err)
		}
		for j := range spec.Mounts {
			if spec.Mounts[j].Destination == m.GetContainerPath() && spec.Mounts[j].Type == "bind" {
				spec.Mounts[j].Source = dst
			}
		}
	}
	return nil
}

// unbindIDMapped detaches and removes the container's idmapped volume
// mounts; entries are removed one by one, never recursively.
func (c *CRI) unbindIDMapped(id string) error {
	dir := c.d.criDir("idmap", id)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		errs = append(errs, userns.Unbind(filepath.Join(dir, e.Name())))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return os.Remove(dir)
}
