package logfile

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pier-engine/pier/internal/errdefs"
)

// Defaults applied by Open to zero Options (issue 5: rotation on by default).
const (
	DefaultMaxSize  = 10 << 20
	DefaultMaxFiles = 3
)

// Options configure a Writer. The zero value means the defaults.
type Options struct {
	// MaxSize is the size in bytes past which the file rotates; 0 means
	// DefaultMaxSize and a negative value never rotates.
	MaxSize int64
	// MaxFiles is the number of files kept, the current one included;
	// 0 means DefaultMaxFiles.
	MaxFiles int
	// Compress gzips rotated files. Not supported yet: Open refuses it.
	Compress bool
	// Format is "" (json-file) or FormatCRI (see cri.go).
	Format string
}

// ParseOptions reads Docker's json-file --log-opt values: max-size ("10m",
// "1g", "500k", plain bytes, or "-1" for no limit), max-file and compress.
// Any other key is an error naming it.
func ParseOptions(opts map[string]string) (Options, error) {
	var o Options
	for key, val := range opts {
		var err error
		switch key {
		case "max-size":
			o.MaxSize, err = parseSize(val)
		case "max-file":
			o.MaxFiles, err = parseMaxFile(val)
		case "compress":
			o.Compress, err = strconv.ParseBool(val)
		case "format":
			o.Format, err = parseFormat(val)
		default:
			return Options{}, fmt.Errorf("log-opt %s: unknown option for json-file: %w", key, errdefs.ErrInvalidArgument)
		}
		if err != nil {
			return Options{}, fmt.Errorf("log-opt %s=%q: %w: %w", key, val, errdefs.ErrInvalidArgument, err)
		}
	}
	return o, nil
}

func parseMaxFile(val string) (int, error) {
	n, err := strconv.Atoi(val)
	if err != nil {
		return 0, err
	}
	if n < 1 {
		return 0, fmt.Errorf("must be at least 1")
	}
	return n, nil
}

// parseSize follows Docker's RAMInBytes: binary units, an optional "i" and
// "b" after the unit ("10m", "10MB", "10MiB"), decimals allowed ("1.5g").
func parseSize(val string) (int64, error) {
	if val == "-1" {
		return -1, nil
	}
	s := strings.ToLower(strings.TrimSpace(val))
	s = strings.TrimSuffix(s, "b")
	s = strings.TrimSuffix(s, "i")
	mult := float64(1)
	if n := len(s); n > 0 {
		if shift := strings.IndexByte("kmgtp", s[n-1]); shift >= 0 {
			mult = float64(int64(1) << (10 * (shift + 1)))
			s = strings.TrimSpace(s[:n-1])
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || strings.Trim(s, "0123456789.") != "" {
		return 0, fmt.Errorf("not a positive size like 10m")
	}
	return int64(f * mult), nil
}

func (o Options) withDefaults() Options {
	if o.MaxSize == 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.MaxFiles == 0 {
		o.MaxFiles = DefaultMaxFiles
	}
	return o
}
