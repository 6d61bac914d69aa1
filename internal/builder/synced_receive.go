package builder

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/pier-engine/pier/internal/trace"
)

// maxListing bounds a listing's entries.
const maxListing = 1 << 20

// checkListing validates a client's listing and returns it sorted, each
// directory before what it holds. A path must be relative, clean, free
// of ".." and NUL, and below directories of the listing (never below a
// symlink, which could lead out of the context); types other than
// directory, regular file and symlink are refused.
func checkListing(files []SyncFile) ([]SyncFile, error) {
	if len(files) > maxListing {
		return nil, invalidf("build context listing: %d entries, more than %d", len(files), maxListing)
	}
	out := slices.Clone(files)
	slices.SortFunc(out, func(a, b SyncFile) int { return strings.Compare(a.Path, b.Path) })
	dirs := map[string]bool{".": true}
	for i, f := range out {
		bad := func(why string) error {
			return invalidf("build context listing: %q: %s", f.Path, why)
		}
		switch {
		case f.Path == "" || f.Path == "." || strings.ContainsRune(f.Path, 0):
			return nil, bad("not a file name")
		case path.IsAbs(f.Path) || strings.HasPrefix(f.Path, "\\"):
			return nil, bad("absolute path")
		case path.Clean(f.Path) != f.Path:
			return nil, bad("not a clean path")
		case f.Path == ".." || strings.HasPrefix(f.Path, "../"):
			return nil, bad("outside the context")
		case i > 0 && out[i-1].Path == f.Path:
			return nil, bad("listed twice")
		case !dirs[path.Dir(f.Path)]:
			return nil, bad("its directory is not listed as one")
		case f.Size < 0:
			return nil, bad("negative size")
		case f.Mode&^(modeType|0o7777) != 0:
			return nil, bad("unknown mode bits")
		}
		switch f.Mode & modeType {
		case modeDir:
			dirs[f.Path] = true
		case modeReg:
		case modeLink:
			if f.Link == "" || strings.ContainsRune(f.Link, 0) {
				return nil, bad("symlink without a target")
			}
			continue
		default:
			return nil, bad("not a directory, regular file or symlink")
		}
		if f.Link != "" {
			return nil, bad("link target on a non-symlink")
		}
	}
	return out, nil
}

// receive makes session id's generation: the listing's directories and
// symlinks made, unchanged files linked from the base generation, the
// needed ones read from the tar r (and digested on the way). The
// generation is not published; on error nothing of it is left.
func (c *Contexts) receive(ctx context.Context, id string, r io.Reader) (_ *generation, err error) {
	s, err := c.take(id)
	if err != nil {
		return nil, err
	}
	defer c.release(s.base)
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	g := &generation{key: s.key, name: "gen-" + hex.EncodeToString(b), files: make(map[string]syncEntry, len(s.files))}
	if err := c.root.Mkdir(g.name, 0o700); err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	name := g.name
	defer func() {
		if err != nil {
			_ = c.root.RemoveAll(name)
		}
	}()
	linked := 0
	for _, f := range s.files {
		p := g.name + "/" + f.Path
		switch f.Mode & modeType {
		case modeDir:
			err = c.root.Mkdir(p, 0o700)
		case modeLink:
			err = c.root.Symlink(f.Link, p)
		case modeReg:
			if s.need[f.Path] {
				continue // from the tar
			}
			err = c.root.Link(s.base.name+"/"+f.Path, p)
			if err != nil {
				return nil, fmt.Errorf("build context: %s: %w", f.Path, err)
			}
			g.files[f.Path] = s.base.files[f.Path]
			linked++
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("build context: %s: %w", f.Path, err)
		}
		g.files[f.Path] = syncEntry{SyncFile: f}
	}
	n, bytes, err := c.readFiles(ctx, g, s, r)
	if err != nil {
		return nil, err
	}
	if err := c.setDirAttrs(g, s.files); err != nil {
		return nil, err
	}
	trace.Mark("build", fmt.Sprintf("context synced: %d linked, %d received, %d bytes", linked, n, bytes))
	return g, nil
}

