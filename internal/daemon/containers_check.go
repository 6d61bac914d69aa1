package daemon

import (
	"context"
	"os"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/image"
)

// logDrivers pier stores logs for: all three keep the json-file log that
// `logs` reads ("none" as well, since pier has no driver that discards).
var logDrivers = []string{"json-file", "local", "none"}

// dockerLogDrivers are dockerd's other built-in drivers: known names, which
// pier refuses as unsupported rather than as unknown.
var dockerLogDrivers = []string{"syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "etwlogs", "gcplogs", "logentries"}

// rtRuntimeFile exists where the kernel has CONFIG_RT_GROUP_SCHED (v1).
var rtRuntimeFile = "/sys/fs/cgroup/cpu/cpu.rt_runtime_us"

// checkCreate fills in what dockerd fills in at create (the log driver,
// the runtime's name) and refuses, naming the field, what pier would
// otherwise accept and ignore.
func checkCreate(cfg *container.Config, host *container.HostConfig) error {
	lc := &host.LogConfig
	if lc.Type == "" {
		lc.Type = "json-file"
	}
	if lc.Config == nil {
		lc.Config = map[string]string{}
	}
	switch {
	case slices.Contains(logDrivers, lc.Type):
	case slices.Contains(dockerLogDrivers, lc.Type):
		return errdefs.Newf(errdefs.ErrInvalidArgument, "HostConfig.LogConfig.Type: log driver %q is not supported by pier (json-file, local and none are)", lc.Type)
	default:
		// dockerd's exact text: clients compare it.
		return errdefs.Newf(errdefs.ErrInvalidArgument, "logger: no log driver named '%s' is registered", lc.Type)
	}
	if len(host.DeviceRequests) > 0 {
		dr := host.DeviceRequests[0]
		return errdefs.Newf(errdefs.ErrInvalidArgument, "HostConfig.DeviceRequests: could not select device driver %q with capabilities: %v (pier has no GPU or other device drivers)", dr.Driver, dr.Capabilities)
	}
	if len(host.StorageOpt) > 0 {
		return errdefs.New(errdefs.ErrInvalidArgument, "HostConfig.StorageOpt: --storage-opt is supported only for overlay over xfs with 'pquota' mount option")
	}
	if host.CPURealtimePeriod != 0 || host.CPURealtimeRuntime != 0 {
		// Honoured (cpu.rt_* on cgroup v1) where the kernel has the RT
		// group scheduler; dockerd's text where it has not.
		if _, err := os.Stat(rtRuntimeFile); err != nil {
			return errdefs.New(errdefs.ErrInvalidArgument, "HostConfig.CpuRealtimePeriod, CpuRealtimeRuntime: Your kernel does not support CPU real-time scheduler")
		}
	}
	return nil
}

// checkPlatform is create's platform query: the image must be of that
// platform (pier does not emulate others), with dockerd's 404 text.
func checkPlatform(ctx context.Context, ref string, img *v1.ConfigFile) error {
	want := image.PlatformOf(ctx)
	if want == "" || img == nil {
		return nil
	}
	p, err := v1.ParsePlatform(want)
	if err != nil {
		return errdefs.Newf(errdefs.ErrInvalidArgument, "invalid platform %q: %s", want, err)
	}
	have := v1.Platform{OS: img.OS, Architecture: img.Architecture, Variant: img.Variant}
	if p.OS != have.OS || p.Architecture != have.Architecture || (p.Variant != "" && p.Variant != have.Variant) {
		return errdefs.Newf(errdefs.ErrNotFound, "image with reference %s was found but does not match the specified platform: wanted %s, actual: %s", ref, want, have.String())
	}
	return nil
}
