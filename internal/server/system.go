package server

import (
	"net/http"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/volume"
)

// systemRouter serves /_ping, /version, /info and, with a disk-usage
// backend, /system/df.
type systemRouter struct {
	b  SystemBackend
	du DiskUsageBackend
}

func (sr systemRouter) routes() []route {
	rs := []route{
		{"GET /_ping", ping},
		{"HEAD /_ping", ping},
		{"GET /version", sr.getVersion},
		{"GET /info", sr.getInfo},
	}
	if sr.du != nil {
		rs = append(rs, route{"GET /system/df", sr.getSystemDF})
	}
	return rs
}

// ping answers GET and HEAD /_ping with the headers clients negotiate
// from; the version headers come from withVersion.
func ping(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Docker-Experimental", "false")
	h.Set("Swarm", "inactive")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	if r.Method == http.MethodHead {
		h.Set("Content-Length", "0")
		return nil
	}
	_, _ = w.Write([]byte("OK"))
	return nil
}

func (sr systemRouter) getVersion(w http.ResponseWriter, r *http.Request) error {
	v, err := sr.b.Version(r.Context())
	if err != nil {
		return err
	}
	v.APIVersion = MaxAPIVersion
	v.MinAPIVersion = MinAPIVersion
	for i := range v.Components {
		// The docker CLI prints the Engine's API versions from its details.
		if c := &v.Components[i]; c.Name == "Engine" {
			if c.Details == nil {
				c.Details = map[string]string{}
			}
			c.Details["ApiVersion"] = MaxAPIVersion
			c.Details["MinAPIVersion"] = MinAPIVersion
		}
	}
	return writeJSON(w, http.StatusOK, v)
}

func (sr systemRouter) getInfo(w http.ResponseWriter, r *http.Request) error {
	info, err := sr.b.Info(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info)
}

// legacyDiskUsage is /system/df's answer before API 1.52, which every
// version pier serves uses.
type legacyDiskUsage struct {
	LayersSize int64
	Images     []image.Summary
	Containers []container.Summary
	Volumes    []volume.Volume
	BuildCache []build.CacheRecord
}

func (sr systemRouter) getSystemDF(w http.ResponseWriter, r *http.Request) error {
	du, err := sr.du.SystemDF(r.Context())
	if err != nil {
		return err
	}
	out := legacyDiskUsage{Images: []image.Summary{}, Containers: []container.Summary{},
		Volumes: []volume.Volume{}, BuildCache: []build.CacheRecord{}}
	if du.ImageUsage != nil {
		out.LayersSize = du.ImageUsage.TotalSize
		out.Images = append(out.Images, du.ImageUsage.Items...)
	}
	if du.ContainerUsage != nil {
		out.Containers = append(out.Containers, du.ContainerUsage.Items...)
	}
	if du.VolumeUsage != nil {
		out.Volumes = append(out.Volumes, du.VolumeUsage.Items...)
	}
	if du.BuildCacheUsage != nil {
		out.BuildCache = append(out.BuildCache, du.BuildCacheUsage.Items...)
	}
	return writeJSON(w, http.StatusOK, out)
}
