package builder

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// copyStep is a COPY or an ADD.
type copyStep struct {
	name     string
	sd       instructions.SourcesAndDest
	from     string
	chown    string
	chmod    string
	cmd      instructions.Command
	add      bool
	link     bool
	parents  bool
	exclude  []string
	checksum string
}

// source is one file or tree to copy.
type source struct {
	rel    string // in the source root
	fi     fs.FileInfo
	data   *instructions.SourceContent // a heredoc instead of a file
	remote bool                        // downloaded: never extracted
}

func (bd *build) copyStep(st *stage, c copyStep) error {
	switch {
	case c.link, c.parents, len(c.exclude) > 0, c.checksum != "":
		return located(c.cmd, fmt.Errorf("--link, --parents, --exclude and --checksum require BuildKit"))
	}
	root := bd.files.root
	memo := ""
	if c.from != "" {
		image, err := bd.fromImage(c.from)
		if err != nil {
			return located(c.cmd, err)
		}
		// The sources' hash in an image is known from an earlier build:
		// a cached step needs no mount of it.
		memo = fromKey(image, c)
		if hash := bd.cache.getFrom(memo); hash != "" && memo != "" {
			if hit, err := bd.cached(st, copyProbe(st, c, hash)); err != nil || hit {
				return err
			}
		}
		r, mnt, err := bd.mountRoot(image)
		if err != nil {
			return located(c.cmd, err)
		}
		defer func() {
			r.Close()
			bd.release(mnt)
		}()
		root = r
	}
	srcs, fetched, err := bd.sources(root, c)
	if fetched != "" {
		// Downloads sit in the context only for this step.
		defer bd.files.root.RemoveAll(fetched)
	}
	if err != nil {
		return err
	}
	dest := c.sd.DestPath
	destIsDir := strings.HasSuffix(dest, "/") || dest == "." || strings.HasSuffix(dest, "/.")
	if !path.IsAbs(dest) {
		wd := st.run.WorkingDir
		if wd == "" {
			wd = "/"
		}
		dest = path.Join(wd, dest)
	}
	dest = path.Clean(dest)
	if len(srcs) > 1 && !destIsDir {
		return located(c.cmd, fmt.Errorf("When using %s with more than one source file, the destination must be a directory and end with a /", c.name))
	}
	var sums map[string]fileSum
	if c.from == "" {
		sums = bd.files.sums
	}
	hash, err := hashSources(root, sums, srcs, c.chown+" "+c.chmod)
	if err != nil {
		return err
	}
	if memo != "" {
		_ = bd.cache.putFrom(memo, hash) // only a shortcut: a lost one costs a mount
	}
	probe := copyProbe(st, c, hash)
	if hit, err := bd.cached(st, probe); err != nil || hit {
		return err
	}
	id, dir, err := bd.engine.Mount(bd.ctx, st.image)
	if err != nil {
		return err
	}
	bd.cleanup = append(bd.cleanup, id)
	dst, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", c.name, err)
	}
	defer dst.Close()
	cp := &copier{ctx: bd.ctx, src: root, dst: dst, dstDir: dir, extract: c.add && c.from == "", noChown: os.Geteuid() != 0}
	if cp.own, err = resolveOwner(dst, c.chown); err != nil {
		return located(c.cmd, err)
	}
	if c.chmod != "" {
		m, err := strconv.ParseUint(c.chmod, 8, 32)
		if err != nil || m > 0o7777 {
			return located(c.cmd, fmt.Errorf("invalid chmod parameter: %q", c.chmod))
		}
		mode := fs.FileMode(m)
		cp.chmod = &mode
	}
	if ue, ok := bd.engine.(upperEngine); ok && c.from == "" && bd.files.synced != nil {
		if upper, err := ue.UpperDir(id); err == nil {
			cp.links = &linker{srcDir: bd.files.dir, sums: bd.files.sums, upper: upper}
		}
	}
	for _, s := range srcs {
		if err := cp.copySource(s, dest, destIsDir || len(srcs) > 1); err != nil {
			return located(c.cmd, err)
		}
	}
	if err := bd.commit(st, probe, id); err != nil {
		return err
	}
	dst.Close() // an open root would keep the layer from unmounting
	bd.release(id)
	bd.printf(" ---> %s\n", shortID(st.image))
	return nil
}

// copyProbe is the step's cache probe, dockerd 20.10's record: the flags
// glued to the sources' hash, the destination as written.
func copyProbe(st *stage, c copyStep, hash string) v1.Config {
	flags := ""
	if c.chown != "" {
		flags += "--chown=" + c.chown
	}
	if c.chmod != "" {
		flags += "--chmod=" + c.chmod
	}
	return st.probe(st.nopString(fmt.Sprintf("%s %s%s in %s ", c.name, flags, hash, c.sd.DestPath)))
}

