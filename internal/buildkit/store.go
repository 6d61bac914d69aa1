package buildkit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// storeImages puts the moby exporter's images into pier's store through
// pierd's store socket: it names the image's manifest in BuildKit's
// content store, whose blob files pierd reads itself (no tar, no copy
// through the socket). The exporter's lease keeps the blobs until the
// call returns. For the layers pierd lacks it also names the snapshot
// directories they were made in, which pierd hard-links with the blobs
// (layerdirs.go).
type storeImages struct {
	client *http.Client
	// content is the worker's content store directory.
	content string
}

// putRequest is pierd's PutRequest (internal/buildkitd).
type putRequest struct {
	Content   string   `json:"content"`
	Manifest  string   `json:"manifest"`
	MediaType string   `json:"mediaType"`
	Names     []string `json:"names,omitempty"`
	// Layers maps layer digests to their snapshot directories.
	Layers map[string]string `json:"layers,omitempty"`
	// Lazy lists the layers of Layers that have no blob.
	Lazy []string `json:"lazy,omitempty"`
}

func (s storeImages) PutImage(ctx context.Context, img v1.Image, refs []string, layerDirs map[string]string, lazy []string) (string, error) {
	req, err := s.request(img)
	if err != nil {
		return "", err
	}
	req.Names, req.Layers, req.Lazy = refs, layerDirs, lazy
	var out struct{ ID string }
	if err := s.post(ctx, "/images", req, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

func (s storeImages) MissingLayers(ctx context.Context, img v1.Image) ([]string, error) {
	req, err := s.request(img)
	if err != nil {
		return nil, err
	}
	var out struct{ Layers []string }
	if err := s.post(ctx, "/images/missing", req, &out); err != nil {
		return nil, err
	}
	return out.Layers, nil
}

func (s storeImages) request(img v1.Image) (putRequest, error) {
	d, err := img.Digest()
	if err != nil {
		return putRequest{}, fmt.Errorf("image digest: %w", err)
	}
	mt, err := img.MediaType()
	if err != nil {
		return putRequest{}, fmt.Errorf("image media type: %w", err)
	}
	return putRequest{Content: s.content, Manifest: d.String(), MediaType: string(mt)}, nil
}

// post sends v as JSON to pierd's store socket and decodes the answer
// into out.
func (s storeImages) post(ctx context.Context, path string, v, out any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://pierd"+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("pierd image store: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("pierd image store %s: %s: %s", path, resp.Status, bytes.TrimSpace(msg))
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("pierd image store %s: %w", path, err)
	}
	return nil
}
