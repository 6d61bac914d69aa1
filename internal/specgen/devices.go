package specgen

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// DefaultDeviceRules is Docker's device cgroup: deny everything, then allow
// the nodes runc creates in /dev (null, zero, full, random, urandom, tty,
// console, ptmx and the pty slaves), with fuse explicitly denied.
var DefaultDeviceRules = []specs.LinuxDeviceCgroup{
	{Allow: false, Access: "rwm"},
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(5), Access: "rwm"},
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"},
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(9), Access: "rwm"},
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(8), Access: "rwm"},
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(7), Access: "rwm"},
	{Allow: true, Type: "c", Major: i64(5), Minor: i64(0), Access: "rwm"},
	{Allow: true, Type: "c", Major: i64(5), Minor: i64(1), Access: "rwm"},
	{Allow: true, Type: "c", Major: i64(5), Minor: i64(2), Access: "rwm"},
	{Allow: true, Type: "c", Major: i64(136), Access: "rwm"},
	{Allow: false, Type: "c", Major: i64(10), Minor: i64(229), Access: "rwm"},
}

func i64(v int64) *int64 { return &v }

func setDevices(in Input, s *specs.Spec) error {
	res := s.Linux.Resources
	if in.HostConfig.Privileged {
		list := in.HostDevices
		if list == nil {
			list = hostDevices
		}
		devs, err := list()
		if err != nil {
			return fmt.Errorf("host devices: %w", err)
		}
		s.Linux.Devices = devs
		res.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
		return nil
	}
	res.Devices = append(res.Devices, DefaultDeviceRules...)
	for _, d := range in.HostConfig.Devices {
		dev, rule, err := mapDevice(in, d.PathOnHost, d.PathInContainer, d.CgroupPermissions)
		if err != nil {
			return invalid("HostConfig.Devices", fmt.Errorf("%s: %w", d.PathOnHost, err))
		}
		s.Linux.Devices = append(s.Linux.Devices, dev)
		res.Devices = append(res.Devices, rule)
	}
	for _, r := range in.HostConfig.DeviceCgroupRules {
		rule, err := parseDeviceRule(r)
		if err != nil {
			return invalid("HostConfig.DeviceCgroupRules", fmt.Errorf("%q: %w", r, err))
		}
		res.Devices = append(res.Devices, rule)
	}
	return nil
}

// mapDevice turns --device host[:container[:perms]] into a node and the
// cgroup rule allowing it. Only single device nodes: a directory of them
// (Docker walks it) is refused.
func mapDevice(in Input, host, inContainer, perms string) (specs.LinuxDevice, specs.LinuxDeviceCgroup, error) {
	if inContainer == "" {
		inContainer = host
	}
	if perms == "" {
		perms = "rwm"
	}
	if strings.Trim(perms, "rwm") != "" {
		return specs.LinuxDevice{}, specs.LinuxDeviceCgroup{}, fmt.Errorf("invalid permissions %q", perms)
	}
	if !path.IsAbs(inContainer) {
		return specs.LinuxDevice{}, specs.LinuxDeviceCgroup{}, fmt.Errorf("%q is not an absolute path", inContainer)
	}
	stat := in.Device
	if stat == nil {
		stat = statDevice
	}
	dev, err := stat(host)
	if err != nil {
		return dev, specs.LinuxDeviceCgroup{}, err
	}
	dev.Path = path.Clean(inContainer)
	rule := specs.LinuxDeviceCgroup{Allow: true, Type: dev.Type, Major: i64(dev.Major), Minor: i64(dev.Minor), Access: perms}
	return dev, rule, nil
}

// parseDeviceRule reads "type major:minor access", '*' for any number.
func parseDeviceRule(r string) (specs.LinuxDeviceCgroup, error) {
	f := strings.Fields(r)
	if len(f) != 3 || !strings.Contains("abc", f[0]) || len(f[0]) != 1 || strings.Trim(f[2], "rwm") != "" || f[2] == "" {
		return specs.LinuxDeviceCgroup{}, errors.New(`want "a|b|c major:minor rwm"`)
	}
	maj, mnr, ok := strings.Cut(f[1], ":")
	if !ok {
		return specs.LinuxDeviceCgroup{}, errors.New("want major:minor")
	}
	rule := specs.LinuxDeviceCgroup{Allow: true, Type: f[0], Access: f[2]}
	for _, n := range []struct {
		s   string
		dst **int64
	}{{maj, &rule.Major}, {mnr, &rule.Minor}} {
		if n.s == "*" {
			continue
		}
		v, err := strconv.ParseInt(n.s, 10, 64)
		if err != nil || v < 0 {
			return rule, fmt.Errorf("bad device number %q", n.s)
		}
		*n.dst = &v
	}
	return rule, nil
}

// statDevice describes a host device node with stat(2).
func statDevice(p string) (specs.LinuxDevice, error) {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return specs.LinuxDevice{}, fmt.Errorf("stat %s: %w", p, err)
	}
	var kind string
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		kind = "c"
	case unix.S_IFBLK:
		kind = "b"
	default:
		return specs.LinuxDevice{}, fmt.Errorf("%s is not a device node", p)
	}
	mode := fs.FileMode(st.Mode & 0o777)
	uid, gid := st.Uid, st.Gid
	return specs.LinuxDevice{
		Path: p, Type: kind, Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev)),
		FileMode: &mode, UID: &uid, GID: &gid,
	}, nil
}

// hostDevices lists /dev's device nodes for a privileged container, skipping
// what the container gets its own of (as runc's GetDevices does).
func hostDevices() ([]specs.LinuxDevice, error) {
	var out []specs.LinuxDevice
	err := filepath.WalkDir("/dev", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir() && p != "/dev" && isOwnDevDir(d.Name()):
			return filepath.SkipDir
		case d.IsDir() || d.Name() == "console" || d.Type()&fs.ModeDevice == 0:
			return nil
		}
		dev, err := statDevice(p)
		if err != nil {
			return nil // raced away or not a node: skip it as runc does
		}
		out = append(out, dev)
		return nil
	})
	return out, err
}

func isOwnDevDir(name string) bool {
	switch name {
	case "pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev":
		return true
	}
	return false
}
