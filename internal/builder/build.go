package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/pier-engine/pier/internal/trace"
)

// Builder runs builds against one engine, with one cache.
type Builder struct {
	engine   Engine
	cache    *Cache
	tmp      string
	contexts *Contexts
}

// New makes a Builder keeping its cache under dir and the contexts of
// running builds in tmp (dir/tmp when ""; pierd uses <root>/tmp, where
// dockerd keeps its own and where moby's tests look for leftovers). What
// an interrupted build left in tmp is removed.
func New(engine Engine, dir, tmp string) (*Builder, error) {
	cache, err := OpenCache(filepath.Join(dir, "cache"))
	if err != nil {
		return nil, err
	}
	if tmp == "" {
		tmp = filepath.Join(dir, "tmp")
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("builder: %w", err)
	}
	old, _ := filepath.Glob(filepath.Join(tmp, "context-*"))
	for _, p := range old {
		if err := os.RemoveAll(p); err != nil {
			return nil, fmt.Errorf("builder: %w", err)
		}
	}
	contexts, err := OpenContexts(filepath.Join(dir, "contexts"))
	if err != nil {
		return nil, err
	}
	return &Builder{engine: engine, cache: cache, tmp: tmp, contexts: contexts}, nil
}

// Contexts are the contexts pier's CLI keeps synced (POST /build/context).
func (b *Builder) Contexts() *Contexts { return b.contexts }

// Cache is the builder's step cache (for prune and disk usage).
func (b *Builder) Cache() *Cache { return b.cache }

// TmpDir is where builds keep their contexts while they run.
func (b *Builder) TmpDir() string { return b.tmp }

// build is one run of a Dockerfile.
type build struct {
	*Builder
	ctx     context.Context
	opts    Options
	files   *buildContext
	out     io.Writer
	lex     *shell.Lex
	stages  []*stage
	step    int
	total   int
	meta    map[string]*string // ARGs before the first FROM, resolved
	used    map[string]bool    // build args some ARG declared
	cleanup []string           // containers to remove at the end
	// removing counts the removals release started; the build waits for
	// them before it returns.
	removing sync.WaitGroup
}

// Build runs the Dockerfile of the context tar r and returns the image id.
// The image is complete and tagged when Build returns nil; on error,
// whatever the failing step made is gone (steps that succeeded stay, as
// cache).
func (b *Builder) Build(ctx context.Context, r io.Reader, opts Options) (string, error) {
	out := opts.Out
	if out == nil || opts.Quiet {
		out = io.Discard
	}
	trace.Mark("build", "begin")
	files, err := b.openContext(ctx, r, opts.ContextSession)
	if err != nil {
		return "", err
	}
	trace.Mark("build", "context extracted")
	bd := &build{Builder: b, ctx: ctx, opts: opts, files: files, out: out, used: map[string]bool{}}
	defer func() {
		// The context's files go while the last layers are unmounted.
		closed := make(chan struct{})
		go func() {
			files.close()
			close(closed)
		}()
		bd.removeContainers()
		<-closed
		trace.Mark("build", "containers and context released")
	}()
	id, err := bd.run()
	if err != nil {
		return "", err
	}
	trace.Mark("build", "steps done")
	if opts.Aux != nil {
		opts.Aux(id)
	}
	if opts.Quiet && opts.Out != nil {
		fmt.Fprintf(opts.Out, "%s\n", id)
	}
	fmt.Fprintf(out, "Successfully built %s\n", shortID(id))
	for _, t := range opts.Tags {
		if err := b.engine.Tag(ctx, id, t); err != nil {
			return "", err
		}
		fmt.Fprintf(out, "Successfully tagged %s\n", familiarTag(t))
	}
	trace.Mark("build", "tagged")
	return id, nil
}

// openContext extracts the context tar r, or with session (a synced
// context's) makes the new generation from the files r carries.
func (b *Builder) openContext(ctx context.Context, r io.Reader, session string) (*buildContext, error) {
	if session == "" {
		return extractContext(ctx, r, b.tmp)
	}
	g, err := b.contexts.receive(ctx, session, r)
	if err != nil {
		return nil, err
	}
	files, err := b.contexts.syncedContext(g)
	if err != nil {
		_ = b.contexts.root.RemoveAll(g.name)
		return nil, err
	}
	return files, nil
}

