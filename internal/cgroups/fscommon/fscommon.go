package fscommon

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// WriteFile writes data to dir/file in one write(2), as cgroupfs wants: a
// file is parsed per write, so a split write would be two settings. The
// file must exist: a missing one is a controller or feature the kernel
// lacks, reported as ENOENT with its path.
func WriteFile(dir, file, data string) error {
	p := filepath.Join(dir, file)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("write %s: %w", p, unwrapPath(err))
	}
	defer f.Close()
	for {
		_, err = f.Write([]byte(data))
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("write %q to %s: %w", data, p, unwrapPath(err))
	}
	return nil
}

// ReadFile returns the content of dir/file.
func ReadFile(dir, file string) (string, error) {
	p := filepath.Join(dir, file)
	for {
		b, err := os.ReadFile(p)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("read %s: %w", p, unwrapPath(err))
		}
		return string(b), nil
	}
}

// unwrapPath drops the *PathError layer, whose text repeats the path the
// caller's context already names.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ParseUint parses a cgroup number; "max" is math.MaxUint64 and negative
// numbers (v1 reports -1 for "no limit" in a few files) are 0.
func ParseUint(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	if s == "max" {
		return math.MaxUint64, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		if i, ierr := strconv.ParseInt(s, 10, 64); ierr == nil && i < 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("parse %q: %w", s, err)
	}
	return v, nil
}

// GetUint reads dir/file as one number.
func GetUint(dir, file string) (uint64, error) {
	s, err := ReadFile(dir, file)
	if err != nil {
		return 0, err
	}
	v, err := ParseUint(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", filepath.Join(dir, file), err)
	}
	return v, nil
}

// ParseKeyValue parses "key value" lines (memory.stat, cpu.stat,
// memory.events, memory.oom_control); lines that do not fit are skipped.
func ParseKeyValue(s string) map[string]uint64 {
	out := map[string]uint64{}
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		if v, err := ParseUint(f[1]); err == nil {
			out[f[0]] = v
		}
	}
	return out
}

// GetKeyValue reads dir/file with ParseKeyValue.
func GetKeyValue(dir, file string) (map[string]uint64, error) {
	s, err := ReadFile(dir, file)
	if err != nil {
		return nil, err
	}
	return ParseKeyValue(s), nil
}
