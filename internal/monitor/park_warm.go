//go:build !monitorwatch

package monitor

import (
	"encoding/json"

	"github.com/pier-engine/pier/internal/runtime"
	"github.com/pier-engine/pier/internal/trace"
)

// warmUp does, while parked, what the first create of a process pays for
// and the next one does not (runtime.WarmUp: ~2 ms of reflection caches
// and syscall tables), and decodes a Config. What it leaves in the heap
// goes at the handover to the watch image, or at the container's end.
func warmUp() {
	runtime.WarmUp()
	var c Config
	_ = json.Unmarshal([]byte(`{"runtime":"x","logOptions":{"max-size":"1m"},"cgroups":["x"]}`), &c)
	trace.Mark("monitor", "warmed up")
}
