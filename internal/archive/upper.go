package archive

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ChangeKind is what docker diff prints: A, C or D.
type ChangeKind int

// The kinds of docker diff, with the API's numbers.
const (
	Modified ChangeKind = iota
	Added
	Deleted
)

// Change is one entry of docker diff.
type Change struct {
	Path string // absolute, as in the container
	Kind ChangeKind
}

// Upper reads the writable (upper) directory of an overlay mount: what a
// container changed on top of its image's layers. Lower lists the layer
// directories below it, topmost first, in overlay form.
type Upper struct {
	Dir   string
	Lower []string
	// Skip leaves out entries the runtime made, not the container
	// (mount points such as /etc/hosts); it gets the path relative to Dir.
	Skip func(rel string, fi fs.FileInfo) bool
}

// entry is one visible change in the upper directory.
type entry struct {
	rel      string
	whiteout bool // a deleted file: a 0:0 character device
	opaque   bool // a directory that hides what is below it
}

// walk lists the entries of the upper directory worth recording, parents
// before children: a directory only copied up to hold a skipped entry is
// left out.
func (u Upper) walk() ([]entry, error) {
	var out []entry
	// visit reports whether rel holds anything recorded, and whether it
	// held something skipped.
	var visit func(rel string) (bool, bool, error)
	visit = func(rel string) (bool, bool, error) {
		names, err := readDirNames(filepath.Join(u.Dir, rel))
		if err != nil {
			return false, false, err
		}
		any, skipped := false, false
		for _, name := range names {
			crel := path.Join(rel, name)
			fi, err := os.Lstat(filepath.Join(u.Dir, crel))
			if err != nil {
				return false, false, err
			}
			if u.Skip != nil && u.Skip(crel, fi) {
				skipped = true
				continue
			}
			if isWhiteout(fi) {
				out = append(out, entry{rel: crel, whiteout: true})
				any = true
				continue
			}
			if !fi.IsDir() {
				out = append(out, entry{rel: crel})
				any = true
				continue
			}
			opaque := isOpaque(filepath.Join(u.Dir, crel))
			at := len(out)
			out = append(out, entry{rel: crel, opaque: opaque})
			sub, subSkipped, err := visit(crel)
			if err != nil {
				return false, false, err
			}
			// A directory only copied up, or made, to hold what is
			// skipped is no change.
			if !sub && !opaque && (subSkipped || u.sameAsLower(crel, fi)) {
				out = append(out[:at], out[at+1:]...)
				skipped = skipped || subSkipped
				continue
			}
			any = true
		}
		return any, skipped, nil
	}
	if _, _, err := visit(""); err != nil {
		return nil, fmt.Errorf("read %s: %w", u.Dir, err)
	}
	return out, nil
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	sort.Strings(names)
	return names, err
}

func isWhiteout(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	return fi.Mode()&fs.ModeCharDevice != 0 && st.Rdev == 0
}

func isOpaque(dir string) bool {
	buf := make([]byte, 4)
	for _, attr := range []string{opaqueXattr, userOpaqueXattr} {
		if n, err := unix.Lgetxattr(dir, attr, buf); err == nil && string(buf[:n]) == "y" {
			return true
		}
	}
	return false
}

// lowerStat finds rel in the layers below, topmost first; a whiteout or
// an opaque directory on the way ends the search.
func (u Upper) lowerStat(rel string) (fs.FileInfo, bool) {
	for _, l := range u.Lower {
		fi, err := os.Lstat(filepath.Join(l, rel))
		if err == nil {
			if isWhiteout(fi) {
				return nil, false
			}
			return fi, true
		}
		if parent := path.Dir(rel); parent != "." && isOpaque(filepath.Join(l, parent)) {
			return nil, false
		}
	}
	return nil, false
}

// sameAsLower says whether directory rel has the same mode and owner as
// the directory of that name below.
func (u Upper) sameAsLower(rel string, fi fs.FileInfo) bool {
	lfi, ok := u.lowerStat(rel)
	if !ok || !lfi.IsDir() || lfi.Mode() != fi.Mode() {
		return false
	}
	a, aok := fi.Sys().(*syscall.Stat_t)
	b, bok := lfi.Sys().(*syscall.Stat_t)
	return aok && bok && a.Uid == b.Uid && a.Gid == b.Gid
}

