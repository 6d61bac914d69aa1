package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// createOptions are the flags run and create share, as docker's.
type createOptions struct {
	name, workdir, user, memory, network, entrypoint string
	stopSignal                                       string
	env, labels, tmpfs, volumes                      []string
	cpus                                             float64
	pidsLimit                                        int64
	stopTimeout                                      int
	init, readOnly, autoRemove                       bool
}

func (o *createOptions) addFlags(f *pflag.FlagSet) {
	f.SetInterspersed(false) // flags after IMAGE belong to the command
	f.StringVar(&o.name, "name", "", "Assign a name to the container")
	f.StringArrayVarP(&o.env, "env", "e", nil, "Set environment variables")
	f.StringVarP(&o.workdir, "workdir", "w", "", "Working directory inside the container")
	f.StringVarP(&o.user, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	f.StringVarP(&o.memory, "memory", "m", "", "Memory limit")
	f.Int64Var(&o.pidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	f.Float64Var(&o.cpus, "cpus", 0, "Number of CPUs")
	f.StringVar(&o.network, "network", "", "Connect a container to a network (none, host)")
	f.BoolVar(&o.init, "init", false, "Run an init inside the container (pier's default; --init=false turns it off)")
	f.StringVar(&o.entrypoint, "entrypoint", "", "Overwrite the default ENTRYPOINT of the image")
	f.StringArrayVarP(&o.labels, "label", "l", nil, "Set meta data on a container")
	f.StringVar(&o.stopSignal, "stop-signal", "", "Signal to stop the container")
	f.IntVar(&o.stopTimeout, "stop-timeout", 0, "Timeout (in seconds) to stop a container")
	f.BoolVar(&o.readOnly, "read-only", false, "Mount the container's root filesystem as read only")
	f.StringArrayVar(&o.tmpfs, "tmpfs", nil, "Mount a tmpfs directory (DIR[:OPTIONS])")
	f.StringArrayVarP(&o.volumes, "volume", "v", nil, "Bind mount a volume (SRC:DST[:ro])")
	f.BoolVar(&o.autoRemove, "rm", false, "Automatically remove the container when it exits")
}

// createRequest turns the flags and the positional IMAGE [CMD...] into the
// create call's options. Fields whose flag was not given stay unset so the
// daemon applies the image's or its own default.
func (o *createOptions) createRequest(f *pflag.FlagSet, args []string) (client.ContainerCreateOptions, error) {
	cfg := &container.Config{
		Image: args[0], Cmd: args[1:], Env: envList(o.env), WorkingDir: o.workdir, User: o.user,
		Labels: keyValues(o.labels), StopSignal: o.stopSignal,
		AttachStdout: true, AttachStderr: true,
	}
	if len(cfg.Cmd) == 0 {
		cfg.Cmd = nil
	}
	hc := &container.HostConfig{
		NetworkMode: container.NetworkMode(o.network), ReadonlyRootfs: o.readOnly, AutoRemove: o.autoRemove,
	}
	if f.Changed("entrypoint") {
		// An empty --entrypoint clears the image's, as in docker.
		cfg.Entrypoint = []string{o.entrypoint}
	}
	if f.Changed("stop-timeout") {
		cfg.StopTimeout = &o.stopTimeout
	}
	if f.Changed("init") {
		hc.Init = &o.init
	}
	if f.Changed("pids-limit") {
		hc.PidsLimit = &o.pidsLimit
	}
	if o.memory != "" {
		m, err := units.RAMInBytes(o.memory)
		if err != nil {
			return client.ContainerCreateOptions{}, fmt.Errorf("invalid argument %q for \"-m, --memory\" flag: %w", o.memory, err)
		}
		hc.Memory = m
	}
	if o.cpus < 0 {
		return client.ContainerCreateOptions{}, fmt.Errorf("invalid argument \"%g\" for \"--cpus\" flag: must be positive", o.cpus)
	}
	hc.NanoCPUs = int64(o.cpus * 1e9)
	for _, t := range o.tmpfs {
		dst, opts, _ := strings.Cut(t, ":")
		if hc.Tmpfs == nil {
			hc.Tmpfs = map[string]string{}
		}
		hc.Tmpfs[dst] = opts
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
	return client.ContainerCreateOptions{Config: cfg, HostConfig: hc, Name: o.name}, nil
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
		return "", daemonFailure{daemonError(a.host, err)}
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
			defer c.Close()
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
