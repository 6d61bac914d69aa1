package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
)

func (a *app) pullCommand() *cobra.Command {
	var quiet bool
	var platform string
	cmd := &cobra.Command{
		Use:   "pull NAME[:TAG|@DIGEST]",
		Short: "Download an image from a registry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(c *client.Client) error {
				var opts client.ImagePullOptions
				if platform != "" {
					p, err := parsePlatform(platform)
					if err != nil {
						return err
					}
					opts.Platforms = []ocispec.Platform{p}
				}
				auth, err := a.registryAuth(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				opts.RegistryAuth = auth
				res, err := c.ImagePull(cmd.Context(), args[0], opts)
				if err != nil {
					return err
				}
				defer res.Close()
				return a.showProgress(res.JSONMessages(cmd.Context()), quiet)
			})
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Suppress progress output")
	cmd.Flags().StringVar(&platform, "platform", "", "Pull this platform of a multi-platform image (os/arch[/variant])")
	return cmd
}

// parsePlatform splits os/arch[/variant].
func parsePlatform(s string) (ocispec.Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return ocispec.Platform{}, fmt.Errorf("platform %q: want os/arch[/variant]", s)
	}
	p := ocispec.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

func (a *app) pushCommand() *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "push NAME[:TAG]",
		Short: "Upload an image to a registry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(c *client.Client) error {
				auth, err := a.registryAuth(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				res, err := c.ImagePush(cmd.Context(), args[0], client.ImagePushOptions{RegistryAuth: auth})
				if err != nil {
					return err
				}
				defer res.Close()
				return a.showProgress(res.JSONMessages(cmd.Context()), quiet)
			})
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Suppress progress output")
	return cmd
}

// showProgress prints a pull or push stream and returns the error it
// ends with, if any.
func (a *app) showProgress(msgs iter.Seq2[jsonstream.Message, error], quiet bool) error {
	out := io.Discard
	if !quiet {
		out = a.stdout
	}
	p := &progress{out: out, tty: isTerminal(a.stdout), lines: map[string]int{}}
	for m, err := range msgs {
		if err != nil {
			return err
		}
		if m.Error != nil {
			return errors.New(m.Error.Message)
		}
		p.show(m)
	}
	return nil
}

// isTerminal tells whether w is a terminal: a character device, with a
// TERM that can move the cursor. Good enough without a termios call,
// which this layer may not make.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	t := os.Getenv("TERM")
	return t != "" && t != "dumb"
}

// progress renders Docker's progress messages. On a terminal each layer
// keeps one line, redrawn in place with a bar, as docker does; otherwise
// a layer gets a plain line each time its status changes, so logs stay
// short.
type progress struct {
	out   io.Writer
	tty   bool
	lines map[string]int    // terminal: layer id -> line index
	n     int               // terminal: lines under the current block
	last  map[string]string // plain: layer id -> last status printed
}

func (p *progress) show(m jsonstream.Message) {
	if m.Stream != "" {
		fmt.Fprint(p.out, m.Stream)
		return
	}
	if m.Status == "" {
		return // aux messages
	}
	if m.ID == "" {
		// A message of the whole image ends the current block of layers.
		fmt.Fprintln(p.out, m.Status)
		p.lines, p.n = map[string]int{}, 0
		return
	}
	if !p.tty {
		if p.last == nil {
			p.last = map[string]string{}
		}
		if p.last[m.ID] != m.Status {
			p.last[m.ID] = m.Status
			fmt.Fprintf(p.out, "%s: %s\n", m.ID, m.Status)
		}
		return
	}
	line, ok := p.lines[m.ID]
	if !ok {
		line = p.n
		p.lines[m.ID] = line
		p.n++
		fmt.Fprintln(p.out)
	}
	up := p.n - line
	// Up to the layer's line, clear it, write, back down.
	fmt.Fprintf(p.out, "\x1b[%dA\r\x1b[2K%s: %s %s\x1b[%dB\r", up, m.ID, m.Status, bar(m.Progress), up)
}

// bar draws [=====>      ]  1.2MB/4.5MB.
func bar(pr *jsonstream.Progress) string {
	if pr == nil || pr.Total <= 0 {
		return ""
	}
	const width = 50
	filled := min(int(pr.Current*width/pr.Total), width)
	arrow := strings.Repeat("=", filled)
	if filled < width {
		arrow += ">"
	}
	return fmt.Sprintf("[%-*s] %8s/%s", width, arrow,
		units.HumanSize(float64(pr.Current)), units.HumanSize(float64(pr.Total)))
}

// decodeMessages reads a JSON message stream (load, import).
func decodeMessages(r io.Reader) iter.Seq2[jsonstream.Message, error] {
	return func(yield func(jsonstream.Message, error) bool) {
		dec := json.NewDecoder(r)
		for {
			var m jsonstream.Message
			err := dec.Decode(&m)
			if errors.Is(err, io.EOF) {
				return
			}
			if !yield(m, err) || err != nil {
				return
			}
		}
	}
}