// Tar writes the upper directory as a layer tarball, whiteouts in the
// ".wh." form and opaque directories with ".wh..wh..opq". It returns
// false when there is nothing in it: the layer is empty.
func (u Upper) Tar(w io.Writer) (bool, error) {
	ents, err := u.walk()
	if err != nil || len(ents) == 0 {
		return false, err
	}
	tw := tar.NewWriter(w)
	seen := map[[2]uint64]string{}
	buf := make([]byte, 1<<20)
	for _, e := range ents {
		if e.whiteout {
			hdr := &tar.Header{Name: path.Join(path.Dir(e.rel), whiteoutPrefix+path.Base(e.rel)),
				Typeflag: tar.TypeReg, Mode: 0o600, Format: tar.FormatPAX}
			if err := tw.WriteHeader(hdr); err != nil {
				return false, err
			}
			continue
		}
		if err := upperEntry(tw, filepath.Join(u.Dir, e.rel), e.rel, seen, buf); err != nil {
			return false, fmt.Errorf("layer %s: %w", e.rel, err)
		}
		if e.opaque {
			hdr := &tar.Header{Name: path.Join(e.rel, whiteoutOpaque), Typeflag: tar.TypeReg, Mode: 0o600, Format: tar.FormatPAX}
			if err := tw.WriteHeader(hdr); err != nil {
				return false, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return false, err
	}
	return true, nil
}

// Changes lists what docker diff shows: every entry of the upper
// directory as added or modified (it exists below), whiteouts as deleted.
func (u Upper) Changes() ([]Change, error) {
	ents, err := u.walk()
	if err != nil {
		return nil, err
	}
	out := make([]Change, 0, len(ents))
	for _, e := range ents {
		c := Change{Path: "/" + e.rel, Kind: Added}
		switch {
		case e.whiteout:
			c.Kind = Deleted
		default:
			if _, ok := u.lowerStat(e.rel); ok {
				c.Kind = Modified
			}
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool { return strings.Compare(out[i].Path, out[j].Path) < 0 })
	return out, nil
}

// Empty says whether the upper directory holds no change worth a layer.
func (u Upper) Empty() (bool, error) {
	ents, err := u.walk()
	return len(ents) == 0, err
}

// FileHeader is the PAX header of the file p, which Lstat described as
// fi, named name in the tar (a directory's with a trailing slash); a
// symlink's target is read from p.
func FileHeader(p string, fi fs.FileInfo, name string) (*tar.Header, error) {
	var link string
	if fi.Mode()&fs.ModeSymlink != 0 {
		var err error
		if link, err = os.Readlink(p); err != nil {
			return nil, err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return nil, err
	}
	hdr.Name, hdr.Format = name, tar.FormatPAX
	if fi.IsDir() {
		hdr.Name += "/"
	}
	return hdr, nil
}

// upperEntry writes one file of the upper directory: owner, mode, mtime,
// xattrs (but overlay's own) and hardlinks within the layer.
func upperEntry(tw *tar.Writer, p, rel string, seen map[[2]uint64]string, buf []byte) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	hdr, err := FileHeader(p, fi, rel)
	if err != nil {
		return err
	}
	hdr.Uname, hdr.Gname = "", ""
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && fi.Mode().IsRegular() && st.Nlink > 1 {
		key := [2]uint64{st.Dev, st.Ino}
		if first, ok := seen[key]; ok {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
		} else {
			seen[key] = rel
		}
	}
	upperXattrs(hdr, p)
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg || hdr.Size == 0 {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.CopyBuffer(tw, f, buf)
	return err
}

func upperXattrs(hdr *tar.Header, p string) {
	sz, err := unix.Llistxattr(p, nil)
	if err != nil || sz == 0 {
		return
	}
	list := make([]byte, sz)
	if sz, err = unix.Llistxattr(p, list); err != nil {
		return
	}
	for _, name := range strings.Split(strings.TrimRight(string(list[:sz]), "\x00"), "\x00") {
		if name == "" || strings.HasPrefix(name, "trusted.overlay.") || strings.HasPrefix(name, "user.overlay.") {
			continue
		}
		val := make([]byte, 64<<10)
		n, err := unix.Lgetxattr(p, name, val)
		if err != nil {
			continue
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords[xattrPAXPrefix+name] = string(val[:n])
	}
}
