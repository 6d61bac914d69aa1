package buildkit

import (
	"context"
	"testing"

	"github.com/containerd/containerd/v2/pkg/labels"
	"github.com/moby/buildkit/cache"
	cacheconfig "github.com/moby/buildkit/cache/config"
	"github.com/moby/buildkit/exporter"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/solver"
	"github.com/moby/buildkit/solver/result"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// fakeRef is a cache record with the string values of vals; anything
// else it is asked panics.
type fakeRef struct {
	cache.ImmutableRef
	vals map[string]string
}

func (r fakeRef) GetString(k string) string { return r.vals[k] }

// TestLazyEligible: lazy layers only for one image going into pier's
// store alone: not with push, a chosen compression, rewritten
// timestamps, an inline cache or several platforms.
func TestLazyEligible(t *testing.T) {
	ref := fakeRef{}
	ic := &result.Result[*exptypes.InlineCacheEntry]{}
	for _, c := range []struct {
		name  string
		attrs map[string]string
		src   *exporter.Source
		ic    *result.Result[*exptypes.InlineCacheEntry]
		want  bool
	}{
		{"plain", map[string]string{"name": "app"}, &exporter.Source{Ref: ref}, nil, true},
		{"one platform", nil, &exporter.Source{Refs: map[string]cache.ImmutableRef{"linux/amd64": ref}}, nil, true},
		{"two platforms", nil, &exporter.Source{Refs: map[string]cache.ImmutableRef{"linux/amd64": ref, "linux/arm64": ref}}, nil, false},
		{"push", map[string]string{"push": "true"}, &exporter.Source{Ref: ref}, nil, false},
		{"compression", map[string]string{"compression": "zstd"}, &exporter.Source{Ref: ref}, nil, false},
		{"rewrite timestamps", map[string]string{"rewrite-timestamp": "true"}, &exporter.Source{Ref: ref}, nil, false},
		{"inline cache", nil, &exporter.Source{Ref: ref}, ic, false},
		{"no ref", nil, &exporter.Source{}, nil, false},
	} {
		inst, err := (&mobyExporter{}).Resolve(context.Background(), 0, c.attrs)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if _, got := inst.(*mobyInstance).lazyEligible(c.src, c.ic); got != c.want {
			t.Errorf("%s: eligible %v, want %v", c.name, got, c.want)
		}
	}
}

// TestLazyDesc: a diff id recorded by an earlier export describes the
// layer as an uncompressed tar named by it; a record without one, or
// with a bad one, does not.
func TestLazyDesc(t *testing.T) {
	d := digest.FromString("layer")
	desc, ok := lazyDesc(fakeRef{vals: map[string]string{keyLazyDiffID: d.String(), keyLazySize: "3072"}})
	if !ok || desc.Digest != d || desc.Size != 3072 || desc.MediaType != ocispecs.MediaTypeImageLayer ||
		desc.Annotations[labels.LabelUncompressed] != d.String() {
		t.Errorf("lazyDesc = %+v, %v", desc, ok)
	}
	for _, vals := range []map[string]string{
		{},
		{keyLazyDiffID: d.String()},
		{keyLazyDiffID: "sha256:zz", keyLazySize: "3072"},
		{keyLazyDiffID: d.String(), keyLazySize: "0"},
	} {
		if _, ok := lazyDesc(fakeRef{vals: vals}); ok {
			t.Errorf("lazyDesc(%v) described a layer", vals)
		}
	}
	// The writer gets a copy it may change.
	r := lazyRef{remote: &solver.Remote{Descriptors: []ocispecs.Descriptor{desc}}}
	rs, err := r.GetRemotes(context.Background(), true, cacheconfig.RefConfig{}, false, nil)
	if err != nil || len(rs) != 1 || len(rs[0].Descriptors) != 1 {
		t.Fatalf("GetRemotes = %v, %v", rs, err)
	}
	rs[0].Descriptors[0].Digest = "sha256:changed"
	if r.remote.Descriptors[0].Digest != d {
		t.Error("GetRemotes handed out the lazy ref's own descriptors")
	}
}
