package specgen

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// minMemory is the smallest limit Docker accepts: 6 MB.
const minMemory = 6 * 1024 * 1024

// cfsPeriod is the CFS period NanoCPUs is expressed in: 100 ms.
const cfsPeriod = 100000

func setResources(in Input, s *specs.Spec) error {
	r := &in.HostConfig.Resources
	mem, err := memory(r)
	if err != nil {
		return err
	}
	numCPU := in.NumCPU
	if numCPU == 0 {
		numCPU = runtime.NumCPU()
	}
	cpu, err := cpu(r, numCPU)
	if err != nil {
		return err
	}
	res := s.Linux.Resources
	res.Memory, res.CPU = mem, cpu
	if r.PidsLimit != nil {
		limit := *r.PidsLimit
		if limit <= 0 {
			limit = -1 // Docker: 0 and -1 both mean unlimited
		}
		res.Pids = &specs.LinuxPids{Limit: &limit}
	}
	bio, err := blockIO(in)
	if err != nil {
		return err
	}
	res.BlockIO = bio
	return nil
}

// memory applies Docker's checks (daemon/daemon_unix.go) and its default
// of swap equal to the memory limit (MemorySwap = 2 × Memory).
func memory(r *container.Resources) (*specs.LinuxMemory, error) {
	m := &specs.LinuxMemory{}
	switch {
	case r.Memory < 0:
		return nil, invalid("HostConfig.Memory", fmt.Errorf("negative limit %d", r.Memory))
	case r.Memory > 0 && r.Memory < minMemory:
		return nil, invalid("HostConfig.Memory", errors.New("minimum memory limit allowed is 6MB"))
	case r.MemorySwap != 0 && r.Memory == 0:
		return nil, invalid("HostConfig.MemorySwap", errors.New("you should always set the Memory limit when using Memoryswap limit"))
	case r.MemorySwap > 0 && r.MemorySwap < r.Memory:
		return nil, invalid("HostConfig.MemorySwap", errors.New("minimum memoryswap limit should be larger than memory limit"))
	case r.MemorySwap < -1:
		return nil, invalid("HostConfig.MemorySwap", fmt.Errorf("invalid value %d", r.MemorySwap))
	case r.MemoryReservation < 0 || (r.MemoryReservation > 0 && r.MemoryReservation < minMemory):
		return nil, invalid("HostConfig.MemoryReservation", errors.New("minimum memory reservation allowed is 6MB"))
	case r.Memory > 0 && r.MemoryReservation > r.Memory:
		return nil, invalid("HostConfig.MemoryReservation", errors.New("minimum memory limit can not be less than memory reservation limit"))
	}
	if r.Memory > 0 {
		limit, swap := r.Memory, r.MemorySwap
		if swap == 0 {
			swap = 2 * limit
		}
		m.Limit, m.Swap = &limit, &swap
	}
	if r.MemoryReservation > 0 {
		reservation := r.MemoryReservation
		m.Reservation = &reservation
	}
	if r.MemorySwappiness != nil && *r.MemorySwappiness != -1 {
		v := *r.MemorySwappiness
		if v < 0 || v > 100 {
			return nil, invalid("HostConfig.MemorySwappiness", fmt.Errorf("%d is outside [0, 100]", v))
		}
		sw := uint64(v)
		m.Swappiness = &sw
	}
	m.DisableOOMKiller = r.OomKillDisable
	if *m == (specs.LinuxMemory{}) {
		return nil, nil
	}
	return m, nil
}

// cpu maps NanoCPUs to a CFS quota over a 100 ms period, as Docker does,
// or passes CPUPeriod/CPUQuota through; the two forms exclude each other.
func cpu(r *container.Resources, numCPU int) (*specs.LinuxCPU, error) {
	c := &specs.LinuxCPU{Cpus: r.CpusetCpus, Mems: r.CpusetMems}
	switch {
	case r.NanoCPUs < 0:
		return nil, invalid("HostConfig.NanoCPUs", fmt.Errorf("negative value %d", r.NanoCPUs))
	case numCPU > 0 && r.NanoCPUs > int64(numCPU)*1e9:
		return nil, invalid("HostConfig.NanoCPUs", fmt.Errorf("range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", numCPU, numCPU))
	case r.NanoCPUs > 0 && (r.CPUPeriod > 0 || r.CPUQuota > 0):
		return nil, invalid("HostConfig.NanoCPUs", errors.New("conflicting options: Nano CPUs and CPU Period or CPU Quota cannot both be set"))
	case r.CPUShares < 0:
		return nil, invalid("HostConfig.CPUShares", fmt.Errorf("negative value %d", r.CPUShares))
	case r.CPUPeriod != 0 && (r.CPUPeriod < 1000 || r.CPUPeriod > 1000000):
		return nil, invalid("HostConfig.CPUPeriod", errors.New("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"))
	case r.CPUQuota != 0 && r.CPUQuota != -1 && r.CPUQuota < 1000:
		return nil, invalid("HostConfig.CPUQuota", errors.New("CPU cfs quota can not be less than 1ms (i.e. 1000)"))
	}
	if r.NanoCPUs > 0 {
		period, quota := uint64(cfsPeriod), r.NanoCPUs*cfsPeriod/1e9
		c.Period, c.Quota = &period, &quota
	}
	if r.CPUPeriod > 0 {
		period := uint64(r.CPUPeriod)
		c.Period = &period
	}
	if r.CPUQuota != 0 {
		quota := r.CPUQuota
		c.Quota = &quota
	}
	if r.CPUShares > 0 {
		shares := uint64(max(2, min(r.CPUShares, 262144))) // the kernel's bounds, as Docker clamps
		c.Shares = &shares
	}
	if r.CPURealtimePeriod < 0 || r.CPURealtimeRuntime < 0 ||
		(r.CPURealtimePeriod > 0 && r.CPURealtimeRuntime > r.CPURealtimePeriod) {
		return nil, invalid("HostConfig.CpuRealtimeRuntime", errors.New("cpu real-time runtime cannot be negative or higher than the cpu real-time period"))
	}
	if r.CPURealtimePeriod > 0 {
		p := uint64(r.CPURealtimePeriod)
		c.RealtimePeriod = &p
	}
	if r.CPURealtimeRuntime > 0 {
		rt := r.CPURealtimeRuntime
		c.RealtimeRuntime = &rt
	}
	if *c == (specs.LinuxCPU{}) {
		return nil, nil
	}
	return c, nil
}
