package specgen

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/blkiodev"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/errdefs"
)

// fakeDevices answers in.Device from a table: /dev/sda is block 8:0,
// /dev/null character 1:3.
func fakeDevices(p string) (specs.LinuxDevice, error) {
	switch p {
	case "/dev/sda":
		return specs.LinuxDevice{Path: p, Type: "b", Major: 8, Minor: 0}, nil
	case "/dev/null":
		return specs.LinuxDevice{Path: p, Type: "c", Major: 1, Minor: 3}, nil
	}
	return specs.LinuxDevice{}, fmt.Errorf("stat %s: no such file or directory", p)
}

func TestBlkioDevicesReachTheSpec(t *testing.T) {
	in := input(t)
	in.Device = fakeDevices
	r := &in.HostConfig.Resources
	r.BlkioWeightDevice = []*blkiodev.WeightDevice{{Path: "/dev/sda", Weight: 200}}
	r.BlkioDeviceReadBps = []*blkiodev.ThrottleDevice{{Path: "/dev/sda", Rate: 1 << 20}}
	r.BlkioDeviceWriteBps = []*blkiodev.ThrottleDevice{{Path: "/dev/sda", Rate: 2 << 20}}
	r.BlkioDeviceReadIOps = []*blkiodev.ThrottleDevice{{Path: "/dev/sda", Rate: 100}}
	r.BlkioDeviceWriteIOps = []*blkiodev.ThrottleDevice{{Path: "/dev/sda", Rate: 200}}
	b := build(t, in).Linux.Resources.BlockIO
	if b == nil || len(b.WeightDevice) != 1 || *b.WeightDevice[0].Weight != 200 || b.WeightDevice[0].Major != 8 {
		t.Fatalf("weight devices = %+v", b)
	}
	for name, l := range map[string][]specs.LinuxThrottleDevice{
		"read bps": b.ThrottleReadBpsDevice, "write bps": b.ThrottleWriteBpsDevice,
		"read iops": b.ThrottleReadIOPSDevice, "write iops": b.ThrottleWriteIOPSDevice,
	} {
		if len(l) != 1 || l[0].Major != 8 || l[0].Minor != 0 || l[0].Rate == 0 {
			t.Errorf("%s = %+v", name, l)
		}
	}
	if b.ThrottleWriteBpsDevice[0].Rate != 2<<20 || b.ThrottleReadIOPSDevice[0].Rate != 100 {
		t.Errorf("rates mixed up: %+v", b)
	}
}

func TestBlkioBadDevicesRefused(t *testing.T) {
	for _, tc := range []struct {
		field string
		set   func(r *Input)
	}{
		{"HostConfig.BlkioDeviceReadBps", func(in *Input) {
			in.HostConfig.BlkioDeviceReadBps = []*blkiodev.ThrottleDevice{{Path: "/dev/null", Rate: 1}}
		}},
		{"HostConfig.BlkioDeviceWriteIOps", func(in *Input) {
			in.HostConfig.BlkioDeviceWriteIOps = []*blkiodev.ThrottleDevice{{Path: "/dev/nope", Rate: 1}}
		}},
		{"HostConfig.BlkioWeightDevice", func(in *Input) {
			in.HostConfig.BlkioWeightDevice = []*blkiodev.WeightDevice{{Path: "/dev/sda", Weight: 5000}}
		}},
	} {
		in := input(t)
		in.Device = fakeDevices
		tc.set(&in)
		_, err := Build(in)
		if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(fmt.Sprint(err), tc.field) {
			t.Errorf("%s: err = %v, want invalid naming the field", tc.field, err)
		}
	}
}

func TestCPURealtimeReachesTheSpec(t *testing.T) {
	in := input(t)
	in.HostConfig.CPURealtimePeriod, in.HostConfig.CPURealtimeRuntime = 1000, 500
	c := build(t, in).Linux.Resources.CPU
	if c == nil || c.RealtimePeriod == nil || *c.RealtimePeriod != 1000 || c.RealtimeRuntime == nil || *c.RealtimeRuntime != 500 {
		t.Fatalf("cpu = %+v", c)
	}
	in.HostConfig.CPURealtimeRuntime = 2000
	if _, err := Build(in); !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "CpuRealtimeRuntime") {
		t.Errorf("runtime above the period: %v", err)
	}
}
