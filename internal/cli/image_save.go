package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pier-engine/pier/internal/atomicfile"
)

func (a *app) saveCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "save [-o FILE] IMAGE [IMAGE...]",
		Short: "Save images to a tar archive (docker save and OCI layout in one)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var w io.Writer = a.stdout
			if output == "" && isTerminal(a.stdout) {
				return errors.New("refusing to write a tar to a terminal: use -o FILE or redirect")
			}
			return a.withClient(func(c *client.Client) error {
				res, err := c.ImageSave(cmd.Context(), args)
				if err != nil {
					return err
				}
				defer res.Close()
				if output != "" {
					return saveTo(output, res)
				}
				_, err = io.Copy(w, res)
				return err
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}

// saveTo writes r to path atomically, so that a failed save leaves no
// truncated archive under the name asked for.
func saveTo(path string, r io.Reader) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	})
}

func (a *app) loadCommand() *cobra.Command {
	var input string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "load [-i FILE]",
		Short: "Load images from a tar archive or STDIN",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := cmd.InOrStdin()
			if input != "" {
				f, err := os.Open(input)
				if err != nil {
					return fmt.Errorf("load: %w", err)
				}
				defer f.Close()
				in = f
			}
			return a.withClient(func(c *client.Client) error {
				res, err := c.ImageLoad(cmd.Context(), in, client.ImageLoadWithQuiet(quiet))
				if err != nil {
					return err
				}
				defer res.Close()
				return a.showProgress(decodeMessages(res), false)
			})
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "", "Read from a tar archive file, instead of STDIN")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Suppress the load output")
	return cmd
}

func (a *app) importCommand() *cobra.Command {
	var changes []string
	var message string
	cmd := &cobra.Command{
		Use:   "import [-c CHANGE]... FILE|- [REPOSITORY[:TAG]]",
		Short: "Make an image of a root filesystem tarball",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := cmd.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return fmt.Errorf("import: %w", err)
				}
				defer f.Close()
				in = f
			}
			ref := ""
			if len(args) == 2 {
				ref = args[1]
			}
			return a.withClient(func(c *client.Client) error {
				res, err := c.ImageImport(cmd.Context(), client.ImageImportSource{Source: in, SourceName: "-"}, ref,
					client.ImageImportOptions{Changes: changes, Message: message})
				if err != nil {
					return err
				}
				defer res.Close()
				return a.showProgress(decodeMessages(res), false)
			})
		},
	}
	cmd.Flags().StringArrayVarP(&changes, "change", "c", nil, "Apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE)")
	cmd.Flags().StringVarP(&message, "message", "m", "", "Commit message (ignored)")
	return cmd
}
