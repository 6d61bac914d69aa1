package trace

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestMarkAppendsLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trace")
	t.Setenv(Env, path)
	saved := fd
	fd = open()
	defer func() { fd = saved }()
	if !On() {
		t.Fatal("PIER_TRACE set but tracing is off")
	}
	Mark("runtime", "create begin")
	Mark("runtime", "created")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2: %q", len(lines), b)
	}
	var last int64
	for i, l := range lines {
		f := strings.SplitN(l, " ", 4)
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || len(f) != 4 || f[1] != strconv.Itoa(os.Getpid()) || f[2] != "runtime" || ns < last {
			t.Errorf("line %d %q is not <ns> <pid> <who> <phase> in time order", i, l)
		}
		last = ns
	}
	if !strings.HasSuffix(lines[0], " create begin") {
		t.Errorf("phase with a space lost: %q", lines[0])
	}
}

func TestOffWritesNothing(t *testing.T) {
	saved := fd
	fd = -1
	defer func() { fd = saved }()
	Mark("x", "y") // must not panic or write
	if On() {
		t.Error("On with no file")
	}
}
