package cri

import (
	"context"
	"errors"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/pier-engine/pier/internal/errdefs"
)

// apiVersion is the CRI version pier speaks.
const apiVersion = "v1"

func (s *Server) Version(ctx context.Context, _ *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	name, version := s.backend.RuntimeInfo(ctx)
	return &runtimeapi.VersionResponse{
		Version: "0.1.0", RuntimeName: name, RuntimeVersion: version, RuntimeApiVersion: apiVersion,
	}, nil
}

func (s *Server) Status(ctx context.Context, req *runtimeapi.StatusRequest) (*runtimeapi.StatusResponse, error) {
	conds := s.backend.RuntimeStatus(ctx)
	resp := &runtimeapi.StatusResponse{Status: &runtimeapi.RuntimeStatus{Conditions: conds}, RuntimeHandlers: s.backend.RuntimeHandlers(), Features: s.backend.RuntimeFeatures()}
	if req.GetVerbose() {
		resp.Info = map[string]string{}
	}
	return resp, nil
}

func (s *Server) UpdateRuntimeConfig(ctx context.Context, req *runtimeapi.UpdateRuntimeConfigRequest) (*runtimeapi.UpdateRuntimeConfigResponse, error) {
	if req.GetRuntimeConfig() == nil {
		return nil, statusOf(invalid("runtime_config", "required"))
	}
	return &runtimeapi.UpdateRuntimeConfigResponse{}, statusOf(s.backend.UpdateRuntimeConfig(ctx, req.GetRuntimeConfig()))
}

func (s *Server) RuntimeConfig(ctx context.Context, _ *runtimeapi.RuntimeConfigRequest) (*runtimeapi.RuntimeConfigResponse, error) {
	return &runtimeapi.RuntimeConfigResponse{Linux: &runtimeapi.LinuxRuntimeConfiguration{CgroupDriver: s.backend.CgroupDriver()}}, nil
}

func (s *Server) RunPodSandbox(ctx context.Context, req *runtimeapi.RunPodSandboxRequest) (*runtimeapi.RunPodSandboxResponse, error) {
	if err := checkPodConfig(req.GetConfig()); err != nil {
		return nil, statusOf(err)
	}
	id, err := s.backend.RunPodSandbox(ctx, req.GetConfig(), req.GetRuntimeHandler())
	if err != nil {
		return nil, statusOf(err)
	}
	return &runtimeapi.RunPodSandboxResponse{PodSandboxId: id}, nil
}

func checkPodConfig(c *runtimeapi.PodSandboxConfig) error {
	if c == nil {
		return invalid("config", "required")
	}
	m := c.GetMetadata()
	if m == nil {
		return invalid("config.metadata", "required")
	}
	if err := required("config.metadata.name", m.GetName()); err != nil {
		return err
	}
	if err := required("config.metadata.uid", m.GetUid()); err != nil {
		return err
	}
	if err := required("config.metadata.namespace", m.GetNamespace()); err != nil {
		return err
	}
	for _, p := range c.GetPortMappings() {
		if p.GetContainerPort() <= 0 || p.GetContainerPort() > 65535 {
			return invalid("config.port_mappings.container_port", "%d out of range", p.GetContainerPort())
		}
		if p.GetHostPort() < 0 || p.GetHostPort() > 65535 {
			return invalid("config.port_mappings.host_port", "%d out of range", p.GetHostPort())
		}
	}
	return nil
}

// ignoreNotFound: the CRI makes stopping and removing what is already gone
// a success.
func ignoreNotFound(err error) error {
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil
	}
	return err
}

func (s *Server) StopPodSandbox(ctx context.Context, req *runtimeapi.StopPodSandboxRequest) (*runtimeapi.StopPodSandboxResponse, error) {
	if err := required("pod_sandbox_id", req.GetPodSandboxId()); err != nil {
		return nil, statusOf(err)
	}
	if err := ignoreNotFound(s.backend.StopPodSandbox(ctx, req.GetPodSandboxId())); err != nil {
		return nil, statusOf(err)
	}
	return &runtimeapi.StopPodSandboxResponse{}, nil
}

