package snapshot

import (
	"os"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.LeakCheckMain(m)) }