func (bd *build) run() (string, error) {
	df, err := bd.files.readDockerfile(bd.opts.Dockerfile)
	if err != nil {
		return "", err
	}
	removed, err := bd.files.applyIgnore(bd.opts.Dockerfile)
	if err != nil {
		return "", err
	}
	bd.files.ready(removed)
	res, err := parser.Parse(bytes.NewReader(df))
	if err != nil {
		return "", parseError(err)
	}
	bd.lex = shell.NewLex(res.EscapeToken)
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return "", parseError(err)
	}
	if len(stages) == 0 {
		return "", invalidf("dockerfile contains no stages to build")
	}
	if stages, err = selectTarget(stages, bd.opts.Target); err != nil {
		return "", err
	}
	addLabels(&stages[len(stages)-1], bd.opts.Labels)
	if err := bd.resolveMeta(metaArgs); err != nil {
		return "", err
	}
	for _, s := range stages {
		bd.total += 1 + len(s.Commands)
	}
	var last *stage
	for i := range stages {
		if last, err = bd.runStage(&stages[i]); err != nil {
			return "", err
		}
		bd.stages = append(bd.stages, last)
	}
	if last.image == "" {
		return "", invalidf("No image was generated. Is your Dockerfile empty?")
	}
	bd.warnUnused()
	return last.image, nil
}

// parseError keeps BuildKit's message, adding the line when the parser
// only attached it as a location.
func parseError(err error) error {
	var le *parser.LocationError
	if errors.As(err, &le) && !strings.Contains(err.Error(), "line") && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		return invalidf("dockerfile parse error on line %d: %w", le.Locations[0][0].Start.Line, err)
	}
	return invalidf("%w", err)
}

// selectTarget drops the stages after target, as the classic builder
// does (it still builds every stage before it).
func selectTarget(stages []instructions.Stage, target string) ([]instructions.Stage, error) {
	if target == "" {
		return stages, nil
	}
	for i, s := range stages {
		if strings.EqualFold(s.Name, target) {
			return stages[:i+1], nil
		}
	}
	return nil, invalidf("target stage %q could not be found", target)
}

// addLabels adds --label as LABEL steps at the end, sorted, as dockerd
// does.
func addLabels(s *instructions.Stage, labels map[string]string) {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s.AddCommand(instructions.NewLabelCommand(k, labels[k], true))
	}
}

func (bd *build) printf(format string, a ...any) {
	fmt.Fprintf(bd.out, format, a...)
}

// removeContainers removes what the build made and has not released,
// all at once, and waits for the removals release started.
func (bd *build) removeContainers() {
	for _, id := range bd.cleanup {
		bd.removeLater(id)
	}
	bd.cleanup = nil
	bd.removing.Wait()
}

// release removes container id (a finished step's container or writable
// layer) while the build goes on: the next step need not wait for an
// unmount and the unlinking of a layer's files.
func (bd *build) release(id string) {
	bd.cleanup = slices.DeleteFunc(bd.cleanup, func(c string) bool { return c == id })
	bd.removeLater(id)
}

func (bd *build) removeLater(id string) {
	// The build's context may be cancelled (the client left): removal
	// must happen all the same.
	ctx := context.WithoutCancel(bd.ctx)
	bd.removing.Add(1)
	go func() {
		defer bd.removing.Done()
		_ = bd.engine.Remove(ctx, id)
	}()
}

func (bd *build) warnUnused() {
	var unused []string
	for k := range bd.opts.BuildArgs {
		if !bd.used[k] && !builtinArgs[k] {
			unused = append(unused, k)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		bd.printf("[Warning] One or more build-args %v were not consumed\n", unused)
	}
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// familiarTag adds ":latest" to a name without a tag, as dockerd prints it.
func familiarTag(ref string) string {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") || strings.Contains(ref, "@") {
		return ref
	}
	return ref + ":latest"
}

func joinCmd(cmd []string) string { return strings.Join(cmd, " ") }
