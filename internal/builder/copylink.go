package builder

import (
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pier-engine/pier/internal/sys"
)

// upperEngine is an Engine that tells where a mounted layer's upper
// directory lies, so that COPY can hard-link a synced context's files
// into it instead of copying them through the overlay.
type upperEngine interface {
	UpperDir(id string) (string, error)
}

// linker puts a synced context's regular files into a COPY step's
// writable layer by hard link: no data is copied. That is sound because
// a synced generation's files are never written in place (a change is a
// new inode in a new generation), the step's layer is unmounted and
// removed right after its commit (never a kept container's), and a link
// is made only where a copy would give the same inode attributes: the
// owner the step asks for is the file's, no --chmod (mode and time are
// the source's either way).
type linker struct {
	srcDir string             // the generation's directory on the host
	sums   map[string]fileSum // its regular files, by name
	upper  string             // the step layer's upper directory
}

// link tries to link source s (a file of the generation, fi its stat)
// to d in the layer; false means nothing was changed and the caller
// copies instead.
func (l *linker) link(cp *copier, s, d string, fi os.FileInfo) bool {
	if sum, ok := l.sums[s]; !ok || sum.size != fi.Size() || cp.chmod != nil {
		return false
	}
	// An unprivileged builder (the unit tests) copies with its own
	// owner, which the generation's files have too.
	if uid, gid, ok := sys.Owner(fi); !ok || (!cp.noChown && (int(uid) != cp.own.uid || int(gid) != cp.own.gid)) {
		return false
	}
	if st, err := cp.dst.Lstat(d); err == nil && st.IsDir() {
		return false // the copy says why it cannot overwrite a directory
	}
	parent := path.Dir(d)
	if !l.upperDir(parent) {
		// The parent is the image's: a change of its times (to the same
		// times) copies it up into the upper directory.
		st, err := cp.dst.Stat(parent)
		if err != nil || !st.IsDir() {
			return false
		}
		if cp.dst.Chtimes(parent, st.ModTime(), st.ModTime()) != nil || !l.upperDir(parent) {
			return false
		}
	}
	up := filepath.Join(l.upper, filepath.FromSlash(d))
	if st, err := os.Lstat(up); err == nil {
		if st.IsDir() || os.Remove(up) != nil {
			return false
		}
	}
	return os.Link(filepath.Join(l.srcDir, filepath.FromSlash(s)), up) == nil
}

// unlink removes what link put at d, if anything.
func (l *linker) unlink(d string) {
	if !l.upperDir(path.Dir(d)) {
		return
	}
	// Only a regular file: a whiteout (a character device) hides a
	// file of the image and must stay.
	up := filepath.Join(l.upper, filepath.FromSlash(d))
	if st, err := os.Lstat(up); err == nil && st.Mode().IsRegular() {
		_ = os.Remove(up)
	}
}

// upperDir reports whether rel is a directory in the upper directory
// with no symlink on the way: a link there cannot land anywhere else.
func (l *linker) upperDir(rel string) bool {
	p := l.upper
	if rel == "." {
		return true
	}
	for _, c := range strings.Split(rel, "/") {
		p = filepath.Join(p, c)
		st, err := os.Lstat(p)
		if err != nil || !st.IsDir() {
			return false
		}
	}
	return true
}
