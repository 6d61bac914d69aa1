package daemon

import (
	"os"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestMain checks that the root tests leave no mount behind. Run with
// BuildBusyboxEnv, the test binary is pierd's busybox builder
// (TestDefaultBusyboxInChild).
func TestMain(m *testing.M) {
	if os.Getenv(BuildBusyboxEnv) != "" {
		os.Exit(BuildBusyboxMain(os.Args[1:]))
	}
	os.Exit(testutil.LeakCheckMain(m))
}
