package cli

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// eventCommands: pier events, and the system group (df, prune).
// containerPruneCommand belongs under the container group.
func (a *app) eventCommands() []*cobra.Command {
	system := &cobra.Command{Use: "system", Short: "Manage pier", Args: cobra.NoArgs}
	system.AddCommand(a.systemDFCommand(), a.systemPruneCommand(), a.eventsCommand())
	return []*cobra.Command{a.eventsCommand(), system}
}

func (a *app) eventsCommand() *cobra.Command {
	var (
		since, until, format string
		filters              []string
	)
	cmd := &cobra.Command{
		Use:   "events [OPTIONS]",
		Short: "Get real time events from the server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := filterArgs(filters)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			res := c.Events(cmd.Context(), client.EventsListOptions{Since: since, Until: until, Filters: f})
			for {
				select {
				case m := <-res.Messages:
					if err := printEvent(a.stdout, format, m); err != nil {
						return err
					}
				case err := <-res.Err:
					if err == nil || errors.Is(err, io.EOF) {
						return nil // the daemon ended the stream at until
					}
					return err
				}
			}
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&since, "since", "", "Show all events created since timestamp")
	fl.StringVar(&until, "until", "", "Stream events until this timestamp")
	fl.StringArrayVarP(&filters, "filter", "f", nil, "Filter output based on conditions provided")
	fl.StringVar(&format, "format", "", "Format output using a Go template, or json")
	return cmd
}

// printEvent writes m as docker does: "TIME TYPE ACTION ID (k=v, ...)"
// with the attributes sorted, or through format.
func printEvent(w io.Writer, format string, m events.Message) error {
	if format != "" {
		return render(w, format, m)
	}
	var b strings.Builder
	if m.TimeNano != 0 {
		b.WriteString(time.Unix(0, m.TimeNano).Format("2006-01-02T15:04:05.000000000Z07:00") + " ")
	} else if m.Time != 0 {
		b.WriteString(time.Unix(m.Time, 0).Format("2006-01-02T15:04:05.000000000Z07:00") + " ")
	}
	fmt.Fprintf(&b, "%s %s %s", m.Type, m.Action, m.Actor.ID)
	if len(m.Actor.Attributes) > 0 {
		var attrs []string
		for _, k := range slices.Sorted(maps.Keys(m.Actor.Attributes)) {
			attrs = append(attrs, k+"="+m.Actor.Attributes[k])
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(attrs, ", "))
	}
	_, err := fmt.Fprintln(w, b.String())
	return err
}

func (a *app) systemDFCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "df",
		Short: "Show pier disk usage",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			du, err := c.DiskUsage(cmd.Context(), client.DiskUsageOptions{Containers: true, Images: true, Volumes: true, BuildCache: true})
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 10, 1, 3, ' ', 0)
			fmt.Fprintln(tw, "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE")
			for _, row := range []struct {
				name                             string
				total, active, size, reclaimable int64
			}{
				{"Images", du.Images.TotalCount, du.Images.ActiveCount, du.Images.TotalSize, du.Images.Reclaimable},
				{"Containers", du.Containers.TotalCount, du.Containers.ActiveCount, du.Containers.TotalSize, du.Containers.Reclaimable},
				{"Local Volumes", du.Volumes.TotalCount, du.Volumes.ActiveCount, du.Volumes.TotalSize, du.Volumes.Reclaimable},
				{"Build Cache", du.BuildCache.TotalCount, du.BuildCache.ActiveCount, du.BuildCache.TotalSize, du.BuildCache.Reclaimable},
			} {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", row.name, row.total, row.active,
					units.HumanSize(float64(row.size)), reclaimable(row.reclaimable, row.size))
			}
			return tw.Flush()
		},
	}
}

// reclaimable is docker df's "1.2MB (50%)".
func reclaimable(n, total int64) string {
	if total <= 0 {
		return units.HumanSize(float64(n))
	}
	return fmt.Sprintf("%s (%d%%)", units.HumanSize(float64(n)), n*100/total)
}
