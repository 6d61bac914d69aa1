package userns

import (
	"os"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

func TestMain(m *testing.M) {
	if IsHolder() { // NewPod runs this test binary as its holder
		os.Exit(HolderMain())
	}
	os.Exit(testutil.LeakCheckMain(m))
}
