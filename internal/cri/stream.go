package cri

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Exec, Attach and PortForward check that the target exists, then hand out
// a URL of the streaming server, which calls the Backend when the client
// connects.

func (s *Server) Exec(ctx context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	if err := required("container_id", req.GetContainerId()); err != nil {
		return nil, statusOf(err)
	}
	if len(req.GetCmd()) == 0 || req.GetCmd()[0] == "" {
		return nil, statusOf(invalid("cmd", "required"))
	}
	if err := s.running(ctx, req.GetContainerId()); err != nil {
		return nil, statusOf(err)
	}
	resp, err := s.stream.GetExec(req)
	return resp, statusOf(err)
}

func (s *Server) Attach(ctx context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	if err := required("container_id", req.GetContainerId()); err != nil {
		return nil, statusOf(err)
	}
	if err := s.running(ctx, req.GetContainerId()); err != nil {
		return nil, statusOf(err)
	}
	resp, err := s.stream.GetAttach(req)
	return resp, statusOf(err)
}

func (s *Server) PortForward(ctx context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	if err := required("pod_sandbox_id", req.GetPodSandboxId()); err != nil {
		return nil, statusOf(err)
	}
	for _, p := range req.GetPort() {
		if p <= 0 || p > 65535 {
			return nil, statusOf(invalid("port", "%d out of range", p))
		}
	}
	if _, _, err := s.backend.PodSandboxStatus(ctx, req.GetPodSandboxId()); err != nil {
		return nil, statusOf(err)
	}
	resp, err := s.stream.GetPortForward(req)
	return resp, statusOf(err)
}

// running checks that container id exists; the backend refuses an exec in
// a container that is not running.
func (s *Server) running(ctx context.Context, id string) error {
	_, _, err := s.backend.ContainerStatus(ctx, id)
	return err
}
