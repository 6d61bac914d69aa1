package cli

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// imageRow is one line of `pier images`: an image under one of its tags.
// --format templates see these fields, as docker's do.
type imageRow struct {
	Repository, Tag, Digest, ID string
	CreatedSince, CreatedAt     string
	Size                        string
	Containers                  string
}

// imageRows makes a row per tag, and one "<none>" row for an untagged
// image, as docker images shows them.
func imageRows(imgs []image.Summary, noTrunc bool, now time.Time) []imageRow {
	var rows []imageRow
	for _, img := range imgs {
		id := shortID(img.ID)
		if noTrunc {
			id = img.ID
		}
		created := time.Unix(img.Created, 0)
		base := imageRow{
			ID: id, Digest: "<none>",
			CreatedSince: units.HumanDuration(now.Sub(created)) + " ago",
			CreatedAt:    created.Format("2006-01-02 15:04:05 -0700 MST"),
			Size:         units.HumanSizeWithPrecision(float64(img.Size), 3),
			Containers:   "N/A",
		}
		if len(img.RepoDigests) > 0 {
			_, base.Digest, _ = strings.Cut(img.RepoDigests[0], "@")
		}
		if len(img.RepoTags) == 0 {
			r := base
			r.Repository, r.Tag = "<none>", "<none>"
			if len(img.RepoDigests) > 0 {
				r.Repository, _, _ = strings.Cut(img.RepoDigests[0], "@")
			}
			rows = append(rows, r)
		}
		for _, t := range img.RepoTags {
			r := base
			if i := strings.LastIndex(t, ":"); i > strings.LastIndex(t, "/") {
				r.Repository, r.Tag = t[:i], t[i+1:]
			} else {
				r.Repository, r.Tag = t, "<none>"
			}
			rows = append(rows, r)
		}
	}
	return rows
}

func (a *app) imagesCommand(use string) *cobra.Command {
	var (
		quiet, all, noTrunc, digests bool
		format                       string
		filters                      []string
	)
	cmd := &cobra.Command{
		Use:   use + " [REPOSITORY[:TAG]]",
		Short: "List images",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := make(client.Filters)
			for _, kv := range filters {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("bad filter %q: want key=value", kv)
				}
				f.Add(k, v)
			}
			if len(args) == 1 {
				f.Add("reference", args[0])
			}
			return a.withClient(func(c *client.Client) error {
				res, err := c.ImageList(cmd.Context(), client.ImageListOptions{All: all, Filters: f})
				if err != nil {
					return err
				}
				return a.printImages(res.Items, quiet, noTrunc, digests, format)
			})
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only show image IDs")
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Show all images (pier keeps no intermediate images)")
	cmd.Flags().BoolVar(&noTrunc, "no-trunc", false, "Don't truncate output")
	cmd.Flags().BoolVar(&digests, "digests", false, "Show digests")
	cmd.Flags().StringVar(&format, "format", "", `Go template per image, or "json"`)
	cmd.Flags().StringArrayVarP(&filters, "filter", "f", nil, "Filter output (dangling=, reference=, label=)")
	return cmd
}

func (a *app) printImages(imgs []image.Summary, quiet, noTrunc, digests bool, format string) error {
	rows := imageRows(imgs, noTrunc, time.Now())
	if quiet {
		var seen []string
		for _, r := range rows {
			if !slices.Contains(seen, r.ID) {
				seen = append(seen, r.ID)
				fmt.Fprintln(a.stdout, r.ID)
			}
		}
		return nil
	}
	if format != "" {
		for _, r := range rows {
			if err := render(a.stdout, format, r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 10, 1, 3, ' ', 0)
	if digests {
		fmt.Fprintln(tw, "REPOSITORY\tTAG\tDIGEST\tIMAGE ID\tCREATED\tSIZE")
	} else {
		fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
	}
	for _, r := range rows {
		if digests {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Repository, r.Tag, r.Digest, r.ID, r.CreatedSince, r.Size)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size)
		}
	}
	return tw.Flush()
}
