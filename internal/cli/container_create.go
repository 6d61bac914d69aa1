package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// createOptions are the flags run and create share, as docker's.
type createOptions struct {
	name, workdir, user, network, entrypoint, hostname string
	stopSignal, restart, pid, ipc, uts, cgroupns       string
	userns, logDriver, runtime, cpusetCpus, cpusetMem  string
	env, labels, tmpfs, volumes, envFiles, capAdd      []string
	capDrop, securityOpt, logOpts, groupAdd            []string
	devices, sysctls                                   listValue
	memory, memorySwap, memoryReservation, shmSize     bytesValue
	ulimits                                            ulimitsValue
	mounts                                             mountsValue
	net                                                networkOptions
	health                                             healthOptions
	cpus                                               float64
	pidsLimit, cpuShares                               int64
	blkioWeight                                        uint16
	stopTimeout                                        int
	init, readOnly, autoRemove, privileged             bool
	oomKillDisable, interactive, tty                   bool
	attach                                             listValue
}

// createRequest turns the flags and the positional IMAGE [CMD...] into the
// create call's options. Fields whose flag was not given stay unset so the
// daemon applies the image's or its own default.
func (o *createOptions) createRequest(f *pflag.FlagSet, args []string) (client.ContainerCreateOptions, error) {
	cfg, err := o.config(f, args)
	if err != nil {
		return client.ContainerCreateOptions{}, err
	}
	hc, err := o.hostConfig(f)
	if err != nil {
		return client.ContainerCreateOptions{}, err
	}
	if cfg.ExposedPorts, hc.PortBindings, err = o.net.ports(); err != nil {
		return client.ContainerCreateOptions{}, err
	}
	nc, err := o.net.endpoints()
	if err != nil {
		return client.ContainerCreateOptions{}, err
	}
	for _, v := range o.volumes {
		// SRC:DST is a bind or a named volume; a lone DST is an anonymous one.
		if strings.Contains(v, ":") {
			hc.Binds = append(hc.Binds, v)
			continue
		}
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		cfg.Volumes[v] = struct{}{}
	}
	return client.ContainerCreateOptions{Config: cfg, HostConfig: hc, NetworkingConfig: nc, Name: o.name}, nil
}

