package cri

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func (s *Server) CreateContainer(ctx context.Context, req *runtimeapi.CreateContainerRequest) (*runtimeapi.CreateContainerResponse, error) {
	if err := checkCreate(req); err != nil {
		return nil, statusOf(err)
	}
	id, err := s.backend.CreateContainer(ctx, req.GetPodSandboxId(), req.GetConfig(), req.GetSandboxConfig())
	if err != nil {
		return nil, statusOf(err)
	}
	return &runtimeapi.CreateContainerResponse{ContainerId: id}, nil
}

func checkCreate(req *runtimeapi.CreateContainerRequest) error {
	if err := required("pod_sandbox_id", req.GetPodSandboxId()); err != nil {
		return err
	}
	c := req.GetConfig()
	if c == nil {
		return invalid("config", "required")
	}
	if c.GetMetadata() == nil {
		return invalid("config.metadata", "required")
	}
	if err := required("config.metadata.name", c.GetMetadata().GetName()); err != nil {
		return err
	}
	if c.GetImage() == nil {
		return invalid("config.image", "required")
	}
	if err := required("config.image.image", c.GetImage().GetImage()); err != nil {
		return err
	}
	for _, m := range c.GetMounts() {
		if m.GetContainerPath() == "" {
			return invalid("config.mounts.container_path", "required")
		}
		if m.GetImage() != nil {
			if err := required("config.mounts.image.image", m.GetImage().GetImage()); err != nil {
				return err
			}
			if !m.GetReadonly() {
				return invalid("config.mounts.readonly", "an image volume (%s on %s) must be read-only", m.GetImage().GetImage(), m.GetContainerPath())
			}
		}
	}
	return nil
}

func (s *Server) StartContainer(ctx context.Context, req *runtimeapi.StartContainerRequest) (*runtimeapi.StartContainerResponse, error) {
	if err := required("container_id", req.GetContainerId()); err != nil {
		return nil, statusOf(err)
	}
	if err := s.backend.StartContainer(ctx, req.GetContainerId()); err != nil {
		return nil, statusOf(err)
	}
	return &runtimeapi.StartContainerResponse{}, nil
}

func (s *Server) StopContainer(ctx context.Context, req *runtimeapi.StopContainerRequest) (*runtimeapi.StopContainerResponse, error) {
	if err := required("container_id", req.GetContainerId()); err != nil {
		return nil, statusOf(err)
	}
	if req.GetTimeout() < 0 {
		return nil, statusOf(invalid("timeout", "%d is negative", req.GetTimeout()))
	}
	if err := ignoreNotFound(s.backend.StopContainer(ctx, req.GetContainerId(), req.GetTimeout())); err != nil {
		return nil, statusOf(err)
	}
	return &runtimeapi.StopContainerResponse{}, nil
}

func (s *Server) RemoveContainer(ctx context.Context, req *runtimeapi.RemoveContainerRequest) (*runtimeapi.RemoveContainerResponse, error) {
	if err := required("container_id", req.GetContainerId()); err != nil {
		return nil, statusOf(err)
	}
	if err := ignoreNotFound(s.backend.RemoveContainer(ctx, req.GetContainerId())); err != nil {
		return nil, statusOf(err)
	}
	return &runtimeapi.RemoveContainerResponse{}, nil
}

func (s *Server) ListContainers(ctx context.Context, req *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	cs, err := s.backend.ListContainers(ctx, req.GetFilter())
	if err != nil {
		return nil, statusOf(err)
	}
	return &runtimeapi.ListContainersResponse{Containers: cs}, nil
}

func (s *Server) ContainerStatus(ctx context.Context, req *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	if err := required("container_id", req.GetContainerId()); err != nil {
		return nil, statusOf(err)
	}
	st, info, err := s.backend.ContainerStatus(ctx, req.GetContainerId())
	if err != nil {
		return nil, statusOf(err)
	}
	resp := &runtimeapi.ContainerStatusResponse{Status: st}
	if req.GetVerbose() {
		resp.Info = info
	}
	return resp, nil
}

func (s *Server) UpdateContainerResources(ctx context.Context, req *runtimeapi.UpdateContainerResourcesRequest) (*runtimeapi.UpdateContainerResourcesResponse, error) {
	if err := required("container_id", req.GetContainerId()); err != nil {
		return nil, statusOf(err)
	}
	if err := s.backend.UpdateContainerResources(ctx, req.GetContainerId(), req.GetLinux()); err != nil {
		return nil, statusOf(err)
	}
	return &runtimeapi.UpdateContainerResourcesResponse{}, nil
}

func (s *Server) ReopenContainerLog(ctx context.Context, req *runtimeapi.ReopenContainerLogRequest) (*runtimeapi.ReopenContainerLogResponse, error) {
	if err := required("container_id", req.GetContainerId()); err != nil {
		return nil, statusOf(err)
	}
	if err := s.backend.ReopenContainerLog(ctx, req.GetContainerId()); err != nil {
		return nil, statusOf(err)
	}
	return &runtimeapi.ReopenContainerLogResponse{}, nil
}

func (s *Server) ExecSync(ctx context.Context, req *runtimeapi.ExecSyncRequest) (*runtimeapi.ExecSyncResponse, error) {
	if err := required("container_id", req.GetContainerId()); err != nil {
		return nil, statusOf(err)
	}
	if len(req.GetCmd()) == 0 || req.GetCmd()[0] == "" {
		return nil, statusOf(invalid("cmd", "required"))
	}
	if req.GetTimeout() < 0 {
		return nil, statusOf(invalid("timeout", "%d is negative", req.GetTimeout()))
	}
	out, errOut, code, err := s.backend.ExecSync(ctx, req.GetContainerId(), req.GetCmd(), req.GetTimeout())
	if err != nil {
		return nil, statusOf(err)
	}
	return &runtimeapi.ExecSyncResponse{Stdout: out, Stderr: errOut, ExitCode: code}, nil
}

func (s *Server) ContainerStats(ctx context.Context, req *runtimeapi.ContainerStatsRequest) (*runtimeapi.ContainerStatsResponse, error) {
	if err := required("container_id", req.GetContainerId()); err != nil {
		return nil, statusOf(err)
	}
	st, err := s.backend.ContainerStats(ctx, req.GetContainerId())
	if err != nil {
		return nil, statusOf(err)
	}
	return &runtimeapi.ContainerStatsResponse{Stats: st}, nil
}

func (s *Server) ListContainerStats(ctx context.Context, req *runtimeapi.ListContainerStatsRequest) (*runtimeapi.ListContainerStatsResponse, error) {
	st, err := s.backend.ListContainerStats(ctx, req.GetFilter())
	if err != nil {
		return nil, statusOf(err)
	}
	return &runtimeapi.ListContainerStatsResponse{Stats: st}, nil
}
