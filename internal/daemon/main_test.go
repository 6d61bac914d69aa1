package daemon

import (
	"os"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestMain checks that the root tests leave no mount behind.
func TestMain(m *testing.M) { os.Exit(testutil.LeakCheckMain(m)) }