// config is the portable part: the process, its stdio and its healthcheck.
func (o *createOptions) config(f *pflag.FlagSet, args []string) (*container.Config, error) {
	env, err := readEnvFiles(o.envFiles, o.env)
	if err != nil {
		return nil, err
	}
	cfg := &container.Config{
		Image: args[0], Cmd: args[1:], Env: env, WorkingDir: o.workdir, User: o.user,
		Labels: keyValues(o.labels), StopSignal: o.stopSignal, Hostname: o.hostname,
		Tty: o.tty, OpenStdin: o.interactive, StdinOnce: o.interactive, AttachStdin: o.interactive,
		AttachStdout: true, AttachStderr: true,
	}
	if len(o.attach.values) > 0 {
		// -a names the streams to attach, as docker's: the rest stay off.
		cfg.AttachStdin, cfg.AttachStdout, cfg.AttachStderr = false, false, false
		for _, v := range o.attach.values {
			switch strings.ToLower(v) {
			case "stdin":
				cfg.AttachStdin = true
			case "stdout":
				cfg.AttachStdout = true
			case "stderr":
				cfg.AttachStderr = true
			default:
				return nil, fmt.Errorf("invalid argument %q for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR", v)
			}
		}
		cfg.StdinOnce = cfg.AttachStdin && o.interactive
	}
	if len(cfg.Cmd) == 0 {
		cfg.Cmd = nil
	}
	if f.Changed("entrypoint") {
		// An empty --entrypoint clears the image's, as in docker.
		cfg.Entrypoint = []string{o.entrypoint}
	}
	if f.Changed("stop-timeout") {
		cfg.StopTimeout = &o.stopTimeout
	}
	if cfg.Healthcheck, err = o.health.config(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// hostConfig is the host-dependent part: resources, mounts, namespaces and
// security.
func (o *createOptions) hostConfig(f *pflag.FlagSet) (*container.HostConfig, error) {
	if o.cpus < 0 {
		return nil, fmt.Errorf("invalid argument \"%g\" for \"--cpus\" flag: must be positive", o.cpus)
	}
	hc := &container.HostConfig{
		NetworkMode: container.NetworkMode(o.net.name), ReadonlyRootfs: o.readOnly, AutoRemove: o.autoRemove,
		Privileged: o.privileged, CapAdd: o.capAdd, CapDrop: o.capDrop, GroupAdd: o.groupAdd,
		PidMode: container.PidMode(o.pid), IpcMode: container.IpcMode(o.ipc), UTSMode: container.UTSMode(o.uts),
		CgroupnsMode: container.CgroupnsMode(o.cgroupns), UsernsMode: container.UsernsMode(o.userns),
		Runtime: o.runtime, ShmSize: o.shmSize.n, Mounts: o.mounts.list, Sysctls: keyValues(o.sysctls.values),
		PublishAllPorts: o.net.publishAll, DNS: dnsAddrs(o.net.dns.values), DNSSearch: o.net.dnsSearch.values,
		DNSOptions: o.net.dnsOp.values, ExtraHosts: o.net.extraHosts.values,
		Resources: container.Resources{
			Memory: o.memory.n, MemorySwap: o.memorySwap.n, MemoryReservation: o.memoryReservation.n,
			NanoCPUs: int64(o.cpus * 1e9), CPUShares: o.cpuShares, CpusetCpus: o.cpusetCpus,
			CpusetMems: o.cpusetMem, BlkioWeight: o.blkioWeight, Ulimits: o.ulimits.list,
		},
	}
	if err := o.checkModes(hc); err != nil {
		return nil, err
	}
	if f.Changed("init") {
		hc.Init = &o.init
	}
	if f.Changed("pids-limit") {
		hc.PidsLimit = &o.pidsLimit
	}
	if f.Changed("oom-kill-disable") {
		hc.OomKillDisable = &o.oomKillDisable
	}
	for _, t := range o.tmpfs {
		dst, opts, _ := strings.Cut(t, ":")
		if hc.Tmpfs == nil {
			hc.Tmpfs = map[string]string{}
		}
		hc.Tmpfs[dst] = opts
	}
	for _, d := range o.devices.values {
		m, err := parseDevice(d)
		if err != nil {
			return nil, err
		}
		hc.Devices = append(hc.Devices, m)
	}
	var err error
	if hc.SecurityOpt, hc.MaskedPaths, hc.ReadonlyPaths, err = parseSecurityOpts(o.securityOpt); err != nil {
		return nil, err
	}
	if hc.RestartPolicy, err = parseRestart(o.restart); err != nil {
		return nil, err
	}
	if o.autoRemove && !hc.RestartPolicy.IsNone() {
		return nil, errors.New("conflicting options: cannot specify both --restart and --rm")
	}
	if hc.LogConfig, err = parseLogConfig(o.logDriver, o.logOpts); err != nil {
		return nil, err
	}
	return hc, nil
}

// checkModes gives docker's messages for malformed namespace modes; for
// --userns only "host" is valid, as in docker without userns-remap. pier
// also takes --uts container:<name|id>, which docker does not.
func (o *createOptions) checkModes(hc *container.HostConfig) error {
	switch {
	case !hc.PidMode.Valid():
		return errors.New("--pid: invalid PID mode")
	case !hc.UTSMode.Valid() && !validContainerMode(string(hc.UTSMode)):
		return errors.New("--uts: invalid UTS mode")
	case !hc.UsernsMode.Valid():
		return errors.New("--userns: invalid USER mode")
	case !hc.CgroupnsMode.Valid():
		return errors.New("--cgroupns: invalid CGROUP mode")
	case !hc.IpcMode.Valid():
		return errors.New("--ipc: invalid IPC mode")
	}
	return nil
}

// envList passes K=V through and takes a bare K from our environment,
// dropping it when unset, as docker's -e does.
func envList(env []string) []string {
	var out []string
	for _, e := range env {
		if strings.Contains(e, "=") {
			out = append(out, e)
			continue
		}
		if v, ok := os.LookupEnv(e); ok {
			out = append(out, e+"="+v)
		}
	}
	return out
}

// create makes the container and prints the daemon's warnings. A missing
// image gets docker's message; every failure exits 125.
func (a *app) create(ctx context.Context, c *client.Client, opts client.ContainerCreateOptions) (string, error) {
	res, err := c.ContainerCreate(ctx, opts)
	if err != nil {
		if isNotFound(err) {
			fmt.Fprintf(a.stderr, "Unable to find image '%s' locally\n", imageRef(opts.Config.Image))
		}
		return "", daemonFailure{err}
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(a.stderr, "WARNING:", w)
	}
	return res.ID, nil
}

// imageRef adds the :latest docker shows to a reference without a tag.
func imageRef(ref string) string {
	if strings.Contains(ref, "@") || strings.LastIndex(ref, ":") > strings.LastIndex(ref, "/") {
		return ref
	}
	return ref + ":latest"
}

func (a *app) createCommand() *cobra.Command {
	var o createOptions
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create a new container",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := o.createRequest(cmd.Flags(), args)
			if err != nil {
				return daemonFailure{err}
			}
			c, err := a.client()
			if err != nil {
				return daemonFailure{err}
			}
			id, err := a.create(cmd.Context(), c, opts)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.stdout, id)
			return err
		},
	}
	o.addFlags(cmd.Flags())
	usageExits125(cmd)
	cmd.Flags().Lookup("rm").Usage = "Automatically remove the container when it exits (when started later)"
	return cmd
}

// usageExits125 makes bad flags and arguments exit 125, as docker's run and
// create do: the container never existed.
func usageExits125(cmd *cobra.Command) {
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return daemonFailure{err} })
	args := cmd.Args
	cmd.Args = func(cmd *cobra.Command, a []string) error {
		if err := args(cmd, a); err != nil {
			return daemonFailure{err}
		}
		return nil
	}
}

// validContainerMode is "container:" and a name or id.
func validContainerMode(m string) bool {
	name, ok := strings.CutPrefix(m, "container:")
	return ok && name != ""
}
