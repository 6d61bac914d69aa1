package builder

import (
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
	"strconv"
	"strings"

	"github.com/pier-engine/pier/internal/archive"
	"github.com/pier-engine/pier/internal/sys"
)

type owner struct{ uid, gid int }

// copier writes sources into a mounted rootfs through os.Root: no path
// of the destination resolves outside it.
type copier struct {
	ctx     context.Context
	src     *os.Root
	dst     *os.Root
	dstDir  string
	own     owner
	chmod   *fs.FileMode
	extract bool // ADD: local archives are unpacked
	// noChown: an unprivileged builder (the unit tests) cannot give
	// files away, so they keep its own owner.
	noChown bool
	// links, when set, hard-links a synced context's files instead of
	// copying them.
	links *linker
}

func (cp *copier) chown(rel string) error {
	if cp.noChown {
		return nil
	}
	if err := cp.dst.Lchown(rel, cp.own.uid, cp.own.gid); err != nil {
		return fmt.Errorf("chown %s: %w", "/"+rel, err)
	}
	return nil
}

// resolve follows the symlinks in rel as the container sees them (an
// absolute link starts again from its root, ".." stops at the root), so
// that os.Root, which refuses any link pointing out of it, gets a path
// without one: COPY into /var/run when it links to /run writes /run.
func (cp *copier) resolve(rel string) string {
	var done []string
	todo := strings.Split(rel, "/")
	for hops := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		cur := path.Join(append(append([]string{}, done...), c)...)
		fi, err := cp.dst.Lstat(cur)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 || hops >= 255 {
			done = append(done, c)
			continue
		}
		link, err := cp.dst.Readlink(cur)
		if err != nil {
			done = append(done, c)
			continue
		}
		hops++
		if path.IsAbs(link) {
			done = nil
		}
		todo = append(strings.Split(link, "/"), todo...)
	}
	if len(done) == 0 {
		return "."
	}
	return path.Join(done...)
}

func (cp *copier) copySource(s source, dest string, intoDir bool) error {
	d := cp.resolve(relPath(dest))
	if s.data != nil {
		target := d
		if intoDir || cp.isDir(d) {
			target = path.Join(d, path.Base(s.data.Path))
		}
		if err := cp.mkdirAll(path.Dir(target)); err != nil {
			return err
		}
		return cp.writeFile(target, strings.NewReader(s.data.Data), 0o644, nil)
	}
	if s.fi.IsDir() {
		if err := cp.mkdirAll(d); err != nil {
			return err
		}
		return cp.copyChildren(s.rel, d)
	}
	if cp.extract && !s.remote {
		if ok, err := cp.unpack(s.rel, d); ok || err != nil {
			return err
		}
	}
	target := d
	if intoDir || cp.isDir(d) {
		target = path.Join(d, path.Base(s.rel))
	}
	if err := cp.mkdirAll(path.Dir(target)); err != nil {
		return err
	}
	return cp.copyFile(s.rel, target, s.fi)
}

func (cp *copier) isDir(rel string) bool {
	fi, err := cp.dst.Stat(rel)
	return err == nil && fi.IsDir()
}

// mkdirAll creates the missing directories of rel, owned by the step's
// owner, as dockerd does for --chown.
func (cp *copier) mkdirAll(rel string) error {
	if rel == "." || rel == "" {
		return nil
	}
	if fi, err := cp.dst.Stat(rel); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s: not a directory", "/"+rel)
		}
		return nil
	}
	if err := cp.mkdirAll(path.Dir(rel)); err != nil {
		return err
	}
	if err := cp.dst.Mkdir(rel, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("mkdir %s: %w", "/"+rel, err)
	}
	return cp.chown(rel)
}

func (cp *copier) copyChildren(srcRel, dstRel string) error {
	ents, err := fs.ReadDir(cp.src.FS(), srcRel)
	if err != nil {
		return fmt.Errorf("read %s: %w", srcRel, err)
	}
	for _, e := range ents {
		if err := cp.ctx.Err(); err != nil {
			return err
		}
		s, d := path.Join(srcRel, e.Name()), path.Join(dstRel, e.Name())
		fi, err := cp.src.Lstat(s)
		if err != nil {
			return err
		}
		if err := cp.copyEntry(s, d, fi); err != nil {
			return err
		}
	}
	return nil
}

