package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// listRow is one line of a list command's --format: an object's, or the
// header, whose methods return the column titles.
type listRow interface {
	// jsonFields is the row as `--format json` prints it.
	jsonFields() map[string]string
}

// writeRows prints rows as docker's list commands do: "json" gives one
// JSON object per line; a Go template one line per row; a "table ..."
// template a header row first and columns at least 10 wide, 3 spaces
// apart.
func writeRows[R listRow](w io.Writer, format string, header R, rows []R) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		for _, r := range rows {
			if err := enc.Encode(r.jsonFields()); err != nil {
				return err
			}
		}
		return nil
	}
	body, table := strings.CutPrefix(format, "table")
	if table {
		body = strings.TrimLeft(body, " ")
		rows = append([]R{header}, rows...)
	}
	// Shell users type \t and \n literally.
	body = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(body)
	tmpl, err := template.New("format").Funcs(template.FuncMap{"join": strings.Join}).Parse(body)
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	var buf bytes.Buffer
	for _, r := range rows {
		if err := tmpl.Execute(&buf, r); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		buf.WriteByte('\n')
	}
	if !table {
		_, err := w.Write(buf.Bytes())
		return err
	}
	tw := tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
	tw.Write(buf.Bytes())
	return tw.Flush()
}

// kindInspectCommand is the `inspect` verb of one kind of object (volume,
// network): --format, and get to fetch each one.
func (a *app) kindInspectCommand(use, short string,
	get func(ctx context.Context, c *client.Client, ref string) (any, json.RawMessage, error)) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use: use, Short: short, Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			return a.inspectEach(cmd.Context(), args, format, func(ctx context.Context, ref string) (any, json.RawMessage, error) {
				return get(ctx, c, ref)
			})
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", `Go template, or "json"`)
	return cmd
}

// inspectEach prints the objects refs name as docker's inspect commands do:
// with format, each rendered through it (the typed object, or the raw one
// for fields the API types lack); without, one indented JSON array
// of the daemon's own bytes. A ref that fails is reported after the rest.
func (a *app) inspectEach(ctx context.Context, refs []string, format string,
	get func(ctx context.Context, ref string) (typed any, raw json.RawMessage, err error)) error {
	var (
		raws []json.RawMessage
		errs []error
	)
	for _, ref := range refs {
		typed, raw, err := get(ctx, ref)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if format != "" {
			if err := renderEither(a.stdout, format, typed, raw); err != nil {
				return err
			}
			continue
		}
		raws = append(raws, raw)
	}
	if format == "" {
		if err := writeIndented(a.stdout, raws); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}
