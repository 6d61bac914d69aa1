package buildkit

import (
	"context"
	"fmt"
	"os"
	"sync"

	controlapi "github.com/moby/buildkit/api/services/control"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// PruneOptions is what the Engine API's POST /build/prune asks of
// BuildKit's cache.
type PruneOptions struct {
	// All removes internal and frontend records too (docker builder
	// prune --all); without it only the dangling ones go, as dockerd.
	All bool
	// KeepStorage keeps up to that many bytes (keep-storage,
	// reserved-space).
	KeepStorage int64
}

// Prune removes the cache records no build holds, as buildx's prune does
// over /grpc, and returns their ids and sizes. A BuildKit that never ran
// has nothing to prune and is not started for it.
func (l *Lazy) Prune(ctx context.Context, opts PruneOptions) (ids []string, reclaimed int64, err error) {
	if _, err := os.Stat(l.cfg.Root); os.IsNotExist(err) {
		return nil, 0, nil
	}
	d, err := l.Daemon()
	if err != nil {
		return nil, 0, err
	}
	s := &pruneStream{ctx: ctx}
	err = d.ctrl.Prune(&controlapi.PruneRequest{All: opts.All, ReservedSpace: opts.KeepStorage}, s)
	if err != nil {
		return nil, 0, fmt.Errorf("buildkit prune: %w", err)
	}
	return s.ids, s.size, nil
}

// pruneStream is the controller's Prune stream, in process: it collects
// what was removed.
type pruneStream struct {
	grpc.ServerStream
	ctx context.Context

	mu   sync.Mutex
	ids  []string // Guarded by mu.
	size int64    // Guarded by mu.
}

func (s *pruneStream) Context() context.Context     { return s.ctx }
func (s *pruneStream) SetHeader(metadata.MD) error  { return nil }
func (s *pruneStream) SendHeader(metadata.MD) error { return nil }
func (s *pruneStream) SetTrailer(metadata.MD)       {}
func (s *pruneStream) RecvMsg(any) error            { return nil }
func (s *pruneStream) SendMsg(m any) error {
	r, ok := m.(*controlapi.UsageRecord)
	if !ok {
		return fmt.Errorf("buildkit prune: unexpected %T", m)
	}
	return s.Send(r)
}

func (s *pruneStream) Send(r *controlapi.UsageRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = append(s.ids, r.ID)
	s.size += r.Size
	return nil
}

// builds are the version-2 builds running, by build id, so that POST
// /build/cancel (what docker CLI 20.10 sends on ^C) can stop one.
type builds struct {
	mu     sync.Mutex
	cancel map[string]context.CancelFunc // Guarded by mu.
}

func (b *builds) add(id string, cancel context.CancelFunc) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cancel == nil {
		b.cancel = map[string]context.CancelFunc{}
	}
	b.cancel[id] = cancel
}

func (b *builds) remove(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.cancel, id)
}

// Cancel stops the version-2 build id if it runs; an unknown id (a
// classic build, one finished) is no error, as with dockerd.
func (l *Lazy) Cancel(id string) {
	l.builds.mu.Lock()
	defer l.builds.mu.Unlock()
	if c, ok := l.builds.cancel[id]; ok {
		c()
	}
}