func (cp *copier) copyEntry(s, d string, fi fs.FileInfo) error {
	switch {
	case fi.IsDir():
		if !cp.isDir(d) {
			_ = cp.dst.RemoveAll(d)
			if err := cp.dst.Mkdir(d, 0o755); err != nil {
				return fmt.Errorf("mkdir %s: %w", "/"+d, err)
			}
		}
		if err := cp.copyChildren(s, d); err != nil {
			return err
		}
		return cp.attrs(d, fi)
	case fi.Mode()&fs.ModeSymlink != 0:
		link, err := cp.src.Readlink(s)
		if err != nil {
			return err
		}
		if err := cp.replace(d); err != nil {
			return err
		}
		if err := cp.dst.Symlink(link, d); err != nil {
			return fmt.Errorf("symlink %s: %w", "/"+d, err)
		}
		return cp.chown(d)
	case fi.Mode().IsRegular():
		return cp.copyFile(s, d, fi)
	}
	return nil // device nodes, fifos and sockets are not copied
}

// replace clears the way for a new non-directory at d.
func (cp *copier) replace(d string) error {
	fi, err := cp.dst.Lstat(d)
	if err != nil {
		if cp.links != nil {
			// A file this step linked into the upper directory is not
			// seen by the overlay.
			cp.links.unlink(d)
		}
		return nil
	}
	if fi.IsDir() {
		return fmt.Errorf("cannot overwrite directory %s with a file", "/"+d)
	}
	return cp.dst.Remove(d)
}

func (cp *copier) copyFile(s, d string, fi fs.FileInfo) error {
	if cp.links != nil && cp.links.link(cp, s, d, fi) {
		return nil
	}
	f, err := cp.src.Open(s)
	if err != nil {
		return err
	}
	defer f.Close()
	return cp.writeFile(d, f, fi.Mode(), fi)
}

