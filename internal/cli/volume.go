package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// volumeCommands is `pier volume` and its subcommands.
func (a *app) volumeCommands() []*cobra.Command {
	cmd := &cobra.Command{
		Use:   "volume",
		Short: "Manage volumes",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.volumeCreateCommand(), a.volumeListCommand(), a.volumeInspectCommand(),
		a.volumeRemoveCommand(), a.volumePruneCommand())
	return []*cobra.Command{cmd}
}

func (a *app) volumeCreateCommand() *cobra.Command {
	var (
		opts          client.VolumeCreateOptions
		labels, dopts []string
	)
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [VOLUME]",
		Short: "Create a volume",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if opts.Name != "" {
					return errors.New("conflicting options: cannot specify a volume-name through both --name and as a positional arg")
				}
				opts.Name = args[0]
			}
			opts.Labels, opts.DriverOpts = keyValues(labels), keyValues(dopts)
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := c.VolumeCreate(cmd.Context(), opts)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.stdout, res.Volume.Name)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Driver, "driver", "d", "local", "Volume driver")
	f.StringVar(&opts.Name, "name", "", "Volume name")
	f.MarkHidden("name") // as in docker: the positional argument is the documented way
	f.StringArrayVar(&labels, "label", nil, "Set metadata for a volume (key=value)")
	f.StringArrayVarP(&dopts, "opt", "o", nil, "Set driver specific options (key=value)")
	return cmd
}

// keyValues turns k=v flags into a map; a bare k maps to "", as docker's.
func keyValues(kvs []string) map[string]string {
	if len(kvs) == 0 {
		return nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// filterArgs parses --filter key=value flags.
func filterArgs(flags []string) (client.Filters, error) {
	f := client.Filters{}
	for _, kv := range flags {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("bad format of filter (expected name=value): %s", kv)
		}
		f.Add(strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v))
	}
	return f, nil
}

func (a *app) volumeListCommand() *cobra.Command {
	var (
		quiet   bool
		filters []string
		format  string
	)
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := filterArgs(filters)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := c.VolumeList(cmd.Context(), client.VolumeListOptions{Filters: f})
			if err != nil {
				return err
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(a.stderr, w)
			}
			slices.SortFunc(res.Items, func(x, y volume.Volume) int { return strings.Compare(x.Name, y.Name) })
			switch {
			case quiet && (format == "" || format == "table"):
				format = "{{.Name}}"
			case format == "" || format == "table":
				format = "table {{.Driver}}\t{{.Name}}"
			}
			return writeVolumeRows(a.stdout, format, res.Items)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&quiet, "quiet", "q", false, "Only display volume names")
	f.StringArrayVarP(&filters, "filter", "f", nil, "Filter output (dangling, driver, label, name)")
	f.StringVar(&format, "format", "", `"table", "json" or a Go template`)
	return cmd
}

// volumeRow is what an ls --format template sees, as docker's: the header
// row answers with column titles.
type volumeRow struct {
	v      volume.Volume
	header bool
}

func (r volumeRow) pick(title, value string) string {
	if r.header {
		return title
	}
	return value
}

func (r volumeRow) Name() string       { return r.pick("VOLUME NAME", r.v.Name) }
func (r volumeRow) Driver() string     { return r.pick("DRIVER", r.v.Driver) }
func (r volumeRow) Scope() string      { return r.pick("SCOPE", r.v.Scope) }
func (r volumeRow) Mountpoint() string { return r.pick("MOUNTPOINT", r.v.Mountpoint) }
func (r volumeRow) CreatedAt() string  { return r.pick("CREATED AT", r.v.CreatedAt) }
func (r volumeRow) Label(k string) string {
	return r.pick("LABEL", r.v.Labels[k])
}

// Labels is "k=v,k2=v2", sorted.
func (r volumeRow) Labels() string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(r.v.Labels)) {
		kv = append(kv, k+"="+r.v.Labels[k])
	}
	return r.pick("LABELS", strings.Join(kv, ","))
}

// jsonFields is a row as docker's `volume ls --format json` prints it,
// cluster and usage fields included, which a local volume lacks.
func (r volumeRow) jsonFields() map[string]string {
	return map[string]string{"Name": r.Name(), "Driver": r.Driver(), "Scope": r.Scope(),
		"Mountpoint": r.Mountpoint(), "Labels": r.Labels(),
		"Availability": "N/A", "Group": "N/A", "Links": "N/A", "Size": "N/A", "Status": "N/A"}
}

// writeVolumeRows prints one line per volume (see writeRows).
func writeVolumeRows(w io.Writer, format string, vols []volume.Volume) error {
	rows := make([]volumeRow, 0, len(vols))
	for _, v := range vols {
		rows = append(rows, volumeRow{v: v})
	}
	return writeRows(w, format, volumeRow{header: true}, rows)
}

func (a *app) volumeInspectCommand() *cobra.Command {
	return a.kindInspectCommand("inspect [OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes",
		func(ctx context.Context, c *client.Client, ref string) (any, json.RawMessage, error) {
			res, err := c.VolumeInspect(ctx, ref, client.VolumeInspectOptions{})
			return res.Volume, res.Raw, err
		})
}

// writeIndented prints the daemon's objects as docker inspect does: a JSON
// array indented by four spaces, [] when there is none.
func writeIndented(w io.Writer, raws []json.RawMessage) error {
	if raws == nil {
		raws = []json.RawMessage{}
	}
	b, err := json.MarshalIndent(raws, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func (a *app) volumeRemoveCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] VOLUME [VOLUME...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more volumes",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.forEach(args, func(c *client.Client, name string) error {
				_, err := c.VolumeRemove(cmd.Context(), name, client.VolumeRemoveOptions{Force: force})
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force the removal of one or more volumes")
	return cmd
}

const (
	pruneAnonymousWarning = "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?"
	pruneAllWarning       = "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?"
)

func (a *app) volumePruneCommand() *cobra.Command {
	var (
		force, all bool
		filters    []string
	)
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused local volumes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := filterArgs(filters)
			if err != nil {
				return err
			}
			warning := pruneAnonymousWarning
			if all {
				warning = pruneAllWarning
			}
			if !force && !confirm(cmd.InOrStdin(), a.stdout, warning) {
				return errors.New("volume prune has been cancelled")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := c.VolumePrune(cmd.Context(), client.VolumePruneOptions{All: all, Filters: f})
			if err != nil {
				return err
			}
			if len(res.Report.VolumesDeleted) > 0 {
				fmt.Fprintf(a.stdout, "Deleted Volumes:\n%s\n\n", strings.Join(res.Report.VolumesDeleted, "\n"))
			}
			_, err = fmt.Fprintln(a.stdout, "Total reclaimed space:", units.HumanSize(float64(res.Report.SpaceReclaimed)))
			return err
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	fl.BoolVarP(&all, "all", "a", false, "Remove all unused volumes, not just anonymous ones")
	fl.StringArrayVar(&filters, "filter", nil, `Provide filter values (e.g. "label=<label>")`)
	return cmd
}

// confirm asks a yes/no question; only y or Y is yes.
func confirm(in io.Reader, out io.Writer, question string) bool {
	fmt.Fprintf(out, "%s [y/N] ", question)
	line, _ := bufio.NewReader(in).ReadString('\n')
	answer := strings.TrimSpace(line)
	return answer == "y" || answer == "Y"
}
