package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/pier-engine/pier/internal/errdefs"
	imagestore "github.com/pier-engine/pier/internal/image"
)

// containerRouter serves /containers/* (exec has its own router). Its
// handlers are spread over one file per concern: lifecycle here, logs
// and attach in containers_stream.go, process.go, stats.go, archive.go,
// export.go.
type containerRouter struct {
	b   ContainerBackend
	log *slog.Logger
}

func (cr *containerRouter) routes() []route {
	return []route{
		{"POST /containers/create", cr.postContainersCreate},
		{"POST /containers/prune", cr.postContainersPrune},
		{"GET /containers/json", cr.getContainers},
		{"GET /containers/{id}/json", cr.getContainer},
		{"POST /containers/{id}/start", cr.postContainerStart},
		{"POST /containers/{id}/wait", cr.postContainerWait},
		{"POST /containers/{id}/kill", cr.postContainerKill},
		{"POST /containers/{id}/stop", cr.postContainerStop},
		{"POST /containers/{id}/restart", cr.postContainerRestart},
		{"POST /containers/{id}/pause", cr.postContainerPause},
		{"POST /containers/{id}/unpause", cr.postContainerUnpause},
		{"POST /containers/{id}/rename", cr.postContainerRename},
		{"POST /containers/{id}/update", cr.postContainerUpdate},
		{"DELETE /containers/{id}", cr.deleteContainer},
		{"DELETE /containers/{id}/{link}", cr.deleteContainer},
		{"GET /containers/{id}/logs", cr.getContainerLogs},
		{"POST /containers/{id}/attach", cr.postContainerAttach},
		{"POST /containers/{id}/resize", cr.postContainerResize},
		{"GET /containers/{id}/top", cr.getContainerTop},
		{"GET /containers/{id}/ns", cr.getContainerNamespaces},
		{"GET /containers/{id}/stats", cr.getContainerStats},
		{"HEAD /containers/{id}/archive", cr.headContainerArchive},
		{"GET /containers/{id}/archive", cr.getContainerArchive},
		{"PUT /containers/{id}/archive", cr.putContainerArchive},
		{"GET /containers/{id}/export", cr.getContainerExport},
	}
}

func (cr *containerRouter) postContainersCreate(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var req container.CreateRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if err := legacyMacAddress(r, body, &req); err != nil {
		return err
	}
	if req.HostConfig == nil && len(body) > 0 {
		// dockerd's create body embeds a HostConfig at the top level too
		// (the API before HostConfig had its own key; docker-py still
		// sends "Runtime" there): used when there is no "HostConfig".
		var legacy container.HostConfig
		if json.Unmarshal(body, &legacy) == nil && !reflect.DeepEqual(legacy, container.HostConfig{}) {
			req.HostConfig = &legacy
		}
	}
	ctx := r.Context()
	if p := r.URL.Query().Get("platform"); p != "" {
		if _, err := v1.ParsePlatform(p); err != nil {
			return errdefs.Newf(errdefs.ErrInvalidArgument, "invalid platform %q: %s", p, err)
		}
		ctx = imagestore.WithPlatform(ctx, p)
	}
	resp, err := cr.b.ContainerCreate(ctx, r.URL.Query().Get("name"), req)
	if err != nil {
		return err
	}
	if resp.Warnings == nil {
		resp.Warnings = []string{}
	}
	return writeJSON(w, http.StatusCreated, resp)
}

