package caps

import (
	"os"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

// helperEnv carries the capabilities (JSON) for the re-executed helper.
const helperEnv = "PIER_CAPS_HELPER"

func TestMain(m *testing.M) {
	if c := os.Getenv(helperEnv); c != "" {
		os.Exit(helperMain(c))
	}
	os.Exit(testutil.LeakCheckMain(m))
}
