// Command pier-runtime is pier's OCI runtime, with runc's command line.
package main

import (
	"os"

	"github.com/pier-engine/pier/internal/containerinit"
	_ "github.com/pier-engine/pier/internal/nsenter/preamble" // the C preamble; see its package doc
	"github.com/pier-engine/pier/internal/ocicli"
	"github.com/pier-engine/pier/internal/trace"
)

func main() {
	// `init` is the container's side, started by the runtime itself through
	// the preamble; it skips the command-line machinery entirely.
	if len(os.Args) > 1 && os.Args[1] == "init" {
		os.Exit(containerinit.Main())
	}
	trace.Mark("runtime", "go main")
	code := ocicli.Main(os.Args[1:])
	trace.Mark("runtime", "exit")
	os.Exit(code)
}
