package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

func (a *app) imageInspectCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [--format TEMPLATE] IMAGE [IMAGE...]",
		Short: "Show detailed information on one or more images",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(c *client.Client) error {
				var raws []json.RawMessage
				var errs []error
				for _, ref := range args {
					var raw bytes.Buffer
					res, err := c.ImageInspect(cmd.Context(), ref, client.ImageInspectWithRawResponse(&raw))
					if err != nil {
						errs = append(errs, err)
						continue
					}
					if format == "" {
						raws = append(raws, json.RawMessage(raw.Bytes()))
						continue
					}
					if err := renderEither(a.stdout, format, res.InspectResponse, raw.Bytes()); err != nil {
						return err
					}
				}
				if format == "" {
					b, err := json.MarshalIndent(nonNilRaws(raws), "", "    ")
					if err != nil {
						return err
					}
					fmt.Fprintln(a.stdout, string(b))
				}
				return errors.Join(errs...)
			})
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", `Go template, or "json"`)
	return cmd
}

func nonNilRaws(r []json.RawMessage) []json.RawMessage {
	if r == nil {
		return []json.RawMessage{}
	}
	return r
}

// renderEither renders format with the typed value, or, when the template
// names the wire's keys ({{.Id}}), with the JSON object, as docker does.
func renderEither(w interface{ Write([]byte) (int, error) }, format string, typed any, raw []byte) error {
	var buf bytes.Buffer
	err := render(&buf, format, typed)
	if err != nil {
		var m map[string]any
		if jerr := json.Unmarshal(raw, &m); jerr != nil {
			return err
		}
		buf.Reset()
		if err := render(&buf, format, m); err != nil {
			return err
		}
	}
	_, err = w.Write(buf.Bytes())
	return err
}

func (a *app) historyCommand() *cobra.Command {
	var noTrunc, quiet bool
	cmd := &cobra.Command{
		Use:   "history IMAGE",
		Short: "Show the history of an image",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(c *client.Client) error {
				res, err := c.ImageHistory(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.stdout, 10, 1, 3, ' ', 0)
				if !quiet {
					fmt.Fprintln(tw, "IMAGE\tCREATED\tCREATED BY\tSIZE\tCOMMENT")
				}
				for _, h := range res.Items {
					id := h.ID
					if !noTrunc && id != "<missing>" {
						id = shortID(id)
					}
					if quiet {
						fmt.Fprintln(tw, id)
						continue
					}
					by := strings.ReplaceAll(h.CreatedBy, "\t", " ")
					if !noTrunc && len(by) > 45 {
						by = by[:44] + "…"
					}
					fmt.Fprintf(tw, "%s\t%s ago\t%s\t%s\t%s\n", id, units.HumanDuration(time.Since(time.Unix(h.Created, 0))),
						by, units.HumanSizeWithPrecision(float64(h.Size), 3), h.Comment)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&noTrunc, "no-trunc", false, "Don't truncate output")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only show image IDs")
	return cmd
}

func (a *app) imagePruneCommand() *cobra.Command {
	var all, force bool
	cmd := &cobra.Command{
		Use:   "prune [-a] [-f]",
		Short: "Remove unused images",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			warning := "WARNING! This will remove all dangling images."
			if all {
				warning = "WARNING! This will remove all images without at least one container associated to them."
			}
			if !force && !confirmImagePrune(cmd, a, warning) {
				return nil
			}
			f := make(client.Filters).Add("dangling", fmt.Sprint(!all))
			return a.withClient(func(c *client.Client) error {
				res, err := c.ImagePrune(cmd.Context(), client.ImagePruneOptions{Filters: f})
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
				fmt.Fprintln(a.stdout, "Total reclaimed space:", units.HumanSize(float64(res.Report.SpaceReclaimed)))
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Remove all unused images, not just dangling ones")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	return cmd
}

// confirmImagePrune asks on stdin, as docker does before pruning.
func confirmImagePrune(cmd *cobra.Command, a *app, warning string) bool {
	fmt.Fprintf(a.stdout, "%s\nAre you sure you want to continue? [y/N] ", warning)
	var answer string
	fmt.Fscanln(cmd.InOrStdin(), &answer)
	return strings.EqualFold(answer, "y") || strings.EqualFold(answer, "yes")
}
