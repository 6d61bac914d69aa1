package ocicli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"github.com/spf13/cobra"

	"github.com/pier-engine/pier/internal/ocispec"
)

func psCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "ps [flags] ID [ps OPTIONS]",
		Short: "list the processes of a container",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			rt, err := g.runtime()
			if err != nil {
				return err
			}
			pids, err := rt.Pids(args[0])
			if err != nil {
				return err
			}
			if format == "json" {
				if pids == nil {
					pids = []int{}
				}
				return printJSON(pids)
			}
			if format != "table" {
				return fmt.Errorf("--format: %q is neither table nor json", format)
			}
			psArgs := args[1:]
			if len(psArgs) == 0 {
				psArgs = []string{"-ef"}
			}
			return psTable(pids, psArgs)
		},
	}
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().StringVarP(&format, "format", "f", "table", "table or json")
	return cmd
}

// psTable runs the host's ps and keeps the header and the container's lines.
func psTable(pids []int, args []string) error {
	out, err := exec.Command("ps", args...).Output()
	if err != nil {
		return fmt.Errorf("ps %s: %w", strings.Join(args, " "), err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	col := -1
	for i, h := range strings.Fields(lines[0]) {
		if h == "PID" {
			col = i
		}
	}
	if col < 0 {
		return errors.New("ps: no PID column in its output")
	}
	in := map[string]bool{}
	for _, p := range pids {
		in[strconv.Itoa(p)] = true
	}
	fmt.Println(lines[0])
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) > col && in[f[col]] {
			fmt.Println(l)
		}
	}
	return nil
}

func updateCmd(g *globals) *cobra.Command {
	var resources string
	var mem, swap, pids, shares, quota, period int64
	var cpus, mems string
	cmd := &cobra.Command{
		Use:   "update [flags] ID",
		Short: "change the resource limits of a running container",
		Args:  exactArgs(1, "container id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r specs.LinuxResources
			if resources != "" {
				if err := readResources(resources, &r); err != nil {
					return err
				}
			}
			f := cmd.Flags()
			if f.Changed("memory") || f.Changed("memory-swap") {
				r.Memory = &specs.LinuxMemory{}
				if f.Changed("memory") {
					r.Memory.Limit = &mem
				}
				if f.Changed("memory-swap") {
					r.Memory.Swap = &swap
				}
			}
			if f.Changed("pids-limit") {
				r.Pids = &specs.LinuxPids{Limit: &pids}
			}
			if f.Changed("cpu-shares") || f.Changed("cpu-quota") || f.Changed("cpu-period") || f.Changed("cpuset-cpus") || f.Changed("cpuset-mems") {
				r.CPU = &specs.LinuxCPU{Cpus: cpus, Mems: mems}
				if f.Changed("cpu-shares") {
					u := uint64(shares)
					r.CPU.Shares = &u
				}
				if f.Changed("cpu-quota") {
					r.CPU.Quota = &quota
				}
				if f.Changed("cpu-period") {
					u := uint64(period)
					r.CPU.Period = &u
				}
			}
			rt, err := g.runtime()
			if err != nil {
				return err
			}
			return rt.Update(args[0], &r)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&resources, "resources", "r", "", "JSON file of linux.resources, or - for stdin")
	f.Int64Var(&mem, "memory", 0, "memory limit in bytes")
	f.Int64Var(&swap, "memory-swap", 0, "memory+swap limit in bytes (-1: unlimited)")
	f.Int64Var(&pids, "pids-limit", 0, "maximum number of processes")
	f.Int64Var(&shares, "cpu-shares", 0, "relative cpu weight")
	f.Int64Var(&quota, "cpu-quota", 0, "cpu time in µs per period")
	f.Int64Var(&period, "cpu-period", 0, "cpu period in µs")
	f.StringVar(&cpus, "cpuset-cpus", "", "cpus to run on")
	f.StringVar(&mems, "cpuset-mems", "", "memory nodes to use")
	return cmd
}

func readResources(path string, r *specs.LinuxResources) error {
	var in io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("--resources: %w", err)
		}
		defer f.Close()
		in = f
	}
	dec := json.NewDecoder(in)
	dec.DisallowUnknownFields()
	if err := dec.Decode(r); err != nil {
		return fmt.Errorf("--resources %s: %w", path, err)
	}
	return nil
}

func eventsCmd(g *globals) *cobra.Command {
	var stats bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "events [--stats] [--interval D] ID",
		Short: "print a container's stats and OOM events as JSON lines",
		Args:  exactArgs(1, "container id"),
		RunE: func(_ *cobra.Command, args []string) error {
			rt, err := g.runtime()
			if err != nil {
				return err
			}
			w := bufio.NewWriter(os.Stdout)
			enc := json.NewEncoder(w)
			return rt.Events(args[0], stats, interval, func(ev any) error {
				if err := enc.Encode(ev); err != nil {
					return err
				}
				return w.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&stats, "stats", false, "print one stats event and exit")
	cmd.Flags().DurationVar(&interval, "interval", 5*time.Second, "interval between stats events")
	return cmd
}

func featuresCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "features",
		Short: "print what this runtime supports, as JSON",
		Args:  exactArgs(0, "none"),
		RunE: func(_ *cobra.Command, _ []string) error {
			return printJSON(supported())
		},
	}
}

func supported() *features.Features {
	yes := true
	return &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks:         []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"},
		MountOptions: []string{"async", "atime", "bind", "defaults", "dev", "diratime", "exec", "iversion", "lazytime",
			"loud", "mand", "noatime", "nodev", "nodiratime", "noexec", "noiversion", "nolazytime", "nomand",
			"norelatime", "nostrictatime", "nosuid", "nosymfollow", "private", "ratime", "rbind", "rdev",
			"relatime", "remount", "rexec", "rnoatime", "rnodev", "rnoexec", "rnosuid", "ro", "rprivate", "rro",
			"rrw", "rshared", "rslave", "runbindable", "rw", "shared", "silent", "slave", "strictatime", "suid",
			"symfollow", "sync", "unbindable"},
		Linux: &features.Linux{
			Namespaces:   []string{"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"},
			Capabilities: nil,
			Cgroup:       &features.Cgroup{V1: &yes, V2: &yes, Systemd: new(bool), SystemdUser: new(bool)},
			Seccomp:      &features.Seccomp{Enabled: &yes},
			Apparmor:     &features.Apparmor{Enabled: new(bool)},
			Selinux:      &features.Selinux{Enabled: new(bool)},
		},
	}
}

func specCmd() *cobra.Command {
	var bundle string
	cmd := &cobra.Command{
		Use:   "spec [--bundle DIR]",
		Short: "write a default config.json",
		Args:  exactArgs(0, "none"),
		RunE: func(_ *cobra.Command, _ []string) error {
			path := filepath.Join(bundle, "config.json")
			if _, err := os.Stat(path); err == nil {
				return fmt.Errorf("%s exists: remove it first", path)
			}
			b, err := json.MarshalIndent(ocispec.Default(), "", "\t")
			if err != nil {
				return err
			}
			return os.WriteFile(path, append(b, '\n'), 0o666)
		},
	}
	cmd.Flags().StringVarP(&bundle, "bundle", "b", ".", "bundle directory")
	return cmd
}
