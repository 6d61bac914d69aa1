package cli

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

const psTable = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

func (a *app) psCommand(use string) *cobra.Command {
	var (
		opts           client.ContainerListOptions
		quiet, noTrunc bool
		format         string
		filters        []string
	)
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS]",
		Short: "List containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := filterArgs(filters)
			if err != nil {
				return err
			}
			opts.Filters = f
			return a.withClient(func(c *client.Client) error {
				res, err := c.ContainerList(cmd.Context(), opts)
				if err != nil {
					return err
				}
				switch {
				case quiet && (format == "" || format == "table"):
					format = "{{.ID}}"
				case format == "" || format == "table":
					format = psTable
				}
				return writeContainerRows(a.stdout, format, res.Items, !noTrunc, time.Now())
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.All, "all", "a", false, "Show all containers (default shows just running)")
	f.BoolVarP(&quiet, "quiet", "q", false, "Only display container IDs")
	f.BoolVar(&noTrunc, "no-trunc", false, "Don't truncate output")
	f.IntVarP(&opts.Limit, "last", "n", 0, "Show n last created containers (includes all states)")
	f.BoolVarP(&opts.Latest, "latest", "l", false, "Show the latest created container (includes all states)")
	f.BoolVarP(&opts.Size, "size", "s", false, "Display total file sizes")
	f.StringArrayVarP(&filters, "filter", "f", nil, "Filter output based on conditions provided")
	f.StringVar(&format, "format", "", `"table", "json" or a Go template`)
	return cmd
}

// containerRow is what a ps --format template sees, with docker's field
// names; the header row answers with column titles.
type containerRow struct {
	c      container.Summary
	trunc  bool
	now    time.Time
	header bool
}

func (r containerRow) pick(title, value string) string {
	if r.header {
		return title
	}
	return value
}

func (r containerRow) ID() string {
	if r.trunc {
		return r.pick("CONTAINER ID", shortID(r.c.ID))
	}
	return r.pick("CONTAINER ID", r.c.ID)
}

func (r containerRow) Image() string {
	img := r.c.Image
	if r.trunc && strings.HasPrefix(img, "sha256:") {
		img = shortID(img)
	}
	return r.pick("IMAGE", img)
}

// Command is quoted, and cut to 20 characters unless --no-trunc.
func (r containerRow) Command() string {
	cmd := r.c.Command
	if r.trunc && utf8.RuneCountInString(cmd) > 20 {
		cmd = string([]rune(cmd)[:19]) + "…"
	}
	return r.pick("COMMAND", strconv.Quote(cmd))
}

func (r containerRow) RunningFor() string {
	return r.pick("CREATED", units.HumanDuration(r.now.Sub(time.Unix(r.c.Created, 0)))+" ago")
}

func (r containerRow) CreatedAt() string {
	return r.pick("CREATED AT", time.Unix(r.c.Created, 0).Format("2006-01-02 15:04:05 -0700 MST"))
}

func (r containerRow) Status() string { return r.pick("STATUS", r.c.Status) }
func (r containerRow) State() string  { return r.pick("STATE", string(r.c.State)) }

// Names drops the leading slash; truncated, it leaves out link names.
func (r containerRow) Names() string {
	var names []string
	for _, n := range r.c.Names {
		n = strings.TrimPrefix(n, "/")
		if r.trunc && strings.Contains(n, "/") {
			continue
		}
		names = append(names, n)
	}
	return r.pick("NAMES", strings.Join(names, ","))
}

// Ports reads as docker's: 0.0.0.0:8080->80/tcp, or 80/tcp unpublished.
func (r containerRow) Ports() string {
	var out []string
	for _, p := range r.c.Ports {
		s := fmt.Sprintf("%d/%s", p.PrivatePort, p.Type)
		if p.PublicPort != 0 {
			s = fmt.Sprintf("%d->%s", p.PublicPort, s)
			if p.IP.IsValid() {
				s = p.IP.String() + ":" + s
			}
		}
		out = append(out, s)
	}
	return r.pick("PORTS", strings.Join(out, ", "))
}

func (r containerRow) Size() string {
	if r.c.SizeRw == 0 && r.c.SizeRootFs == 0 {
		return r.pick("SIZE", "0B")
	}
	return r.pick("SIZE", fmt.Sprintf("%s (virtual %s)", units.HumanSizeWithPrecision(float64(r.c.SizeRw), 3),
		units.HumanSizeWithPrecision(float64(r.c.SizeRootFs), 3)))
}

// Labels is "k=v,k2=v2", sorted.
func (r containerRow) Labels() string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(r.c.Labels)) {
		kv = append(kv, k+"="+r.c.Labels[k])
	}
	return r.pick("LABELS", strings.Join(kv, ","))
}

func (r containerRow) Label(k string) string { return r.pick("LABEL", r.c.Labels[k]) }

// jsonFields is a row as docker's `ps --format json` prints it.
func (r containerRow) jsonFields() map[string]string {
	return map[string]string{"ID": r.ID(), "Image": r.Image(), "Command": r.Command(),
		"CreatedAt": r.CreatedAt(), "RunningFor": r.RunningFor(), "Status": r.Status(), "State": r.State(),
		"Ports": r.Ports(), "Names": r.Names(), "Labels": r.Labels(), "Size": r.Size(),
		"Mounts": "", "Networks": "", "LocalVolumes": "0"}
}

// writeContainerRows prints one line per container (see writeRows).
func writeContainerRows(w io.Writer, format string, cs []container.Summary, trunc bool, now time.Time) error {
	rows := make([]containerRow, 0, len(cs))
	for _, c := range cs {
		rows = append(rows, containerRow{c: c, trunc: trunc, now: now})
	}
	return writeRows(w, format, containerRow{header: true}, rows)
}