// readFiles writes the needed files from the tar r into g. Each must come
// once, as a regular file; anything else in the tar is an error.
func (c *Contexts) readFiles(ctx context.Context, g *generation, s *syncSession, r io.Reader) (int, int64, error) {
	want := make(map[string]SyncFile, len(s.need))
	for _, f := range s.files {
		if s.need[f.Path] {
			want[f.Path] = f
		}
	}
	tr := tar.NewReader(r)
	got := 0
	var total int64
	buf := make([]byte, 256<<10)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, 0, invalidf("build context: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		name := hdr.Name
		if !s.need[name] || hdr.Typeflag != tar.TypeReg {
			return 0, 0, invalidf("build context: %q was not asked for", name)
		}
		if _, done := g.files[name]; done {
			return 0, 0, invalidf("build context: %q sent twice", name)
		}
		e, err := c.writeFile(g.name+"/"+name, tr, want[name], buf)
		if err != nil {
			return 0, 0, fmt.Errorf("build context: %s: %w", name, err)
		}
		g.files[name] = e
		got++
		total += e.Size
		c.received.Add(e.Size)
	}
	if got != len(s.need) {
		for p := range s.need {
			if _, ok := g.files[p]; !ok {
				return 0, 0, invalidf("build context: %q was not sent", p)
			}
		}
	}
	return got, total, nil
}

// writeFile creates p, listed as l, from the tar entry r. Its mode and
// time are the listing's; its size is what came, so a file that changed
// between the listing and the tar differs at the next sync.
func (c *Contexts) writeFile(p string, r io.Reader, l SyncFile, buf []byte) (syncEntry, error) {
	f, err := c.root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return syncEntry{}, err
	}
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(f, h), r, buf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return syncEntry{}, err
	}
	if err := c.root.Chmod(p, fileMode(l.Mode&0o7777)); err != nil {
		return syncEntry{}, err
	}
	t := time.Unix(0, l.Mtime)
	if err := c.root.Chtimes(p, t, t); err != nil {
		return syncEntry{}, err
	}
	l.Size = n
	return syncEntry{SyncFile: l, sum: hex.EncodeToString(h.Sum(nil))}, nil
}

// setDirAttrs gives directories their mode and time once their entries
// are in, deepest first.
func (c *Contexts) setDirAttrs(g *generation, files []SyncFile) error {
	for i := len(files) - 1; i >= 0; i-- {
		f := files[i]
		if f.Mode&modeType != modeDir {
			continue
		}
		p := g.name + "/" + f.Path
		if err := c.root.Chmod(p, fileMode(f.Mode&0o7777)|fs.ModeDir); err != nil {
			return fmt.Errorf("build context: %s: %w", f.Path, err)
		}
		t := time.Unix(0, f.Mtime)
		if err := c.root.Chtimes(p, t, t); err != nil {
			return fmt.Errorf("build context: %s: %w", f.Path, err)
		}
	}
	return nil
}

// fileMode turns st_mode permission bits into a FileMode.
func fileMode(m uint32) fs.FileMode { return unixMode(fs.FileMode(m)) }

// syncedContext opens g as a build's context; its sums come from the
// generation, so nothing is read again.
func (c *Contexts) syncedContext(g *generation) (*buildContext, error) {
	root, err := c.root.OpenRoot(g.name)
	if err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	sums := make(map[string]fileSum, len(g.files))
	for p, e := range g.files {
		if e.Mode&modeType == modeReg {
			sums[p] = fileSum{size: e.Size, hex: e.sum}
		}
	}
	return &buildContext{dir: c.path(g), root: root, sums: sums, synced: g, contexts: c}, nil
}

// drop forgets the entries .dockerignore removed from g before it is
// published: the next sync sends them again if they are listed.
func (g *generation) drop(removed []string) {
	for _, r := range removed {
		for p := range g.files {
			if p == r || strings.HasPrefix(p, r+"/") {
				delete(g.files, p)
			}
		}
	}
}
