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

// parkEnv makes that stand-in start the monitor parked first.
const parkEnv = "PIER_MONITOR_TEST_PARK"

func TestMain(m *testing.M) {
	switch path := os.Getenv(helperEnv); path {
	case "":
	case parkOnly:
		os.Exit(fakePierdParked())
	default:
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
	var mon *Monitor
	if os.Getenv(parkEnv) != "" { // as pierd's pool: a parked monitor
		var p *Parked
		if p, err = Park(os.Getenv("PIER_MONITOR_BIN"), os.Stderr); err == nil {
			mon, err = p.Start(path, cfg)
		}
	} else {
		mon, err = Start(os.Getenv("PIER_MONITOR_BIN"), path, cfg, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("%d %d\n", mon.Pid, mon.ContainerPid)
	select {}
}
