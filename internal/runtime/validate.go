package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/caps"
	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/hooks"
	"github.com/pier-engine/pier/internal/rootfs"
	"github.com/pier-engine/pier/internal/seccomp"
)

// LoadSpec reads bundle/config.json, rejecting unknown top-level fields'
// malformed values with the decoder's position.
func LoadSpec(bundle string) (*specs.Spec, error) {
	path := filepath.Join(bundle, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("bundle %s: no config.json: %w", bundle, errdefs.ErrNotFound)
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, fmt.Errorf("parse %s: %w: %w", path, err, errdefs.ErrInvalidArgument)
	}
	return &spec, nil
}

// Validate checks everything that can be checked before anything is made,
// and returns the absolute rootfs path. Each error names its field.
func Validate(spec *specs.Spec, bundle string) (string, error) {
	root, _, err := validate(spec, bundle)
	return root, err
}

// validate is Validate that also returns the compiled seccomp filter (nil
// without one), which the C init's plan carries.
func validate(spec *specs.Spec, bundle string) (string, *seccomp.Filter, error) {
	var filter *seccomp.Filter
	root, err := validateBasics(spec, bundle)
	if err != nil {
		return "", nil, invalid(err)
	}
	checks := []func() error{
		func() error { return validateNamespaces(spec) },
		func() error {
			if spec.Process == nil {
				return nil // allowed at create; start then fails, as the spec says
			}
			return validateProcess(spec.Process)
		},
		func() error { return hooks.Validate(spec.Hooks) },
		func() error { return validateLSM(spec) },
		func() error {
			if spec.Linux.Seccomp == nil {
				return nil
			}
			var err error
			filter, err = seccomp.Compile(spec.Linux.Seccomp)
			return err
		},
		func() error {
			_, err := rootfs.Plan(rootfs.Options{Rootfs: root, Spec: spec, UserNS: hasNamespace(spec, specs.UserNamespace),
				SharedMountNS: !hasNamespace(spec, specs.MountNamespace)})
			return err
		},
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return "", nil, invalid(err)
		}
	}
	return root, filter, nil
}

func invalid(err error) error {
	if errors.Is(err, errdefs.ErrInvalidArgument) || errors.Is(err, errdefs.ErrNotFound) {
		return err
	}
	return fmt.Errorf("%w: %w", err, errdefs.ErrInvalidArgument)
}

func rootfsPath(spec *specs.Spec, bundle string) string {
	p := spec.Root.Path
	if !filepath.IsAbs(p) {
		p = filepath.Join(bundle, p)
	}
	return filepath.Clean(p)
}

func validateBasics(spec *specs.Spec, bundle string) (string, error) {
	if !strings.HasPrefix(spec.Version, "1.") {
		return "", fmt.Errorf("ociVersion: %q is not a 1.x runtime-spec version", spec.Version)
	}
	if spec.Root == nil || spec.Root.Path == "" {
		return "", errors.New("root.path: missing")
	}
	if spec.Linux == nil {
		spec.Linux = &specs.Linux{}
	}
	p := rootfsPath(spec, bundle)
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", fmt.Errorf("root.path: %w", err)
	}
	if st, err := os.Stat(real); err != nil || !st.IsDir() {
		return "", fmt.Errorf("root.path: %s is not a directory", real)
	}
	// Bind sources may be relative to the bundle; the container process
	// does not run in the bundle, so make them absolute here.
	for i, m := range spec.Mounts {
		if m.Source != "" && !filepath.IsAbs(m.Source) && isBind(m) {
			spec.Mounts[i].Source = filepath.Join(bundle, m.Source)
		}
	}
	if spec.Linux.IntelRdt != nil {
		return "", fmt.Errorf("linux.intelRdt: %w", errdefs.ErrNotImplemented)
	}
	return real, nil
}

func validateNamespaces(spec *specs.Spec) error {
	seen := map[specs.LinuxNamespaceType]bool{}
	for i, ns := range spec.Linux.Namespaces {
		if _, ok := nsFlags[ns.Type]; !ok {
			return fmt.Errorf("linux.namespaces[%d].type: unknown namespace %q", i, ns.Type)
		}
		if seen[ns.Type] {
			return fmt.Errorf("linux.namespaces[%d].type: %q listed twice", i, ns.Type)
		}
		seen[ns.Type] = true
		if ns.Path != "" {
			if _, err := os.Stat(ns.Path); err != nil {
				return fmt.Errorf("linux.namespaces[%d].path: %w", i, err)
			}
		}
	}
	newUser := hasNewNamespace(spec, specs.UserNamespace)
	if newUser && (len(spec.Linux.UIDMappings) == 0 || len(spec.Linux.GIDMappings) == 0) {
		return errors.New("linux.uidMappings: a new user namespace needs uid and gid mappings")
	}
	if !newUser && (len(spec.Linux.UIDMappings) > 0 || len(spec.Linux.GIDMappings) > 0) {
		return errors.New("linux.uidMappings: mappings given without a new user namespace")
	}
	// A hostname may be set in a uts namespace of the container's own,
	// new or joined by path, never in the host's.
	if spec.Hostname != "" && !seen[specs.UTSNamespace] {
		return errors.New("hostname: setting it needs a uts namespace")
	}
	if spec.Domainname != "" && !seen[specs.UTSNamespace] {
		return errors.New("domainname: setting it needs a uts namespace")
	}
	if len(spec.Linux.TimeOffsets) > 0 && !hasNewNamespace(spec, specs.TimeNamespace) {
		return errors.New("linux.timeOffsets: offsets need a new time namespace")
	}
	for clock := range spec.Linux.TimeOffsets {
		if clock != "monotonic" && clock != "boottime" {
			return fmt.Errorf("linux.timeOffsets: unknown clock %q", clock)
		}
	}
	return validateSysctl(spec, seen)
}

