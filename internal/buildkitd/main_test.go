package buildkitd

import (
	"os"
	"testing"
)

// TestMain lets the test binary stand in for pier-buildkitd: the
// supervisor's tests start it again with fakeChildEnv set.
func TestMain(m *testing.M) {
	if os.Getenv(fakeChildEnv) == "1" {
		os.Exit(fakeChild(os.Args[1:]))
	}
	os.Exit(m.Run())
}
