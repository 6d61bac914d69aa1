package cli

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
)

// buildFlags are docker build's flags that pier build has.
type buildFlags struct {
	tags, buildArgs, labels   []string
	file, target, network     string
	platform, iidfile, progr  string
	noCache, pull, quiet, rmv bool
}

// buildCommands are build (also `pier image build`), commit and diff.
func (a *app) buildCommands() []*cobra.Command {
	return []*cobra.Command{a.buildCommand(), a.commitCommand(), a.diffCommand(), a.builderCommand()}
}

func (a *app) buildCommand() *cobra.Command {
	var f buildFlags
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] PATH | URL | -",
		Short: "Build an image from a Dockerfile",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(c *client.Client) error { return a.build(cmd, c, args[0], f) })
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.tags, "tag", "t", nil, `Name and optionally a tag in the "name:tag" format`)
	fl.StringVarP(&f.file, "file", "f", "", `Name of the Dockerfile (default: "PATH/Dockerfile")`)
	fl.StringArrayVar(&f.buildArgs, "build-arg", nil, "Set build-time variables")
	fl.StringArrayVar(&f.labels, "label", nil, "Set metadata for an image")
	fl.StringVar(&f.target, "target", "", "Set the target build stage to build")
	fl.BoolVar(&f.noCache, "no-cache", false, "Do not use cache when building the image")
	fl.BoolVar(&f.pull, "pull", false, "Always attempt to pull a newer version of the image")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "Suppress the build output and print image ID on success")
	fl.StringVar(&f.network, "network", "default", "Set the networking mode for the RUN instructions during build")
	fl.StringVar(&f.platform, "platform", "", "Set platform if server is multi-platform capable")
	fl.StringVar(&f.iidfile, "iidfile", "", "Write the image ID to the file")
	fl.StringVar(&f.progr, "progress", "auto", "Set type of progress output (auto, plain, tty)")
	fl.BoolVar(&f.rmv, "rm", true, "Remove intermediate containers after a successful build")
	return cmd
}

func (a *app) build(cmd *cobra.Command, c *client.Client, path string, f buildFlags) error {
	tty := isTerminal(a.stdout)
	switch f.progr {
	case "auto":
	case "plain":
		tty = false
	case "tty":
		tty = true
	default:
		return fmt.Errorf("invalid --progress %q: want auto, plain or tty", f.progr)
	}
	var ctxTar io.Reader
	var dockerfile, session string
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		if ctxTar, dockerfile, session, err = syncedContext(cmd.Context(), c, path, f.file); err != nil {
			return err
		}
	}
	if ctxTar == nil {
		var err error
		if ctxTar, dockerfile, err = buildContext(path, f.file, cmd.InOrStdin()); err != nil {
			return err
		}
	}
	opts := client.ImageBuildOptions{
		Tags: f.tags, Dockerfile: dockerfile, Target: f.target, NoCache: f.noCache,
		PullParent: f.pull, SuppressOutput: f.quiet, NetworkMode: f.network,
		Remove: f.rmv, BuildArgs: map[string]*string{}, Labels: map[string]string{}, Version: build.BuilderV1,
	}
	if f.platform != "" {
		p, err := parsePlatform(f.platform)
		if err != nil {
			return err
		}
		opts.Platforms = []ocispec.Platform{p}
	}
	for _, kv := range f.buildArgs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			// docker build --build-arg NAME takes the value from the
			// environment, or leaves it unset.
			if ev, found := os.LookupEnv(k); found {
				v, ok = ev, true
			}
		}
		if ok {
			opts.BuildArgs[k] = &v
		} else {
			opts.BuildArgs[k] = nil
		}
	}
	for _, kv := range f.labels {
		k, v, _ := strings.Cut(kv, "=")
		opts.Labels[k] = v
	}
	if session != "" {
		// The build refers to the sync's session; the moby client adds
		// headers per client only.
		var err error
		if c, err = a.conn.newClient(client.WithHTTPHeaders(map[string]string{"X-Pier-Context": session})); err != nil {
			return err
		}
		defer c.Close()
	}
	res, err := c.ImageBuild(cmd.Context(), ctxTar, opts)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	id, err := a.showBuild(res.Body, f.quiet, tty)
	if err != nil {
		return err
	}
	if f.quiet {
		fmt.Fprintln(a.stdout, id)
	}
	if f.iidfile != "" {
		if err := os.WriteFile(f.iidfile, []byte(id), 0o644); err != nil {
			return fmt.Errorf("write iidfile: %w", err)
		}
	}
	return nil
}