func validateSysctl(spec *specs.Spec, ns map[specs.LinuxNamespaceType]bool) error {
	for key := range spec.Linux.Sysctl {
		switch {
		case strings.HasPrefix(key, "net."):
			if !ns[specs.NetworkNamespace] {
				return fmt.Errorf("linux.sysctl[%s]: needs a network namespace", key)
			}
		case key == "kernel.msgmax" || key == "kernel.msgmnb" || key == "kernel.msgmni" || key == "kernel.sem" ||
			key == "kernel.shmall" || key == "kernel.shmmax" || key == "kernel.shmmni" || key == "kernel.shm_rmid_forced" ||
			strings.HasPrefix(key, "fs.mqueue."):
			if !ns[specs.IPCNamespace] {
				return fmt.Errorf("linux.sysctl[%s]: needs an ipc namespace", key)
			}
		case key == "kernel.hostname" || key == "kernel.domainname":
			if !ns[specs.UTSNamespace] {
				return fmt.Errorf("linux.sysctl[%s]: needs a uts namespace", key)
			}
		default:
			return fmt.Errorf("linux.sysctl[%s]: not a namespaced sysctl, it would change the host", key)
		}
	}
	return nil
}

var rlimitNames = map[string]bool{
	"RLIMIT_AS": true, "RLIMIT_CORE": true, "RLIMIT_CPU": true, "RLIMIT_DATA": true, "RLIMIT_FSIZE": true,
	"RLIMIT_LOCKS": true, "RLIMIT_MEMLOCK": true, "RLIMIT_MSGQUEUE": true, "RLIMIT_NICE": true,
	"RLIMIT_NOFILE": true, "RLIMIT_NPROC": true, "RLIMIT_RSS": true, "RLIMIT_RTPRIO": true,
	"RLIMIT_RTTIME": true, "RLIMIT_SIGPENDING": true, "RLIMIT_STACK": true,
}

func validateProcess(p *specs.Process) error {
	if len(p.Args) == 0 && p.CommandLine == "" {
		return errors.New("process.args: must not be empty")
	}
	if !filepath.IsAbs(p.Cwd) {
		return fmt.Errorf("process.cwd: %q is not absolute", p.Cwd)
	}
	for i, rl := range p.Rlimits {
		if !rlimitNames[rl.Type] {
			return fmt.Errorf("process.rlimits[%d].type: unknown rlimit %q", i, rl.Type)
		}
		if rl.Soft > rl.Hard {
			return fmt.Errorf("process.rlimits[%d]: soft limit %d above hard limit %d", i, rl.Soft, rl.Hard)
		}
	}
	for i, e := range p.Env {
		if !strings.Contains(e, "=") {
			return fmt.Errorf("process.env[%d]: %q is not KEY=value", i, e)
		}
	}
	if p.IOPriority != nil {
		return fmt.Errorf("process.ioPriority: %w", errdefs.ErrNotImplemented)
	}
	if p.Scheduler != nil {
		return fmt.Errorf("process.scheduler: %w", errdefs.ErrNotImplemented)
	}
	if p.Capabilities != nil {
		if _, err := caps.Parse(p.Capabilities); err != nil {
			return err
		}
	}
	return nil
}

// validateLSM refuses security labels this host cannot apply: silently
// running a container without its AppArmor profile would be worse.
func validateLSM(spec *specs.Spec) error {
	if spec.Process != nil && spec.Process.ApparmorProfile != "" && !lsmEnabled("apparmor") {
		return errors.New("process.apparmorProfile: AppArmor is not enabled on this host")
	}
	if spec.Process != nil && spec.Process.SelinuxLabel != "" && !lsmEnabled("selinux") {
		return errors.New("process.selinuxLabel: SELinux is not enabled on this host")
	}
	if spec.Linux.MountLabel != "" && !lsmEnabled("selinux") {
		return errors.New("linux.mountLabel: SELinux is not enabled on this host")
	}
	return nil
}

func lsmEnabled(name string) bool {
	b, err := os.ReadFile("/sys/kernel/security/lsm")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), ",") {
		if l == name {
			return true
		}
	}
	return false
}

func isBind(m specs.Mount) bool {
	if m.Type == "bind" {
		return true
	}
	for _, o := range m.Options {
		if o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}
