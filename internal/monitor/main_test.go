package monitor

import (
	"fmt"
	"os"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

// helperEnv makes the test binary act as a stand-in for pierd: it starts a
// monitor on the config file named by the variable, prints the monitor's
// and the container's pids, and waits to be killed.
const helperEnv = "PIER_MONITOR_TEST_PIERD"

func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		os.Exit(fakePierd(path))
	}
	os.Exit(testutil.LeakCheckMain(m))
}

func fakePierd(path string) int {
	cfg, err := ReadConfig(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mon, err := Start(os.Getenv("PIER_MONITOR_BIN"), path, cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("%d %d\n", mon.Pid, mon.ContainerPid)
	select {}
}