func (cr *containerRouter) postContainerStart(w http.ResponseWriter, r *http.Request) error {
	err := cr.b.ContainerStart(r.Context(), r.PathValue("id"))
	if errors.Is(err, errdefs.ErrAlreadyExists) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (cr *containerRouter) postContainerWait(w http.ResponseWriter, r *http.Request) error {
	cond := container.WaitCondition(r.URL.Query().Get("condition"))
	switch cond {
	case "":
		cond = container.WaitConditionNotRunning
	case container.WaitConditionNotRunning, container.WaitConditionNextExit, container.WaitConditionRemoved:
	default:
		return errdefs.New(errdefs.ErrInvalidArgument, "invalid condition: "+string(cond))
	}
	ref := r.PathValue("id")
	// The lookup's error comes before the status line, as dockerd's does.
	if _, err := cr.b.ContainerInspect(r.Context(), ref); err != nil {
		return err
	}
	// Send the headers now: the client starts the container once it
	// knows the wait is in place.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = httpFlush(w)()
	resp, err := cr.b.ContainerWait(r.Context(), ref, cond)
	if err != nil {
		resp = container.WaitResponse{StatusCode: -1, Error: &container.WaitExitError{Message: err.Error()}}
	}
	writeJSONBody(w, resp)
	return nil
}

func (cr *containerRouter) postContainerKill(w http.ResponseWriter, r *http.Request) error {
	if err := cr.b.ContainerKill(r.Context(), r.PathValue("id"), r.URL.Query().Get("signal")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (cr *containerRouter) postContainerStop(w http.ResponseWriter, r *http.Request) error {
	timeout, err := timeoutQuery(r)
	if err != nil {
		return err
	}
	err = cr.b.ContainerStop(r.Context(), r.PathValue("id"), timeout)
	if errors.Is(err, errdefs.ErrNotRunning) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (cr *containerRouter) deleteContainer(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	if l := r.PathValue("link"); l != "" {
		ref += "/" + l
	}
	if err := cr.b.ContainerDelete(r.Context(), ref, boolQuery(r, "force"), boolQuery(r, "v"), boolQuery(r, "link")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (cr *containerRouter) getContainer(w http.ResponseWriter, r *http.Request) error {
	c, err := cr.b.ContainerInspect(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, cr.withProcessInfo(r, c))
}

func (cr *containerRouter) getContainers(w http.ResponseWriter, r *http.Request) error {
	filters, err := queryFilters(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	// The query's before and since (API < 1.22 and docker-py) are the
	// filters of the same name.
	for _, k := range []string{"before", "since"} {
		if v := q.Get(k); v != "" {
			if filters == nil {
				filters = map[string][]string{}
			}
			filters[k] = append(filters[k], v)
		}
	}
	limit := -1
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return errdefs.Newf(errdefs.ErrInvalidArgument, "invalid value for limit: %s", v)
		}
		limit = n
	}
	// As dockerd: a limit counts the newest containers, stopped ones too.
	list, err := cr.b.ContainerList(r.Context(), boolQuery(r, "all") || limit > 0, filters)
	if err != nil {
		return err
	}
	if limit > 0 && len(list) > limit {
		list = list[:limit]
	}
	if boolQuery(r, "size") {
		for i := range list {
			if list[i].SizeRw, list[i].SizeRootFs, err = cr.b.ContainerSize(r.Context(), list[i].ID); err != nil {
				return err
			}
		}
	}
	if list == nil {
		list = []container.Summary{}
	}
	return writeJSON(w, http.StatusOK, list)
}

func (cr *containerRouter) postContainersPrune(w http.ResponseWriter, r *http.Request) error {
	filters, err := queryFilters(r)
	if err != nil {
		return err
	}
	report, err := cr.b.ContainersPrune(r.Context(), filters)
	if err != nil {
		return err
	}
	if report.ContainersDeleted == nil {
		report.ContainersDeleted = []string{}
	}
	return writeJSON(w, http.StatusOK, report)
}

// legacyMacAddress moves Config.MacAddress, which clients before API 1.44
// send (docker-py's mac_address), to the endpoint of the container's
// primary network, as dockerd's router does; an endpoint's own wins.
func legacyMacAddress(r *http.Request, body []byte, req *container.CreateRequest) error {
	var legacy struct{ MacAddress string }
	if len(body) == 0 || json.Unmarshal(body, &legacy) != nil || legacy.MacAddress == "" {
		return nil
	}
	hw, err := net.ParseMAC(legacy.MacAddress)
	if err != nil {
		return errdefs.Newf(errdefs.ErrInvalidArgument, "Config.MacAddress: %s is not a valid mac address", legacy.MacAddress)
	}
	mode := "bridge"
	if req.HostConfig != nil && req.HostConfig.NetworkMode != "" && req.HostConfig.NetworkMode != "default" {
		mode = string(req.HostConfig.NetworkMode)
	}
	if mode == "none" || mode == "host" || strings.HasPrefix(mode, "container:") {
		return errdefs.New(errdefs.ErrInvalidArgument, "Config.MacAddress: conflicting options: mac-address and the network mode")
	}
	if req.NetworkingConfig == nil {
		req.NetworkingConfig = &network.NetworkingConfig{}
	}
	if req.NetworkingConfig.EndpointsConfig == nil {
		req.NetworkingConfig.EndpointsConfig = map[string]*network.EndpointSettings{}
	}
	ep := req.NetworkingConfig.EndpointsConfig[mode]
	if ep == nil {
		ep = &network.EndpointSettings{}
		req.NetworkingConfig.EndpointsConfig[mode] = ep
	}
	if len(ep.MacAddress) == 0 {
		ep.MacAddress = network.HardwareAddr(hw)
	}
	return nil
}
