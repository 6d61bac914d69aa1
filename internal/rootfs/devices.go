package rootfs

import (
	"fmt"
	"os"
	"path"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func charDev(p string, major, minor int64) specs.LinuxDevice {
	mode := os.FileMode(0o666)
	var zero uint32
	return specs.LinuxDevice{Path: p, Type: "c", Major: major, Minor: minor, FileMode: &mode, UID: &zero, GID: &zero}
}

// defaultDevices are the nodes every container gets, as the runtime spec
// requires ("Default Devices").
var defaultDevices = []specs.LinuxDevice{
	charDev("/dev/null", 1, 3),
	charDev("/dev/zero", 1, 5),
	charDev("/dev/full", 1, 7),
	charDev("/dev/random", 1, 8),
	charDev("/dev/urandom", 1, 9),
	charDev("/dev/tty", 5, 0),
}

// devLinks are the /dev symlinks of the spec's "Dev symbolic links".
var devLinks = []struct{ link, target, ifExists string }{
	{"/dev/fd", "/proc/self/fd", ""},
	{"/dev/stdin", "/proc/self/fd/0", ""},
	{"/dev/stdout", "/proc/self/fd/1", ""},
	{"/dev/stderr", "/proc/self/fd/2", ""},
	{"/dev/core", "/proc/kcore", "/proc/kcore"},
}

// devSteps makes /dev: config devices (which override defaults of the same
// path), the default devices, the links, /dev/ptmx and the /dev/shm mount point.
func devSteps(o Options) ([]Step, error) {
	var devs []specs.LinuxDevice
	seen := map[string]bool{}
	if o.Spec.Linux != nil {
		for i, d := range o.Spec.Linux.Devices {
			d, err := checkDevice(d)
			if err != nil {
				return nil, fmt.Errorf("linux.devices[%d]: %w", i, err)
			}
			devs = append(devs, d)
			seen[d.Path] = true
		}
	}
	for _, d := range defaultDevices {
		if !seen[d.Path] {
			devs = append(devs, d)
		}
	}
	var steps []Step
	for i := range devs {
		d := devs[i]
		steps = append(steps, Step{Kind: KindDevice, Index: -1, Destination: d.Path, Device: &d})
	}
	for _, l := range devLinks {
		steps = append(steps, Step{Kind: KindSymlink, Index: -1, Destination: l.link, Target: l.target, IfExists: l.ifExists})
	}
	// The devpts of the container has its own ptmx; /dev/ptmx must point
	// there, not be the host's multiplexer node.
	steps = append(steps,
		Step{Kind: KindSymlink, Index: -1, Destination: "/dev/ptmx", Target: "pts/ptmx", Replace: true},
		Step{Kind: KindMkdir, Index: -1, Destination: "/dev/shm", Mode: 0o755})
	return steps, nil
}

// checkDevice validates d and fills the spec's defaults (mode 0666, owner 0).
func checkDevice(d specs.LinuxDevice) (specs.LinuxDevice, error) {
	if !path.IsAbs(d.Path) {
		return d, fmt.Errorf("path: %q must be absolute", d.Path)
	}
	d.Path = path.Clean(d.Path)
	switch d.Type {
	case "c", "b", "u", "p":
	default:
		return d, fmt.Errorf("type: unknown device type %q (want c, b, u or p)", d.Type)
	}
	if d.Major < 0 || d.Minor < 0 {
		return d, fmt.Errorf("major/minor: %d:%d must not be negative", d.Major, d.Minor)
	}
	if d.FileMode == nil {
		m := os.FileMode(0o666)
		d.FileMode = &m
	} else {
		// The field is the raw st_mode: some writers include S_IFCHR and
		// friends, which Type already says. Keep the permission bits.
		m := os.FileMode(uint32(*d.FileMode) & 0o7777)
		d.FileMode = &m
	}
	var zero uint32
	if d.UID == nil {
		d.UID = &zero
	}
	if d.GID == nil {
		d.GID = &zero
	}
	return d, nil
}