func (cp *copier) writeFile(d string, r io.Reader, mode fs.FileMode, fi fs.FileInfo) error {
	if err := cp.replace(d); err != nil {
		return err
	}
	w, err := cp.dst.OpenFile(d, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", "/"+d, err)
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return fmt.Errorf("write %s: %w", "/"+d, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("write %s: %w", "/"+d, err)
	}
	if fi == nil {
		return cp.setMode(d, mode)
	}
	return cp.attrs(d, fi)
}

// attrs gives d the step's owner, the source's mode (or --chmod) and
// modification time.
func (cp *copier) attrs(d string, fi fs.FileInfo) error {
	if err := cp.chown(d); err != nil {
		return err
	}
	if err := cp.setMode(d, fi.Mode()); err != nil {
		return err
	}
	return cp.dst.Chtimes(d, fi.ModTime(), fi.ModTime())
}

func (cp *copier) setMode(d string, mode fs.FileMode) error {
	if err := cp.chown(d); err != nil {
		return err
	}
	m := mode & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	if cp.chmod != nil {
		m = unixMode(*cp.chmod)
	}
	if err := cp.dst.Chmod(d, m); err != nil {
		return fmt.Errorf("chmod %s: %w", "/"+d, err)
	}
	return nil
}

// unixMode turns 0o4755 style bits into a FileMode.
func unixMode(m fs.FileMode) fs.FileMode {
	out := m & fs.ModePerm
	if m&0o4000 != 0 {
		out |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		out |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		out |= fs.ModeSticky
	}
	return out
}

// unpack extracts s into directory d when it is a tar archive (plain,
// gzip, bzip2, xz or zstd), as ADD does with local archives.
func (cp *copier) unpack(s, d string) (bool, error) {
	f, err := cp.src.Open(s)
	if err != nil {
		return false, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	r, closeR, ok := decompressor(br)
	if !ok {
		return false, nil
	}
	defer closeR()
	tr := bufio.NewReaderSize(r, 64<<10)
	hdr, err := tr.Peek(512)
	if err != nil || !isTarHeader(hdr) {
		if _, serr := f.Seek(0, io.SeekStart); serr != nil {
			return false, serr
		}
		return false, nil
	}
	if err := cp.mkdirAll(d); err != nil {
		return true, err
	}
	host := filepath.Join(cp.dstDir, filepath.FromSlash(d))
	if err := archive.Extract(cp.ctx, tr, host, archive.Options{Whiteouts: archive.WhiteoutApply}); err != nil {
		return true, fmt.Errorf("ADD %s: %w", s, err)
	}
	return true, nil
}

// isTarHeader checks a header block's checksum, as tar readers do.
func isTarHeader(b []byte) bool {
	if len(b) < 512 {
		return false
	}
	want, err := strconv.ParseUint(strings.TrimRight(strings.TrimSpace(string(b[148:156])), "\x00 "), 8, 32)
	if err != nil {
		return false
	}
	var sum uint64
	for i, c := range b[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += uint64(c)
	}
	return sum == want
}

// hashSources digests what the step copies (names, modes, owners, link
// targets, content; not times) and extra: the cache key of COPY and ADD, shown as
// file:, dir: or multi: as dockerd shows it.
func hashSources(root *os.Root, sums map[string]fileSum, srcs []source, extra string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00", extra)
	for _, s := range srcs {
		if s.data != nil {
			fmt.Fprintf(h, "heredoc %s %d\x00%s", s.data.Path, len(s.data.Data), s.data.Data)
			continue
		}
		err := fs.WalkDir(root.FS(), s.rel, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := root.Lstat(p)
			if p == s.rel {
				fi, err = root.Stat(p)
			}
			if err != nil {
				return err
			}
			rel := strings.TrimPrefix(strings.TrimPrefix(p, s.rel), "/")
			// Not the mtime: the same bytes touched again hit the cache,
			// as with dockerd.
			fmt.Fprintf(h, "%s\x00%o\x00%d\x00", rel, fi.Mode(), fi.Size())
			if uid, gid, ok := sys.Owner(fi); ok {
				fmt.Fprintf(h, "%d:%d\x00", uid, gid)
			}
			switch {
			case fi.Mode()&fs.ModeSymlink != 0:
				link, _ := root.Readlink(p)
				fmt.Fprintf(h, "%s\x00", link)
			case fi.Mode().IsRegular():
				if s, ok := sums[p]; ok && s.size == fi.Size() {
					fmt.Fprintf(h, "%s\x00", s.hex)
					return nil
				}
				f, err := root.Open(p)
				if err != nil {
					return err
				}
				_, err = io.Copy(h, f)
				f.Close()
				return err
			}
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("hash %s: %w", s.rel, err)
		}
	}
	sum := hex.EncodeToString(h.Sum(nil))
	switch {
	case len(srcs) == 1 && srcs[0].fi != nil && srcs[0].fi.IsDir():
		return "dir:" + sum, nil
	case len(srcs) == 1:
		return "file:" + sum, nil
	}
	return "multi:" + sum, nil
}

// resolveOwner reads --chown: numbers, or names looked up in the
// image's /etc/passwd and /etc/group.
func resolveOwner(root *os.Root, spec string) (owner, error) {
	if spec == "" {
		return owner{}, nil
	}
	u, g, hasGroup := strings.Cut(spec, ":")
	if !hasGroup {
		g = u
	}
	uid, err := lookupID(root, "etc/passwd", u, 2)
	if err != nil {
		return owner{}, fmt.Errorf("unable to convert uid/gid chown string to host mapping: %w", err)
	}
	gid, err := lookupID(root, "etc/group", g, 2)
	if err != nil {
		if !hasGroup {
			gid = uid
		} else {
			return owner{}, fmt.Errorf("unable to convert uid/gid chown string to host mapping: %w", err)
		}
	}
	return owner{uid: uid, gid: gid}, nil
}

func lookupID(root *os.Root, file, name string, field int) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	b, err := root.ReadFile(file)
	if err != nil {
		return 0, fmt.Errorf("can't find uid for user %s: no such user: %s", name, name)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) > field && f[0] == name {
			return strconv.Atoi(f[field])
		}
	}
	return 0, fmt.Errorf("can't find uid for user %s: no such user: %s", name, name)
}
