package cri

import (
	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// streamChunk is how many items one message of a Stream* call carries:
// the streamed lists exist so that a node with many objects is not held
// to gRPC's message size limit, which one List answer can exceed.
const streamChunk = 200

// sendChunks sends items in messages of at most streamChunk; an empty list
// is one empty message, as the list call would answer.
func sendChunks[T any, R any](items []T, wrap func([]T) *R, stream grpc.ServerStreamingServer[R]) error {
	for i := 0; i == 0 || i < len(items); i += streamChunk {
		if err := stream.Send(wrap(items[i:min(i+streamChunk, len(items))])); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) StreamPodSandboxes(req *runtimeapi.StreamPodSandboxesRequest, stream runtimeapi.RuntimeService_StreamPodSandboxesServer) error {
	items, err := s.backend.ListPodSandbox(stream.Context(), req.GetFilter())
	if err != nil {
		return statusOf(err)
	}
	return sendChunks(items, func(c []*runtimeapi.PodSandbox) *runtimeapi.StreamPodSandboxesResponse {
		return &runtimeapi.StreamPodSandboxesResponse{PodSandboxes: c}
	}, stream)
}

func (s *Server) StreamContainers(req *runtimeapi.StreamContainersRequest, stream runtimeapi.RuntimeService_StreamContainersServer) error {
	items, err := s.backend.ListContainers(stream.Context(), req.GetFilter())
	if err != nil {
		return statusOf(err)
	}
	return sendChunks(items, func(c []*runtimeapi.Container) *runtimeapi.StreamContainersResponse {
		return &runtimeapi.StreamContainersResponse{Containers: c}
	}, stream)
}

func (s *Server) StreamContainerStats(req *runtimeapi.StreamContainerStatsRequest, stream runtimeapi.RuntimeService_StreamContainerStatsServer) error {
	items, err := s.backend.ListContainerStats(stream.Context(), req.GetFilter())
	if err != nil {
		return statusOf(err)
	}
	return sendChunks(items, func(c []*runtimeapi.ContainerStats) *runtimeapi.StreamContainerStatsResponse {
		return &runtimeapi.StreamContainerStatsResponse{ContainerStats: c}
	}, stream)
}

func (s *Server) StreamPodSandboxStats(req *runtimeapi.StreamPodSandboxStatsRequest, stream runtimeapi.RuntimeService_StreamPodSandboxStatsServer) error {
	items, err := s.backend.ListPodSandboxStats(stream.Context(), req.GetFilter())
	if err != nil {
		return statusOf(err)
	}
	return sendChunks(items, func(c []*runtimeapi.PodSandboxStats) *runtimeapi.StreamPodSandboxStatsResponse {
		return &runtimeapi.StreamPodSandboxStatsResponse{PodSandboxStats: c}
	}, stream)
}

func (s *Server) StreamPodSandboxMetrics(_ *runtimeapi.StreamPodSandboxMetricsRequest, stream runtimeapi.RuntimeService_StreamPodSandboxMetricsServer) error {
	items, err := s.backend.PodSandboxMetrics(stream.Context())
	if err != nil {
		return statusOf(err)
	}
	return sendChunks(items, func(c []*runtimeapi.PodSandboxMetrics) *runtimeapi.StreamPodSandboxMetricsResponse {
		return &runtimeapi.StreamPodSandboxMetricsResponse{PodSandboxMetrics: c}
	}, stream)
}

func (s *Server) StreamImages(req *runtimeapi.StreamImagesRequest, stream runtimeapi.ImageService_StreamImagesServer) error {
	items, err := s.backend.ListImages(stream.Context(), req.GetFilter())
	if err != nil {
		return statusOf(err)
	}
	return sendChunks(items, func(c []*runtimeapi.Image) *runtimeapi.StreamImagesResponse {
		return &runtimeapi.StreamImagesResponse{Images: c}
	}, stream)
}
