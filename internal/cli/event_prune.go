package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

const (
	containerPruneWarning = "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?"
	systemPruneWarning    = "WARNING! This will remove:\n  - all stopped containers\n%s  - all dangling images\n\nAre you sure you want to continue?"
)

// containerPruneCommand is `pier container prune`; the container group
// adds it.
func (a *app) containerPruneCommand() *cobra.Command {
	var (
		force   bool
		filters []string
	)
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all stopped containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := filterArgs(filters)
			if err != nil {
				return err
			}
			if !force && !confirm(cmd.InOrStdin(), a.stdout, containerPruneWarning) {
				return errors.New("container prune has been cancelled")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			space, err := a.pruneContainers(cmd.Context(), c, f)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.stdout, "Total reclaimed space:", units.HumanSize(float64(space)))
			return err
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	cmd.Flags().StringArrayVar(&filters, "filter", nil, `Provide filter values (e.g. "until=<timestamp>")`)
	return cmd
}

// pruneContainers prunes, prints what went and returns the space freed.
func (a *app) pruneContainers(ctx context.Context, c *client.Client, f client.Filters) (uint64, error) {
	res, err := c.ContainerPrune(ctx, client.ContainerPruneOptions{Filters: f})
	if err != nil {
		return 0, err
	}
	if ids := res.Report.ContainersDeleted; len(ids) > 0 {
		fmt.Fprintf(a.stdout, "Deleted Containers:\n%s\n\n", strings.Join(ids, "\n"))
	}
	return res.Report.SpaceReclaimed, nil
}

func (a *app) systemPruneCommand() *cobra.Command {
	var force, volumes bool
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove stopped containers, dangling images and, with --volumes, unused anonymous volumes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			vols := ""
			if volumes {
				vols = "  - all anonymous volumes not used by at least one container\n"
			}
			if !force && !confirm(cmd.InOrStdin(), a.stdout, fmt.Sprintf(systemPruneWarning, vols)) {
				return errors.New("system prune has been cancelled")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			space, err := a.pruneContainers(ctx, c, nil)
			if err != nil {
				return err
			}
			if volumes {
				res, err := c.VolumePrune(ctx, client.VolumePruneOptions{})
				if err != nil {
					return err
				}
				if len(res.Report.VolumesDeleted) > 0 {
					fmt.Fprintf(a.stdout, "Deleted Volumes:\n%s\n\n", strings.Join(res.Report.VolumesDeleted, "\n"))
				}
				space += res.Report.SpaceReclaimed
			}
			res, err := c.ImagePrune(ctx, client.ImagePruneOptions{Filters: client.Filters{}.Add("dangling", "true")})
			if err != nil {
				return err
			}
			if len(res.Report.ImagesDeleted) > 0 {
				fmt.Fprintln(a.stdout, "Deleted Images:")
				for _, d := range res.Report.ImagesDeleted {
					if d.Untagged != "" {
						fmt.Fprintln(a.stdout, "untagged:", d.Untagged)
					}
					if d.Deleted != "" {
						fmt.Fprintln(a.stdout, "deleted:", d.Deleted)
					}
				}
				fmt.Fprintln(a.stdout)
			}
			space += res.Report.SpaceReclaimed
			_, err = fmt.Fprintln(a.stdout, "Total reclaimed space:", units.HumanSize(float64(space)))
			return err
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	cmd.Flags().BoolVar(&volumes, "volumes", false, "Prune anonymous volumes")
	return cmd
}