// showBuild prints the build's stream and returns the image id from its
// aux message. On a terminal the running step's output is a live window
// of its last lines, folded away when the step ends.
func (a *app) showBuild(r io.Reader, quiet, tty bool) (string, error) {
	out := io.Writer(a.stdout)
	if quiet {
		out = io.Discard
	}
	v := &stepView{out: out, tty: tty && !quiet}
	dec := json.NewDecoder(r)
	id := ""
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", fmt.Errorf("build output: %w", err)
		}
		if m.Error != nil {
			v.flush()
			return "", &buildError{msg: m.Error.Message, code: m.Error.Code}
		}
		if m.Aux != nil {
			var aux struct{ ID string }
			if json.Unmarshal(*m.Aux, &aux) == nil && aux.ID != "" {
				id = aux.ID
			}
			continue
		}
		if m.Stream != "" {
			v.write(m.Stream)
		} else if m.Status != "" {
			v.write(m.Status + "\n")
		}
	}
	v.flush()
	if id == "" {
		return "", errors.New("the build ended without an image id")
	}
	return id, nil
}

// buildError is a failed build; a failed RUN's exit code becomes pier's.
type buildError struct {
	msg  string
	code int
}

func (e *buildError) Error() string { return e.msg }

// ExitCode is the failing command's exit code (1 when none).
func (e *buildError) ExitCode() int {
	if e.code > 0 && e.code < 256 {
		return e.code
	}
	return 1
}

// stepView renders build text: plain, or on a terminal with the running
// step's output kept to a window of its last lines.
type stepView struct {
	out     io.Writer
	tty     bool
	partial string
	window  []string // the running step's last output lines
	shown   int      // lines of window on screen
}

const stepWindow = 6

func (v *stepView) write(s string) {
	if !v.tty {
		fmt.Fprint(v.out, s)
		return
	}
	s = v.partial + s
	lines := strings.SplitAfter(s, "\n")
	v.partial = ""
	if last := lines[len(lines)-1]; !strings.HasSuffix(last, "\n") {
		v.partial = last
		lines = lines[:len(lines)-1]
	}
	for _, l := range lines {
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "Step ") || strings.HasPrefix(l, " ---> ") || strings.HasPrefix(l, "Successfully ") ||
			strings.HasPrefix(l, "Removing intermediate") {
			v.clear()
			v.window = nil
			fmt.Fprint(v.out, l)
			continue
		}
		v.window = append(v.window, l)
		if len(v.window) > stepWindow {
			v.window = v.window[len(v.window)-stepWindow:]
		}
		v.redraw()
	}
}

// clear erases the window's lines from the screen.
func (v *stepView) clear() {
	for ; v.shown > 0; v.shown-- {
		fmt.Fprint(v.out, "\x1b[1A\x1b[2K")
	}
}

func (v *stepView) redraw() {
	v.clear()
	for _, l := range v.window {
		fmt.Fprintf(v.out, "\x1b[2m  %s\x1b[0m", l)
	}
	v.shown = len(v.window)
}

// flush leaves the last window (the failing step's output) on screen.
func (v *stepView) flush() {
	if v.partial != "" {
		fmt.Fprintln(v.out, v.partial)
		v.partial = ""
	}
	v.shown = 0
}

// buildContext reads the context: a directory (tarred here, .dockerignore
// applied), a tar file, or "-" (a tar, or a lone Dockerfile, on stdin).
// A Dockerfile outside the context is added to the tar under a name of
// its own, as docker does; that name is returned.
func buildContext(path, file string, stdin io.Reader) (io.Reader, string, error) {
	if path == "-" {
		br := bufio.NewReader(stdin)
		if isArchive(br) {
			return br, file, nil
		}
		df, err := io.ReadAll(br)
		if err != nil {
			return nil, "", err
		}
		var buf bytes.Buffer
		if err := tarFiles(&buf, map[string][]byte{"Dockerfile": df}); err != nil {
			return nil, "", err
		}
		return &buf, "Dockerfile", nil
	}
	if strings.Contains(path, "://") || strings.HasPrefix(path, "git@") {
		return nil, "", fmt.Errorf("context %s: remote contexts are not supported; use a directory, a tar or -", path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, "", fmt.Errorf("unable to prepare context: %w", err)
	}
	if !fi.IsDir() {
		f, err := os.Open(path)
		if err != nil {
			return nil, "", err
		}
		return f, file, nil // closed at exit; the CLI is short-lived
	}
	extra := map[string][]byte{}
	name, err := dockerfileIn(path, file)
	if err != nil {
		return nil, "", err
	}
	if name == "" {
		df, err := os.ReadFile(file)
		if err != nil {
			return nil, "", fmt.Errorf("unable to read Dockerfile: %w", err)
		}
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		name = ".dockerfile." + hex.EncodeToString(b)
		extra[name] = df
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarDir(pw, path, name, extra)) }()
	return pr, name, nil
}