func (s *Server) RemovePodSandbox(ctx context.Context, req *runtimeapi.RemovePodSandboxRequest) (*runtimeapi.RemovePodSandboxResponse, error) {
	if err := required("pod_sandbox_id", req.GetPodSandboxId()); err != nil {
		return nil, statusOf(err)
	}
	if err := ignoreNotFound(s.backend.RemovePodSandbox(ctx, req.GetPodSandboxId())); err != nil {
		return nil, statusOf(err)
	}
	return &runtimeapi.RemovePodSandboxResponse{}, nil
}

func (s *Server) PodSandboxStatus(ctx context.Context, req *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	if err := required("pod_sandbox_id", req.GetPodSandboxId()); err != nil {
		return nil, statusOf(err)
	}
	st, info, err := s.backend.PodSandboxStatus(ctx, req.GetPodSandboxId())
	if err != nil {
		return nil, statusOf(err)
	}
	resp := &runtimeapi.PodSandboxStatusResponse{Status: st}
	if req.GetVerbose() {
		resp.Info = info
	}
	return resp, nil
}

func (s *Server) ListPodSandbox(ctx context.Context, req *runtimeapi.ListPodSandboxRequest) (*runtimeapi.ListPodSandboxResponse, error) {
	items, err := s.backend.ListPodSandbox(ctx, req.GetFilter())
	if err != nil {
		return nil, statusOf(err)
	}
	return &runtimeapi.ListPodSandboxResponse{Items: items}, nil
}

func (s *Server) PodSandboxStats(ctx context.Context, req *runtimeapi.PodSandboxStatsRequest) (*runtimeapi.PodSandboxStatsResponse, error) {
	if err := required("pod_sandbox_id", req.GetPodSandboxId()); err != nil {
		return nil, statusOf(err)
	}
	st, err := s.backend.PodSandboxStats(ctx, req.GetPodSandboxId())
	if err != nil {
		return nil, statusOf(err)
	}
	return &runtimeapi.PodSandboxStatsResponse{Stats: st}, nil
}

func (s *Server) ListPodSandboxStats(ctx context.Context, req *runtimeapi.ListPodSandboxStatsRequest) (*runtimeapi.ListPodSandboxStatsResponse, error) {
	st, err := s.backend.ListPodSandboxStats(ctx, req.GetFilter())
	if err != nil {
		return nil, statusOf(err)
	}
	return &runtimeapi.ListPodSandboxStatsResponse{Stats: st}, nil
}

// GetContainerEvents streams container lifecycle events (created,
// started, stopped, deleted) for the kubelet's evented PLEG.
func (s *Server) GetContainerEvents(_ *runtimeapi.GetEventsRequest, stream runtimeapi.RuntimeService_GetContainerEventsServer) error {
	return statusOf(s.backend.ContainerEvents(stream.Context(), stream.Send))
}

// ListMetricDescriptors names the metrics ListPodSandboxMetrics produces.
func (s *Server) ListMetricDescriptors(context.Context, *runtimeapi.ListMetricDescriptorsRequest) (*runtimeapi.ListMetricDescriptorsResponse, error) {
	return &runtimeapi.ListMetricDescriptorsResponse{Descriptors: s.backend.MetricDescriptors()}, nil
}

// ListPodSandboxMetrics is every pod's metrics, for the kubelet's
// /metrics/cadvisor when it takes them from the runtime.
func (s *Server) ListPodSandboxMetrics(ctx context.Context, _ *runtimeapi.ListPodSandboxMetricsRequest) (*runtimeapi.ListPodSandboxMetricsResponse, error) {
	m, err := s.backend.PodSandboxMetrics(ctx)
	if err != nil {
		return nil, statusOf(err)
	}
	return &runtimeapi.ListPodSandboxMetricsResponse{PodMetrics: m}, nil
}

func (s *Server) CheckpointContainer(_ context.Context, req *runtimeapi.CheckpointContainerRequest) (*runtimeapi.CheckpointContainerResponse, error) {
	return nil, statusOf(invalidOrUnimplemented("CheckpointContainer", required("container_id", req.GetContainerId())))
}

// invalidOrUnimplemented reports bad input first, then that the call is not
// supported.
func invalidOrUnimplemented(call string, err error) error {
	if err != nil {
		return err
	}
	return errdefs.Newf(errdefs.ErrNotImplemented, "%s: pier does not support it", call)
}
