package server

import (
	"encoding/json"
	"net/http"

	"github.com/moby/moby/api/types/image"
)

// Fields image inspect's Config carried, empty or null, in dockerd's
// answers before the API versions that dropped them: the container-config
// fields no image sets (until 1.50), and an empty OnBuild (until 1.52).
// docker-py reads Config['OnBuild'] of a built image, a KeyError when the
// key is missing.
var (
	legacyImageConfigFields = map[string]json.RawMessage{
		"Hostname": json.RawMessage(`""`), "Domainname": json.RawMessage(`""`), "User": json.RawMessage(`""`),
		"AttachStdin": json.RawMessage(`false`), "AttachStdout": json.RawMessage(`false`), "AttachStderr": json.RawMessage(`false`),
		"Tty": json.RawMessage(`false`), "OpenStdin": json.RawMessage(`false`), "StdinOnce": json.RawMessage(`false`),
		"Env": json.RawMessage(`null`), "Cmd": json.RawMessage(`null`), "Image": json.RawMessage(`""`),
		"Volumes": json.RawMessage(`null`), "WorkingDir": json.RawMessage(`""`), "Entrypoint": json.RawMessage(`null`),
		"Labels": json.RawMessage(`null`),
	}
	nullOnBuild = json.RawMessage(`null`)
)

// imageConfigFor is img's Config as the request's API version shows it:
// nil when it needs nothing added (the wire form is then img's own).
func imageConfigFor(r *http.Request, img image.InspectResponse) json.RawMessage {
	v := requestVersion(r)
	if compareVersions(v, "1.52") >= 0 {
		return nil
	}
	if img.Config == nil {
		return json.RawMessage(`null`)
	}
	b, err := json.Marshal(img.Config)
	if err != nil {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil
	}
	if _, ok := m["OnBuild"]; !ok {
		m["OnBuild"] = nullOnBuild
	}
	if compareVersions(v, "1.50") < 0 {
		for k, def := range legacyImageConfigFields {
			if _, ok := m[k]; !ok {
				m[k] = def
			}
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return out
}

// imageInspectConfig is image inspect with Config as imageConfigFor made
// it (the outer field hides the embedded one).
type imageInspectConfig struct {
	image.InspectResponse
	Config json.RawMessage `json:"Config,omitempty"`
}
