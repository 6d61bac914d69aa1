// Command pier is part of the engine (issue 5), not built yet.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "pier: the engine is not implemented yet; see pier-runtime")
	os.Exit(1)
}
