package runtime

import specs "github.com/opencontainers/runtime-spec/specs-go"

// mergeResources overlays an update on the recorded resources, so that a
// later `update` of one field keeps the others.
func mergeResources(old, upd *specs.LinuxResources) *specs.LinuxResources {
	if old == nil {
		return upd
	}
	out := *old
	if upd.Memory != nil {
		out.Memory = upd.Memory
	}
	if upd.CPU != nil {
		out.CPU = upd.CPU
	}
	if upd.Pids != nil {
		out.Pids = upd.Pids
	}
	if upd.BlockIO != nil {
		out.BlockIO = upd.BlockIO
	}
	if upd.HugepageLimits != nil {
		out.HugepageLimits = upd.HugepageLimits
	}
	if upd.Network != nil {
		out.Network = upd.Network
	}
	if upd.Unified != nil {
		out.Unified = upd.Unified
	}
	if upd.Devices != nil {
		out.Devices = upd.Devices
	}
	return &out
}

func devRule(typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
	r := specs.LinuxDeviceCgroup{Allow: true, Type: typ, Access: access}
	if major >= 0 {
		r.Major = &major
	}
	if minor >= 0 {
		r.Minor = &minor
	}
	return r
}

// defaultDeviceRules are the devices every container may use whatever its
// config's device list says, as in runc: mknod of anything (using a node
// still needs a rule), the standard character devices, the container's
// own ptys, and /dev/net/tun.
var defaultDeviceRules = []specs.LinuxDeviceCgroup{
	devRule("c", -1, -1, "m"), devRule("b", -1, -1, "m"),
	devRule("c", 1, 3, "rwm"), devRule("c", 1, 8, "rwm"), devRule("c", 1, 7, "rwm"),
	devRule("c", 5, 0, "rwm"), devRule("c", 1, 5, "rwm"), devRule("c", 1, 9, "rwm"),
	devRule("c", 5, 1, "rwm"), devRule("c", 136, -1, "rwm"), devRule("c", 5, 2, "rwm"),
	devRule("c", 10, 200, "rwm"),
}

// effectiveResources is what goes to the cgroup: the config's resources
// with the default device rules and one allow rule per configured device
// appended after the config's own rules (the last matching rule wins).
func effectiveResources(spec *specs.Spec) *specs.LinuxResources {
	var r specs.LinuxResources
	if spec.Linux.Resources != nil {
		r = *spec.Linux.Resources
	}
	if r.Devices == nil && len(spec.Linux.Devices) == 0 {
		return &r
	}
	devs := append([]specs.LinuxDeviceCgroup{}, r.Devices...)
	devs = append(devs, defaultDeviceRules...)
	for _, d := range spec.Linux.Devices {
		switch d.Type {
		case "p": // a fifo is no device to the cgroup
		case "u":
			devs = append(devs, devRule("c", d.Major, d.Minor, "rwm"))
		default:
			devs = append(devs, devRule(d.Type, d.Major, d.Minor, "rwm"))
		}
	}
	r.Devices = devs
	return &r
}
