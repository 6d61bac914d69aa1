package specgen

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/caps"
)

// DefaultCapabilities is Docker's set for an unprivileged container
// (moby oci/caps/defaults.go), in Docker's order.
var DefaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// DefaultMaskedPaths and DefaultReadonlyPaths are Docker's (moby
// oci/defaults.go, Docker 28), used when HostConfig leaves them nil.
var (
	DefaultMaskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
		"/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	}
	DefaultReadonlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
)

// securityOpts is HostConfig.SecurityOpt, parsed.
type securityOpts struct {
	noNewPrivileges   bool
	seccompUnconfined bool
	seccompProfile    string // JSON; empty for Docker's default
	systemPaths       bool   // systempaths=unconfined: no masked or read-only paths
}

func setSecurity(in Input, s *specs.Spec) error {
	opts, err := parseSecurityOpts(in.HostConfig.SecurityOpt)
	if err != nil {
		return err
	}
	list, err := capabilities(in)
	if err != nil {
		return err
	}
	s.Process.Capabilities = &specs.LinuxCapabilities{
		Bounding: list, Effective: slices.Clone(list), Permitted: slices.Clone(list),
	}
	s.Process.NoNewPrivileges = opts.noNewPrivileges
	if in.HostConfig.Privileged {
		return nil // no masked paths, no read-only paths, no seccomp
	}
	if !opts.systemPaths {
		s.Linux.MaskedPaths = orDefault(in.HostConfig.MaskedPaths, DefaultMaskedPaths)
		s.Linux.ReadonlyPaths = orDefault(in.HostConfig.ReadonlyPaths, DefaultReadonlyPaths)
	}
	if opts.seccompUnconfined {
		return nil
	}
	if opts.seccompProfile != "" {
		s.Linux.Seccomp, err = seccomp.LoadProfile(opts.seccompProfile, s)
	} else {
		s.Linux.Seccomp, err = seccomp.GetDefaultProfile(s)
	}
	if err != nil {
		return invalid("HostConfig.SecurityOpt", fmt.Errorf("seccomp profile: %w", err))
	}
	return nil
}

func orDefault(v, def []string) []string {
	if v != nil {
		return slices.Clone(v)
	}
	return slices.Clone(def)
}

// parseSecurityOpts accepts Docker's forms, "key=value" and the legacy
// "key:value". This host has neither SELinux nor AppArmor: their options are
// refused, except those that only turn them off.
func parseSecurityOpts(list []string) (securityOpts, error) {
	var o securityOpts
	for _, opt := range list {
		if opt == "no-new-privileges" {
			o.noNewPrivileges = true
			continue
		}
		key, val, ok := strings.Cut(opt, "=")
		if !ok {
			key, val, ok = strings.Cut(opt, ":")
		}
		if !ok {
			return o, invalid("HostConfig.SecurityOpt", fmt.Errorf("invalid option %q", opt))
		}
		if err := o.set(key, val); err != nil {
			return o, invalid("HostConfig.SecurityOpt", fmt.Errorf("%q: %w", opt, err))
		}
	}
	return o, nil
}

func (o *securityOpts) set(key, val string) error {
	switch key {
	case "no-new-privileges":
		b, err := strconv.ParseBool(val)
		o.noNewPrivileges = b
		return err
	case "seccomp":
		return o.setSeccomp(val)
	case "systempaths":
		if val != "unconfined" {
			return errors.New("only systempaths=unconfined is supported")
		}
		o.systemPaths = true
	case "label", "apparmor":
		if val == "disable" || val == "unconfined" {
			return nil // nothing to turn off on this host
		}
		return fmt.Errorf("%s is not supported on this host", key)
	default:
		return errors.New("unknown security option")
	}
	return nil
}

// setSeccomp takes "unconfined", "builtin", a profile's JSON (what the docker
// CLI sends after reading the file) or the path of a profile file.
func (o *securityOpts) setSeccomp(val string) error {
	switch {
	case val == "unconfined":
		o.seccompUnconfined = true
	case val == "builtin" || val == "":
	case strings.HasPrefix(strings.TrimSpace(val), "{"):
		o.seccompProfile = val
	default:
		b, err := os.ReadFile(val)
		if err != nil {
			return fmt.Errorf("read seccomp profile: %w", err)
		}
		o.seccompProfile = string(b)
	}
	return nil
}

// capabilities follows moby's TweakCapabilities: privileged gets every
// capability; "ALL" in CapAdd means all but CapDrop; "ALL" in CapDrop
// means only CapAdd; otherwise the defaults minus CapDrop plus CapAdd.
func capabilities(in Input) ([]string, error) {
	all, err := hostCapabilities(in)
	if err != nil {
		return nil, err
	}
	if in.HostConfig.Privileged {
		return all, nil
	}
	add, err := normalizeCaps("HostConfig.CapAdd", in.HostConfig.CapAdd)
	if err != nil {
		return nil, err
	}
	drop, err := normalizeCaps("HostConfig.CapDrop", in.HostConfig.CapDrop)
	if err != nil {
		return nil, err
	}
	var out []string
	switch {
	case slices.Contains(add, "ALL"):
		out = without(all, drop)
	case slices.Contains(drop, "ALL"):
		out = without(add, nil)
	default:
		out = append(without(DefaultCapabilities, drop), add...)
	}
	return dedupe(out), nil
}

// hostCapabilities is the known capabilities the engine's bounding set
// holds, in number order.
func hostCapabilities(in Input) ([]string, error) {
	get := in.HostCapabilities
	if get == nil {
		get = boundingSet
	}
	host, err := get()
	if err != nil {
		return nil, fmt.Errorf("host capabilities: %w", err)
	}
	var out []string
	for _, c := range caps.Known() {
		if slices.Contains(host, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// boundingSet reads this process's CapBnd.
func boundingSet() ([]string, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return nil, fmt.Errorf("CapBnd %q: %w", v, err)
			}
			return caps.Names(mask), nil
		}
	}
	return nil, errors.New("no CapBnd in /proc/self/status")
}

// normalizeCaps uppercases names and adds the CAP_ prefix Docker lets users
// leave out.
func normalizeCaps(field string, names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		n = strings.ToUpper(strings.TrimSpace(n))
		if n == "ALL" {
			out = append(out, n)
			continue
		}
		if !strings.HasPrefix(n, "CAP_") {
			n = "CAP_" + n
		}
		if _, ok := caps.Number(n); !ok {
			return nil, invalid(field, fmt.Errorf("unknown capability: %q", n))
		}
		out = append(out, n)
	}
	return out, nil
}

func without(list, drop []string) []string {
	var out []string
	for _, c := range list {
		if c != "ALL" && !slices.Contains(drop, c) {
			out = append(out, c)
		}
	}
	return out
}

func dedupe(list []string) []string {
	var out []string
	for _, c := range list {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}
