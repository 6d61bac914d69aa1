package cgroups

import specs "github.com/opencontainers/runtime-spec/specs-go"

func i64(v int64) *int64   { return &v }
func u64(v uint64) *uint64 { return &v }
func u16(v uint16) *uint16 { return &v }
func u32(v uint32) *uint32 { return &v }
func boolp(v bool) *bool   { return &v }

// setCases: want maps "controller:file" ("" the cgroup2 tree) to content;
// Hybrid expects what V1 does unless it says otherwise. err is a substring
// of the error Set must return.
var setCases = []struct {
	name string
	res  specs.LinuxResources
	want map[Mode]map[string]string
	err  map[Mode]string
}{
	{
		name: "memory",
		res:  specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(64 << 20), Swap: i64(128 << 20), Reservation: i64(32 << 20)}},
		want: map[Mode]map[string]string{
			V1: {"memory:memory.limit_in_bytes": "67108864", "memory:memory.memsw.limit_in_bytes": "134217728",
				"memory:memory.soft_limit_in_bytes": "33554432"},
			V2: {":memory.max": "67108864", ":memory.swap.max": "67108864", ":memory.low": "33554432"},
		},
	},
	{
		name: "memory unlimited",
		res:  specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-1)}},
		want: map[Mode]map[string]string{
			V1: {"memory:memory.limit_in_bytes": "-1", "memory:memory.memsw.limit_in_bytes": "-1"},
			V2: {":memory.max": "max", ":memory.swap.max": "max"},
		},
	},
	{
		// The kernel refuses it; it must not turn into "max" on the way.
		name: "memory negative",
		res:  specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-5)}},
		want: map[Mode]map[string]string{
			V1: {"memory:memory.limit_in_bytes": "-5"},
			V2: {":memory.max": "-5"},
		},
	},
	{
		name: "memory v1 only",
		res: specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: u64(10), DisableOOMKiller: boolp(true),
			KernelTCP: i64(1 << 20), Kernel: i64(1 << 20)}},
		want: map[Mode]map[string]string{V1: {"memory:memory.swappiness": "10", "memory:memory.oom_control": "1",
			"memory:memory.kmem.tcp.limit_in_bytes": "1048576"}},
		err: map[Mode]string{V2: "linux.resources.memory.swappiness: not supported on cgroup v2"},
	},
	{
		name: "cpu",
		res: specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(1024), Quota: i64(50000), Period: u64(100000),
			Burst: u64(1000), Idle: i64(1), Cpus: "0", Mems: "0"}},
		want: map[Mode]map[string]string{
			V1: {"cpu:cpu.shares": "1024", "cpu:cpu.cfs_quota_us": "50000", "cpu:cpu.cfs_period_us": "100000",
				"cpu:cpu.cfs_burst_us": "1000", "cpu:cpu.idle": "1", "cpuset:cpuset.cpus": "0", "cpuset:cpuset.mems": "0"},
			V2: {":cpu.weight": "39", ":cpu.max": "50000 100000", ":cpu.max.burst": "1000", ":cpu.idle": "1",
				":cpuset.cpus": "0", ":cpuset.mems": "0"},
		},
	},
	{
		name: "cpu realtime",
		res:  specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimePeriod: u64(500000), RealtimeRuntime: i64(1000)}},
		want: map[Mode]map[string]string{V1: {"cpu:cpu.rt_period_us": "500000", "cpu:cpu.rt_runtime_us": "1000"}},
		err:  map[Mode]string{V2: "linux.resources.cpu.realtimeRuntime"},
	},
	{
		name: "pids",
		res:  specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(10)}},
		want: map[Mode]map[string]string{V1: {"pids:pids.max": "10"}, V2: {":pids.max": "10"}},
	},
	{
		name: "pids unlimited",
		res:  specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-1)}},
		want: map[Mode]map[string]string{V1: {"pids:pids.max": "max"}, V2: {":pids.max": "max"}},
	},
	{
		name: "blockIO",
		res: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
			Weight: u16(500),
			WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0},
				Weight: u16(300)}},
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8}, Rate: 1 << 20}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8}, Rate: 100}},
		}},
		want: map[Mode]map[string]string{
			V1: {"blkio:blkio.bfq.weight": "500", "blkio:blkio.bfq.weight_device": "8:0 300",
				"blkio:blkio.throttle.read_bps_device": "8:0 1048576", "blkio:blkio.throttle.write_iops_device": "8:0 100"},
			V2: {":io.weight": "8:0 2930", ":io.max": "8:0 wiops=100"},
		},
	},
	{
		name: "blockIO leaf weight",
		res:  specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{LeafWeight: u16(500)}},
		err: map[Mode]string{V2: "linux.resources.blockIO.leafWeight: not supported on cgroup v2",
			V1: "blkio.leaf_weight", Hybrid: "blkio.leaf_weight"},
	},
	{
		name: "hugepages",
		res:  specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}}},
		want: map[Mode]map[string]string{V1: {"hugetlb:hugetlb.2MB.limit_in_bytes": "4194304"}, V2: {":hugetlb.2MB.max": "4194304"}},
		err:  map[Mode]string{Hybrid: "linux.resources.hugepageLimits: hugetlb controller not available"},
	},
	{
		name: "network",
		res:  specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: u32(0x100001), Priorities: []specs.LinuxInterfacePriority{{Name: "eth0", Priority: 5}}}},
		want: map[Mode]map[string]string{V1: {"net_cls:net_cls.classid": "1048577", "net_prio:net_prio.ifpriomap": "eth0 5"}},
		err: map[Mode]string{V2: "linux.resources.network: net_cls and net_prio do not exist on cgroup v2",
			Hybrid: "linux.resources.network.classID: net_cls controller not available"},
	},
	{
		name: "devices",
		res: specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"}, {Allow: true, Type: "c", Access: "m"}}},
		want: map[Mode]map[string]string{V1: {"devices:devices.deny": "a *:* rwm", "devices:devices.allow": "c *:* m"}, V2: {}},
	},
	{
		name: "devices bad access",
		res:  specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwx"}}},
		err:  map[Mode]string{V1: "linux.resources.devices[0]: access", V2: "linux.resources.devices[0]: access", Hybrid: "linux.resources.devices[0]"},
	},
	{
		name: "unified",
		res:  specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1 << 30)}, Unified: map[string]string{"memory.high": "1000000", "memory.max": "2000000"}},
		want: map[Mode]map[string]string{V2: {":memory.high": "1000000", ":memory.max": "2000000"}},
		err: map[Mode]string{V1: "linux.resources.unified: requires cgroup v2",
			Hybrid: `linux.resources.unified["memory.high"]: memory controller not available`},
	},
	{
		name: "unified bad key",
		res:  specs.LinuxResources{Unified: map[string]string{"../memory.max": "1"}},
		err: map[Mode]string{V1: "linux.resources.unified", V2: `linux.resources.unified["../memory.max"]: not a cgroup file name`,
			Hybrid: `linux.resources.unified["../memory.max"]: not a cgroup file name`},
	},
	{
		name: "rdma",
		res:  specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"mlx4_0": {HcaHandles: u32(2), HcaObjects: u32(10)}}},
		want: map[Mode]map[string]string{V1: {"rdma:rdma.max": "mlx4_0 hca_handle=2 hca_object=10"}, V2: {":rdma.max": "mlx4_0 hca_handle=2 hca_object=10"}},
		err:  map[Mode]string{Hybrid: "linux.resources.rdma: rdma controller not available"},
	},
}
