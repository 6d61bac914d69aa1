package logfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// rotatedName is path for i == 0 and path.i otherwise.
func rotatedName(path string, i int) string {
	if i == 0 {
		return path
	}
	return path + "." + strconv.Itoa(i)
}

// rotatedIndexes lists the i of every existing path.i, newest (1) first.
func rotatedIndexes(path string) ([]int, error) {
	ents, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("list log files of %s: %w", path, err)
	}
	prefix := filepath.Base(path) + "."
	var idx []int
	for _, e := range ents {
		suffix, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		if i, err := strconv.Atoi(suffix); err == nil && i > 0 && strconv.Itoa(i) == suffix {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	return idx, nil
}

// removeRotated removes path.i for i >= maxFiles.
func removeRotated(path string, maxFiles int) error {
	idx, err := rotatedIndexes(path)
	if err != nil {
		return err
	}
	for _, i := range idx {
		if i < maxFiles {
			continue
		}
		if err := os.Remove(rotatedName(path, i)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove old log file: %w", err)
		}
	}
	return nil
}

// indexOf returns k such that rotatedName(path, k) is the file st, or -1.
func indexOf(path string, st os.FileInfo) (int, error) {
	if cur, err := os.Stat(path); err == nil && os.SameFile(cur, st) {
		return 0, nil
	}
	idx, err := rotatedIndexes(path)
	if err != nil {
		return -1, err
	}
	for _, i := range idx {
		if fi, err := os.Stat(rotatedName(path, i)); err == nil && os.SameFile(fi, st) {
			return i, nil
		}
	}
	return -1, nil
}

// sameAt tells whether rotatedName(path, k) is currently the file st.
func sameAt(path string, k int, st os.FileInfo) bool {
	fi, err := os.Stat(rotatedName(path, k))
	return err == nil && os.SameFile(fi, st)
}

// openSuccessor opens the file written after cur. It returns current true
// while cur is still the file at path, and (nil, false, nil) while a rotation
// is half done. Once it returns a file, cur has been renamed, which the
// Writer does only after its last write to cur: the caller reads cur to its
// end once more before moving on. If cur was rotated away entirely (the
// reader fell MaxFiles rotations behind, or max-file is 1), the oldest file
// left is the successor: every file still there is newer than cur.
func openSuccessor(path string, cur os.FileInfo) (next *os.File, current bool, err error) {
	k, err := indexOf(path, cur)
	if err != nil || k == 0 {
		return nil, k == 0, err
	}
	if k < 0 {
		next, err := openOldest(path)
		return next, false, err
	}
	next, err = os.Open(rotatedName(path, k-1))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil // renames in progress: retry on the next poll
	}
	if err != nil {
		return nil, false, fmt.Errorf("open log file: %w", err)
	}
	st, err := next.Stat()
	if err != nil {
		next.Close()
		return nil, false, fmt.Errorf("stat log file: %w", err)
	}
	// cur cannot move back, and its successor reaches k only after cur
	// left it: cur at k before and after proves next was the file at k-1.
	if !sameAt(path, k, cur) || !sameAt(path, k-1, st) || !sameAt(path, k, cur) {
		next.Close()
		return nil, false, nil
	}
	return next, false, nil
}

// openOldest opens the oldest log file that exists, or returns (nil, nil).
func openOldest(path string) (*os.File, error) {
	idx, err := rotatedIndexes(path)
	if err != nil {
		return nil, err
	}
	idx = append([]int{0}, idx...)
	for _, i := range slices.Backward(idx) {
		f, err := os.Open(rotatedName(path, i))
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open log file: %w", err)
		}
	}
	return nil, nil
}
