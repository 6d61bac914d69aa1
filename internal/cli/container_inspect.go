package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// containerInspectCommand is `pier container inspect`: containers only.
func (a *app) containerInspectCommand() *cobra.Command {
	return a.objectInspectCommand("inspect [OPTIONS] CONTAINER [CONTAINER...]",
		"Display detailed information on one or more containers", "container")
}

// inspectCommand is the top-level `pier inspect`: a container, else an
// image of that name, unless --type says which.
func (a *app) inspectCommand() *cobra.Command {
	return a.objectInspectCommand("inspect [OPTIONS] NAME|ID [NAME|ID...]",
		"Return low-level information on pier objects", "")
}

func (a *app) objectInspectCommand(use, short, kind string) *cobra.Command {
	var format, typ string
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if kind != "" {
				typ = kind
			}
			if typ != "" && typ != "container" && typ != "image" {
				return fmt.Errorf("%q is not a valid value for --type", typ)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			return a.inspectEach(cmd.Context(), args, format, func(ctx context.Context, ref string) (any, json.RawMessage, error) {
				return inspectObject(ctx, c, ref, typ)
			})
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", `Go template, or "json"`)
	cmd.Flags().BoolP("size", "s", false, "Display total file sizes (accepted; not shown)")
	if kind == "" {
		cmd.Flags().StringVar(&typ, "type", "", "Only inspect objects of the given type (container, image)")
	}
	return cmd
}

// inspectObject fetches ref as a container, then as an image.
func inspectObject(ctx context.Context, c *client.Client, ref, typ string) (any, json.RawMessage, error) {
	if typ == "" || typ == "container" {
		res, err := c.ContainerInspect(ctx, ref, client.ContainerInspectOptions{})
		if err == nil {
			return res.Container, res.Raw, nil
		}
		if typ == "container" || !isNotFound(err) {
			return nil, nil, err
		}
	}
	var raw bytes.Buffer
	res, err := c.ImageInspect(ctx, ref, client.ImageInspectWithRawResponse(&raw))
	if err != nil {
		if typ == "" && isNotFound(err) {
			return nil, nil, fmt.Errorf("No such object: %s", ref)
		}
		return nil, nil, err
	}
	return res.InspectResponse, json.RawMessage(raw.Bytes()), nil
}
