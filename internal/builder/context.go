package builder

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/pier-engine/pier/internal/archive"
	"github.com/pier-engine/pier/internal/decompress"
)

// buildContext is the build's files: the client's tar extracted into a
// private directory, .dockerignore applied.
type buildContext struct {
	dir  string
	root *os.Root
	// sums are the sha256 of the regular files, by clean relative name,
	// computed while the tar was extracted so COPY's cache key does not
	// read them again.
	sums map[string]fileSum
	// synced is the generation of a synced context (nil for an
	// extracted tar): shared, so close gives it back instead of removing
	// it, and published once .dockerignore was applied.
	synced    *generation
	contexts  *Contexts
	published bool
}

// chunk is how much of the context the extraction hands to the hashing
// at a time.
const chunk = 1 << 20

// pipeBufs are the buffers of one context's hand-over, kept between
// builds: a rebuild of a small context would spend more time getting
// three fresh megabytes than reading its files.
type pipeBufs struct {
	r    *bufio.Reader
	w    *bufio.Writer
	copy []byte
}

var chunkBufs = sync.Pool{New: func() any {
	return &pipeBufs{r: bufio.NewReaderSize(nil, chunk), w: bufio.NewWriterSize(nil, chunk), copy: make([]byte, chunk)}
}}

type fileSum struct {
	size int64
	hex  string
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
	dr, err := decompress.Open(br)
	if err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	defer dr.Close()
	// The stream is read once: extracted here and, on the other core,
	// hashed file by file. Both ends of the pipe are buffered so that a
	// megabyte changes hands at a time: handing over each read of the
	// socket kept the two sides in lockstep.
	pr, pw := io.Pipe()
	sums := make(chan map[string]fileSum, 1)
	bufs := chunkBufs.Get().(*pipeBufs)
	defer func() {
		bufs.r.Reset(nil)
		bufs.w.Reset(nil)
		chunkBufs.Put(bufs)
	}()
	bufs.r.Reset(pr)
	bufs.w.Reset(pw)
	go func() { sums <- hashTar(bufs.r, bufs.copy) }()
	bw := bufs.w
	tee := io.TeeReader(dr, bw)
	err = archive.Extract(ctx, tee, dir, archive.Options{Whiteouts: archive.WhiteoutApply})
	if err == nil {
		_, err = io.Copy(io.Discard, tee) // the tar's end blocks
	}
	if err == nil {
		err = bw.Flush()
	}
	pw.CloseWithError(err)
	fileSums := <-sums
	if err != nil {
		return nil, invalidf("build context: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	ok = true
	return &buildContext{dir: dir, root: root, sums: fileSums}, nil
}

// hashTar digests each regular file of the tar r; it reads r to its end
// whatever happens, so the extraction feeding it never blocks.
func hashTar(r io.Reader, buf []byte) map[string]fileSum {
	defer io.Copy(io.Discard, r)
	sums := map[string]fileSum{}
	// A name under a symlink of the tar is not where its file lands: it
	// gets no sum, and a symlink voids those below its name.
	links := map[string]bool{}
	underLink := func(name string) bool {
		for d := path.Dir(name); d != "." && d != "/"; d = path.Dir(d) {
			if links[d] {
				return true
			}
		}
		return false
	}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err != nil {
			return sums
		}
		name := strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
		if hdr.Typeflag == tar.TypeSymlink {
			links[name] = true
			for k := range sums {
				if strings.HasPrefix(k, name+"/") {
					delete(sums, k)
				}
			}
		}
		if underLink(name) {
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeReg:
			h := sha256.New()
			n, err := io.CopyBuffer(h, tr, buf)
			if err != nil {
				return sums
			}
			sums[name] = fileSum{size: n, hex: hex.EncodeToString(h.Sum(nil))}
		case tar.TypeLink:
			target := strings.TrimPrefix(path.Clean("/"+hdr.Linkname), "/")
			if s, ok := sums[target]; ok {
				sums[name] = s
			} else {
				delete(sums, name)
			}
		default:
			delete(sums, name) // replaced by something else
		}
	}
}

func (c *buildContext) close() {
	c.root.Close()
	switch {
	case c.synced == nil:
		os.RemoveAll(c.dir)
	case c.published:
		c.contexts.release(c.synced)
	default:
		_ = c.contexts.root.RemoveAll(c.synced.name)
	}
}

// ready publishes a synced context's generation once .dockerignore has
// taken what it excludes out of it (removed): later syncs start from it.
func (c *buildContext) ready(removed []string) {
	if c.synced == nil || c.published {
		return
	}
	c.synced.drop(removed)
	c.contexts.publish(c.synced)
	c.published = true
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
// It runs after the Dockerfile was read: an ignored Dockerfile or
// .dockerignore goes too (the CLI sends them anyway), as with dockerd.
// It returns the paths it removed.
func (c *buildContext) applyIgnore(dockerfile string) ([]string, error) {
	f, err := c.root.Open(".dockerignore")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	patterns, err := ignorefile.ReadAll(f)
	f.Close()
	if err != nil {
		return nil, invalidf(".dockerignore: %w", err)
	}
	if len(patterns) == 0 {
		return nil, nil
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, invalidf(".dockerignore: %w", err)
	}
	var remove []string
	err = fs.WalkDir(c.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
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
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	for _, p := range remove {
		if err := c.root.RemoveAll(p); err != nil {
			return nil, fmt.Errorf(".dockerignore: %w", err)
		}
	}
	return remove, nil
}
