package specgen

import (
	"fmt"

	"github.com/moby/moby/api/types/blkiodev"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// blockIO maps BlkioWeight, BlkioWeightDevice and the four throttle lists
// to the spec; the cgroup manager writes them to v1 blkio.* or v2 io.max
// and io.weight. Device paths become major:minor through in.Device (stat).
func blockIO(in Input) (*specs.LinuxBlockIO, error) {
	r := &in.HostConfig.Resources
	b := &specs.LinuxBlockIO{}
	used := false
	if w := r.BlkioWeight; w != 0 {
		if w < 10 || w > 1000 {
			return nil, invalid("HostConfig.BlkioWeight", fmt.Errorf("%d is outside [10, 1000]", w))
		}
		b.Weight, used = &w, true
	}
	for _, wd := range r.BlkioWeightDevice {
		maj, min, err := blockDevice(in, "HostConfig.BlkioWeightDevice", wd.Path)
		if err != nil {
			return nil, err
		}
		if wd.Weight < 10 || wd.Weight > 1000 {
			return nil, invalid("HostConfig.BlkioWeightDevice", fmt.Errorf("weight %d of %s is outside [10, 1000]", wd.Weight, wd.Path))
		}
		w := wd.Weight
		d := specs.LinuxWeightDevice{Weight: &w}
		d.Major, d.Minor = maj, min
		b.WeightDevice, used = append(b.WeightDevice, d), true
	}
	lists := []struct {
		field string
		from  []*blkiodev.ThrottleDevice
		to    *[]specs.LinuxThrottleDevice
	}{
		{"HostConfig.BlkioDeviceReadBps", r.BlkioDeviceReadBps, &b.ThrottleReadBpsDevice},
		{"HostConfig.BlkioDeviceWriteBps", r.BlkioDeviceWriteBps, &b.ThrottleWriteBpsDevice},
		{"HostConfig.BlkioDeviceReadIOps", r.BlkioDeviceReadIOps, &b.ThrottleReadIOPSDevice},
		{"HostConfig.BlkioDeviceWriteIOps", r.BlkioDeviceWriteIOps, &b.ThrottleWriteIOPSDevice},
	}
	for _, l := range lists {
		for _, t := range l.from {
			if t == nil {
				continue
			}
			maj, min, err := blockDevice(in, l.field, t.Path)
			if err != nil {
				return nil, err
			}
			d := specs.LinuxThrottleDevice{Rate: t.Rate}
			d.Major, d.Minor = maj, min
			*l.to, used = append(*l.to, d), true
		}
	}
	if !used {
		return nil, nil
	}
	return b, nil
}

// blockDevice is path's major and minor; it must be a block device.
func blockDevice(in Input, field, path string) (int64, int64, error) {
	stat := in.Device
	if stat == nil {
		stat = statDevice
	}
	dev, err := stat(path)
	if err != nil {
		return 0, 0, invalid(field, err)
	}
	if dev.Type != "b" {
		return 0, 0, invalid(field, fmt.Errorf("%s is not a block device", path))
	}
	return dev.Major, dev.Minor, nil
}
