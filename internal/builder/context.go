package builder

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/pier-engine/pier/internal/archive"
)

// buildContext is the build's files: the client's tar extracted into a
// private directory, .dockerignore applied.
type buildContext struct {
	dir  string
	root *os.Root
}

// extractContext unpacks the context tar r (plain, gzip or zstd) into a
// new directory under tmp. Names with "..", absolute names and symlinks
// all resolve inside that directory (internal/archive).
func extractContext(ctx context.Context, r io.Reader, tmp string) (*buildContext, error) {
	dir, err := os.MkdirTemp(tmp, "context-")
	if err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	br := bufio.NewReaderSize(r, 64<<10)
	if _, err := br.Peek(1); errors.Is(err, io.EOF) {
		return nil, invalidf("build context is empty")
	}
	dr, err := archive.Decompress(br)
	if err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	defer dr.Close()
	if err := archive.Extract(ctx, dr, dir, archive.Options{Whiteouts: archive.WhiteoutApply}); err != nil {
		return nil, invalidf("build context: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	ok = true
	return &buildContext{dir: dir, root: root}, nil
}

func (c *buildContext) close() {
	c.root.Close()
	os.RemoveAll(c.dir)
}

// readDockerfile reads the Dockerfile named by name, a path inside the
// context (the CLI puts a Dockerfile from elsewhere into the tar under a
// name of its own).
func (c *buildContext) readDockerfile(name string) ([]byte, error) {
	if name == "" {
		name = "Dockerfile"
	}
	rel := strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(name)), "/")
	b, err := c.root.ReadFile(rel)
	if errors.Is(err, fs.ErrNotExist) && name == "Dockerfile" {
		b, err = c.root.ReadFile("dockerfile")
	}
	if err != nil {
		return nil, invalidf("Cannot locate specified Dockerfile: %s", name)
	}
	return b, nil
}

// applyIgnore removes what .dockerignore excludes, as dockerd does: not
// every client filters the context, and COPY must not see those files.
// The Dockerfile and .dockerignore stay (dockerd keeps them too).
func (c *buildContext) applyIgnore(dockerfile string) error {
	f, err := c.root.Open(".dockerignore")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf(".dockerignore: %w", err)
	}
	patterns, err := ignorefile.ReadAll(f)
	f.Close()
	if err != nil {
		return invalidf(".dockerignore: %w", err)
	}
	if len(patterns) == 0 {
		return nil
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return invalidf(".dockerignore: %w", err)
	}
	keep := map[string]bool{".dockerignore": true, path.Clean(filepath.ToSlash(dockerfileName(dockerfile))): true}
	var remove []string
	err = fs.WalkDir(c.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." || keep[p] {
			return err
		}
		m, err := pm.MatchesOrParentMatches(p)
		if err != nil || !m {
			return err
		}
		if d.IsDir() && pm.Exclusions() {
			return nil // an exception may bring back something inside
		}
		remove = append(remove, p)
		if d.IsDir() {
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf(".dockerignore: %w", err)
	}
	for _, p := range remove {
		if err := c.root.RemoveAll(p); err != nil {
			return fmt.Errorf(".dockerignore: %w", err)
		}
	}
	return nil
}

func dockerfileName(name string) string {
	if name == "" {
		return "Dockerfile"
	}
	return strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(name)), "/")
}
