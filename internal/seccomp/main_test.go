package seccomp

import (
	"os"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain())
	}
	os.Exit(testutil.LeakCheckMain(m))
}
