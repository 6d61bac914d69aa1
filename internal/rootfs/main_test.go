package rootfs

import (
	"os"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		// Re-executed by a root test inside new namespaces: build the
		// container's filesystem and report on it, no tests.
		os.Exit(helperMain(os.Getenv(helperEnv)))
	}
	os.Exit(testutil.LeakCheckMain(m))
}
