package cli

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// isArchive tells a tar (plain or compressed) from a Dockerfile on stdin.
func isArchive(br *bufio.Reader) bool {
	magic, _ := br.Peek(512)
	for _, m := range [][]byte{{0x1f, 0x8b}, []byte("BZh"), {0xfd, '7', 'z', 'X', 'Z', 0}, {0x28, 0xb5, 0x2f, 0xfd}} {
		if bytes.HasPrefix(magic, m) {
			return true
		}
	}
	return len(magic) >= 262 && string(magic[257:262]) == "ustar"
}

// dockerfileIn is the Dockerfile's name inside context dir, or "" when
// file lies outside it.
func dockerfileIn(dir, file string) (string, error) {
	if file == "" {
		return "Dockerfile", nil
	}
	if file == "-" {
		return "", errors.New("-f - is not supported; pipe the Dockerfile as the context with `pier build -`")
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	absFile := file
	if !filepath.IsAbs(file) {
		// docker resolves -f against the working directory.
		if absFile, err = filepath.Abs(file); err != nil {
			return "", err
		}
	}
	rel, err := filepath.Rel(absDir, absFile)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", nil
	}
	return filepath.ToSlash(rel), nil
}

// tarDir writes the context directory as a tar, owners 0:0 as docker
// sends them, leaving out what .dockerignore excludes (but the
// Dockerfile and .dockerignore) and adding extra files.
func tarDir(w io.Writer, dir, dockerfile string, extra map[string][]byte) error {
	tw := tar.NewWriter(w)
	err := walkContext(dir, dockerfile, func(p, rel string) error { return tarEntry(tw, p, rel) })
	if err != nil {
		return err
	}
	if err := addFiles(tw, extra); err != nil {
		return err
	}
	return tw.Close()
}

// walkContext calls fn for each entry of the context directory (p its
// path, rel its slash-separated name in the context), parents first,
// leaving out what .dockerignore excludes but the Dockerfile and
// .dockerignore themselves, as docker does.
func walkContext(dir, dockerfile string, fn func(p, rel string) error) error {
	var pm *patternmatcher.PatternMatcher
	if f, err := os.Open(filepath.Join(dir, ".dockerignore")); err == nil {
		patterns, err := ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return fmt.Errorf(".dockerignore: %w", err)
		}
		if pm, err = patternmatcher.New(patterns); err != nil {
			return fmt.Errorf(".dockerignore: %w", err)
		}
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if pm != nil && rel != dockerfile && rel != ".dockerignore" {
			if m, _ := pm.MatchesOrParentMatches(rel); m {
				if d.IsDir() && !pm.Exclusions() {
					return fs.SkipDir
				}
				if !d.IsDir() {
					return nil
				}
			}
		}
		return fn(p, rel)
	})
	if err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	return nil
}

func tarEntry(tw *tar.Writer, p, rel string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	link := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	if !fi.Mode().IsRegular() && !fi.IsDir() && link == "" {
		return nil // sockets, fifos, devices stay out
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name = rel
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	hdr.Format = tar.FormatPAX
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

func addFiles(tw *tar.Writer, files map[string][]byte) error {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		hdr := &tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), ModTime: time.Now(), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(files[n]); err != nil {
			return err
		}
	}
	return nil
}

// tarFiles writes a tar of just files.
func tarFiles(w io.Writer, files map[string][]byte) error {
	tw := tar.NewWriter(w)
	if err := addFiles(tw, files); err != nil {
		return err
	}
	return tw.Close()
}
