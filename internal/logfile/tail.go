package logfile

import (
	"fmt"
	"io"
	"os"
)

// openTail opens the file holding the n-th entry from the end of the log,
// counting across rotated files newest first, and positions it there.
// Counting is by lines, so a damaged line counts though Read skips it, and
// a rotation during the count may shift the start
// by a few entries; reading then follows the chain by inode and never
// duplicates or drops what follows the start.
func openTail(path string, n int) (*os.File, error) {
	idx, err := rotatedIndexes(path)
	if err != nil {
		return nil, err
	}
	var start *os.File
	for _, i := range append([]int{0}, idx...) {
		f, err := os.Open(rotatedName(path, i))
		if err != nil {
			continue // rotated away meanwhile
		}
		off, got, err := tailOffset(f, n)
		if err != nil {
			f.Close()
			closeFile(start)
			return nil, err
		}
		closeFile(start)
		start = f
		if got >= n {
			_, err := f.Seek(off, io.SeekStart)
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("seek log file %s: %w", f.Name(), err)
			}
			return f, nil
		}
		n -= got
	}
	return start, nil // fewer than n entries in all: start at the oldest
}

func closeFile(f *os.File) {
	if f != nil {
		f.Close()
	}
}

// tailOffset scans f backwards for the start of its n-th line from the end.
// It returns that offset, or got < n lines when the file holds fewer.
func tailOffset(f *os.File, n int) (off int64, got int, err error) {
	st, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("stat log file %s: %w", f.Name(), err)
	}
	size := st.Size()
	if size == 0 || n <= 0 {
		return size, 0, nil
	}
	const block = 32 << 10
	buf := make([]byte, block)
	end := size - 1 // the last byte ends the last line, whatever it is
	for end > 0 {
		pos := max(0, end-block)
		chunk := buf[:end-pos]
		if _, err := f.ReadAt(chunk, pos); err != nil && err != io.EOF {
			return 0, 0, fmt.Errorf("read log file %s: %w", f.Name(), err)
		}
		for i := len(chunk) - 1; i >= 0; i-- {
			if chunk[i] != '\n' {
				continue
			}
			if got++; got == n {
				return pos + int64(i) + 1, got, nil
			}
		}
		end = pos
	}
	return 0, got + 1, nil
}