// fromKey names what COPY --from hashes: the same paths and flags in the
// same image (an id fixes its content) always hash alike. "" when the
// step has heredocs.
func fromKey(image string, c copyStep) string {
	if len(c.sd.SourceContents) > 0 {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s %s", image, c.name, c.chown, c.chmod)
	for _, p := range c.sd.SourcePaths {
		fmt.Fprintf(h, "\x00%s", p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// fromImage resolves COPY --from: an earlier stage's image or an image.
func (bd *build) fromImage(from string) (string, error) {
	image := ""
	if prev := bd.stageNamed(from); prev != nil {
		image = prev.image
	} else if i, err := strconv.Atoi(from); err == nil {
		// An index names a stage, never an image (dockerd's rule).
		if i == len(bd.stages) {
			return "", fmt.Errorf("invalid from flag value %s: refers to current build stage", from)
		}
		return "", fmt.Errorf("invalid from flag value %s: index out of bounds", from)
	} else {
		id, _, err := bd.engine.Image(bd.ctx, from, false, bd.opts.Platform)
		if err != nil {
			return "", fmt.Errorf("invalid from flag value %s: %w", from, err)
		}
		image = id
	}
	return image, nil
}

// mountRoot opens the files of image for COPY --from, mounted read-write
// for the step and removed with the build's containers.
func (bd *build) mountRoot(image string) (*os.Root, string, error) {
	id, dir, err := bd.engine.Mount(bd.ctx, image)
	if err != nil {
		return nil, "", err
	}
	bd.cleanup = append(bd.cleanup, id)
	r, err := os.OpenRoot(dir)
	return r, id, err
}

// sources resolves the step's source paths (wildcards too) in root. ADD
// downloads a URL into a directory of the context (returned, for the step
// to remove), as dockerd does: mode 0600, its Last-Modified as mtime.
func (bd *build) sources(root *os.Root, c copyStep) ([]source, string, error) {
	var out []source
	fetched := ""
	for _, p := range c.sd.SourcePaths {
		if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
			if !c.add {
				return nil, fetched, located(c.cmd, fmt.Errorf("source can't be a URL for COPY"))
			}
			if fetched == "" {
				// Unique: a synced context is shared by the builds of
				// its generation.
				b := make([]byte, 8)
				_, _ = rand.Read(b)
				fetched = fmt.Sprintf(".pier-add-%d-%x", bd.step, b)
			}
			src, err := bd.fetch(p, fetched, c)
			if err != nil {
				return nil, fetched, err
			}
			out = append(out, src)
			continue
		}
		if strings.Contains(p, "://") {
			return nil, fetched, located(c.cmd, fmt.Errorf("source %s: only http and https URLs are supported", p))
		}
		rel := relPath(p)
		if strings.ContainsAny(rel, "*?[") {
			matches, err := fs.Glob(root.FS(), rel)
			if err != nil {
				return nil, fetched, located(c.cmd, err)
			}
			for _, m := range matches {
				fi, err := root.Stat(m)
				if err != nil {
					continue
				}
				out = append(out, source{rel: m, fi: fi})
			}
			if len(matches) == 0 {
				return nil, fetched, notFound(c.name, p)
			}
			continue
		}
		fi, err := root.Stat(rel)
		if err != nil {
			return nil, fetched, notFound(c.name, p)
		}
		out = append(out, source{rel: rel, fi: fi})
	}
	for i := range c.sd.SourceContents {
		sc := c.sd.SourceContents[i]
		out = append(out, source{rel: sc.Path, data: &sc})
	}
	return out, fetched, nil
}

// fetch downloads url into dir of the context, named as its last path
// element.
func (bd *build) fetch(url, dir string, c copyStep) (source, error) {
	name := path.Base(strings.SplitN(strings.SplitN(url, "?", 2)[0], "#", 2)[0])
	if name == "" || name == "." || name == "/" || strings.HasSuffix(url, "/") || strings.Count(url, "/") < 3 {
		if strings.HasSuffix(c.sd.DestPath, "/") {
			return source{}, located(c.cmd, fmt.Errorf("cannot determine filename from url: %s", url))
		}
		name = "download"
	}
	if err := bd.files.root.MkdirAll(dir, 0o700); err != nil {
		return source{}, fmt.Errorf("ADD %s: %w", url, err)
	}
	rel := path.Join(dir, name)
	f, err := bd.files.root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return source{}, fmt.Errorf("ADD %s: %w", url, err)
	}
	mtime, err := bd.engine.Fetch(bd.ctx, url, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return source{}, located(c.cmd, err)
	}
	if err := bd.files.root.Chmod(rel, 0o600); err != nil {
		return source{}, err
	}
	if !mtime.IsZero() {
		if err := bd.files.root.Chtimes(rel, mtime, mtime); err != nil {
			return source{}, err
		}
	}
	fi, err := bd.files.root.Stat(rel)
	if err != nil {
		return source{}, err
	}
	return source{rel: rel, fi: fi, remote: true}, nil
}

func notFound(verb, p string) error {
	return invalidf("%s failed: file not found in build context or excluded by .dockerignore: stat %s: file does not exist", verb, p)
}

// relPath is p inside a root: "." for the root itself.
func relPath(p string) string {
	r := strings.TrimPrefix(path.Clean("/"+p), "/")
	if r == "" {
		return "."
	}
	return r
}

// mkdirIn creates directory p (absolute, in the container) under the
// mounted rootfs dir.
func mkdirIn(dir, p string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	rel := relPath(p)
	if rel == "." {
		return nil
	}
	if err := root.MkdirAll(rel, 0o755); err != nil {
		return fmt.Errorf("mkdir %s: %w", p, err)
	}
	return nil
}
