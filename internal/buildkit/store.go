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
// call returns.
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
}

func (s storeImages) PutImage(ctx context.Context, img v1.Image, refs []string) (string, error) {
	d, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("image digest: %w", err)
	}
	mt, err := img.MediaType()
	if err != nil {
		return "", fmt.Errorf("image media type: %w", err)
	}
	body, err := json.Marshal(putRequest{Content: s.content, Manifest: d.String(), MediaType: string(mt), Names: refs})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://pierd/images", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("pierd image store: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return "", fmt.Errorf("pierd image store: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	var out struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", fmt.Errorf("pierd image store: %w", err)
	}
	return out.ID, nil
}
