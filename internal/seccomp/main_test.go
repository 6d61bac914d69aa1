package seccomp

import (
	"flag"
	"os"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain())
	}
	// While fuzzing, the workers are this process's children by design and
	// may still be exiting when the leak check looks.
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		os.Exit(m.Run())
	}
	os.Exit(testutil.LeakCheckMain(m))
}
