package e2e_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestBuildKitPush: buildx pushes an image built FROM busybox, whose base
// BuildKit took from pier's store, to Debian's docker-registry on
// 127.0.0.1 (`--output type=image,push=true`, what `buildx build --push`
// asks). Every blob the pushed manifests name is in the registry, base
// layers included, and the image pulls back through pierd and runs.
func TestBuildKitPush(t *testing.T) {
	testutil.Requires(t, "docker-registry")
	r := newBuildRig(t)
	reg := testutil.StartRegistry(t, testutil.Registry{})
	ref := reg + "/bkpush:t"
	ctx := writeContext(t, map[string]string{
		"Dockerfile": "FROM busybox\nRUN echo pushed > /marker\n",
	})
	out := r.mustBuildx("buildx", "build", "--progress=plain", "--output", "type=image,name="+ref+",push=true", ctx)

	blobs := registryBlobs(t, reg, "bkpush", "t", out)
	if len(blobs) < 3 {
		t.Fatalf("pushed manifests name %d blobs, want a config and at least two layers: %v", len(blobs), blobs)
	}
	for _, b := range blobs {
		resp, err := http.Head("http://" + reg + "/v2/bkpush/blobs/" + b)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("blob %s in the registry: %d, want 200", b, resp.StatusCode)
		}
	}

	r.mustDocker(nil, "pull", ref)
	if got := r.mustDocker(nil, "run", "--rm", ref, "cat", "/marker"); got != "pushed\n" {
		t.Errorf("the pulled image's /marker = %q, want %q", got, "pushed\n")
	}
	r.mustDocker(nil, "rmi", ref)
	r.nothingLeft()
}

// registryBlobs walks the manifest (or index) of repo:tag in the registry
// at reg and lists every config and layer digest it names.
// (log is the build's output, for the failure message.)
func registryBlobs(t *testing.T, reg, repo, tag, log string) []string {
	t.Helper()
	var m struct {
		MediaType string
		Manifests []struct{ Digest string }
		Config    struct{ Digest string }
		Layers    []struct{ Digest string }
	}
	req, err := http.NewRequest(http.MethodGet, "http://"+reg+"/v2/"+repo+"/manifests/"+tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", strings.Join([]string{
		"application/vnd.oci.image.index.v1+json",
		"application/vnd.oci.image.manifest.v1+json",
		"application/vnd.docker.distribution.manifest.list.v2+json",
		"application/vnd.docker.distribution.manifest.v2+json",
	}, ", "))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("manifest %s:%s in the registry: %d\nbuild output:\n%s", repo, tag, resp.StatusCode, log)
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("manifest %s:%s: %v", repo, tag, err)
	}
	var out []string
	for _, c := range m.Manifests {
		out = append(out, registryBlobs(t, reg, repo, c.Digest, log)...)
	}
	if m.Config.Digest != "" {
		out = append(out, m.Config.Digest)
	}
	for _, l := range m.Layers {
		out = append(out, l.Digest)
	}
	return out
}
