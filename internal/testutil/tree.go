package testutil

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TreeOptions says what Tree leaves out and how much it tells of each entry.
type TreeOptions struct {
	// Skip is a path under the walked directory whose subtree is left out,
	// e.g. the target a test extracts into while it watches the rest.
	Skip string
	// Meta adds each entry's full mode and mtime and gives a regular file's
	// sha256 instead of its content: for before/after comparisons, where a
	// changed permission or timestamp matters and contents may be binary.
	Meta bool
}

// Tree describes every entry under dir (not dir itself, whose mtime moves
// with its children) as sorted "path kind [-> link | content]" lines, kind
// being "-" for a regular file, "d", "L", "Dc", "D", "p" and so on; with
// o.Meta each line is "path kind mode mtime [-> link | sha256]".
func Tree(t testing.TB, dir string, o TreeOptions) []string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		if p == o.Skip {
			return filepath.SkipDir
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		line, err := treeLine(p, fi, o.Meta)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		lines = append(lines, rel+" "+line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(lines)
	return lines
}

// treeLine is one Tree line without its path.
func treeLine(p string, fi fs.FileInfo, meta bool) (string, error) {
	line := strings.TrimRight(fi.Mode().Type().String(), "-")
	if line == "" {
		line = "-"
	}
	if meta {
		line += fmt.Sprintf(" %v %d", fi.Mode(), fi.ModTime().UnixNano())
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		l, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		return line + " -> " + l, nil
	case fi.Mode().IsRegular():
		b, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		if meta {
			return line + fmt.Sprintf(" %x", sha256.Sum256(b)), nil
		}
		return line + " " + string(b), nil
	}
	return line, nil
}

// DirNames lists the names in dir, as os.ReadDir orders them.
func DirNames(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}
