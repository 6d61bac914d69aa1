package cri

import (
	"context"
	"io"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-streaming/pkg/streaming"
)

// Backend is the engine side of the CRI. Requests reach it already checked:
// ids are non-empty and configs present. Errors wrap pier's errdefs kinds
// (ErrNotFound, ErrInvalidArgument, ErrNotImplemented, ...), which
// statusOf maps to gRPC codes.
type Backend interface {
	RuntimeInfo(ctx context.Context) (name, version string)
	RuntimeStatus(ctx context.Context) []*runtimeapi.RuntimeCondition
	// RuntimeHandlers are the handlers and the features each has, which
	// Status reports (the kubelet and critest read them).
	RuntimeHandlers() []*runtimeapi.RuntimeHandler
	// RuntimeFeatures are the runtime's features beyond its handlers'.
	RuntimeFeatures() *runtimeapi.RuntimeFeatures
	UpdateRuntimeConfig(ctx context.Context, cfg *runtimeapi.RuntimeConfig) error
	CgroupDriver() runtimeapi.CgroupDriver

	RunPodSandbox(ctx context.Context, cfg *runtimeapi.PodSandboxConfig, handler string) (string, error)
	StopPodSandbox(ctx context.Context, id string) error
	RemovePodSandbox(ctx context.Context, id string) error
	PodSandboxStatus(ctx context.Context, id string) (*runtimeapi.PodSandboxStatus, map[string]string, error)
	ListPodSandbox(ctx context.Context, f *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error)
	PodSandboxStats(ctx context.Context, id string) (*runtimeapi.PodSandboxStats, error)
	ListPodSandboxStats(ctx context.Context, f *runtimeapi.PodSandboxStatsFilter) ([]*runtimeapi.PodSandboxStats, error)

	CreateContainer(ctx context.Context, podID string, cfg *runtimeapi.ContainerConfig, pod *runtimeapi.PodSandboxConfig) (string, error)
	StartContainer(ctx context.Context, id string) error
	StopContainer(ctx context.Context, id string, timeoutSec int64) error
	RemoveContainer(ctx context.Context, id string) error
	ListContainers(ctx context.Context, f *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error)
	ContainerStatus(ctx context.Context, id string) (*runtimeapi.ContainerStatus, map[string]string, error)
	UpdateContainerResources(ctx context.Context, id string, r *runtimeapi.LinuxContainerResources) error
	ReopenContainerLog(ctx context.Context, id string) error
	ExecSync(ctx context.Context, id string, cmd []string, timeoutSec int64) (stdout, stderr []byte, exitCode int32, err error)
	ContainerStats(ctx context.Context, id string) (*runtimeapi.ContainerStats, error)
	ListContainerStats(ctx context.Context, f *runtimeapi.ContainerStatsFilter) ([]*runtimeapi.ContainerStats, error)
	// MetricDescriptors and PodSandboxMetrics are the CRI metrics
	// (cAdvisor's names), which PodSandboxMetrics produces for every pod.
	MetricDescriptors() []*runtimeapi.MetricDescriptor
	PodSandboxMetrics(ctx context.Context) ([]*runtimeapi.PodSandboxMetrics, error)
	// ContainerEvents sends the containers' lifecycle events as they
	// happen, until ctx ends (nil) or send fails.
	ContainerEvents(ctx context.Context, send func(*runtimeapi.ContainerEventResponse) error) error

	// streaming.Runtime: exec, attach and port-forward once the client
	// connects to the streaming server.
	streaming.Runtime

	ListImages(ctx context.Context, f *runtimeapi.ImageFilter) ([]*runtimeapi.Image, error)
	// ImageStatus returns nil, nil for an image that is not there: the CRI
	// answers that with an empty status, not an error.
	ImageStatus(ctx context.Context, ref string) (*runtimeapi.Image, error)
	PullImage(ctx context.Context, ref string, auth *runtimeapi.AuthConfig) (string, error)
	RemoveImage(ctx context.Context, ref string) error
	ImageFsInfo(ctx context.Context) ([]*runtimeapi.FilesystemUsage, error)
}

// discard is an io.WriteCloser that drops what it gets.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) Close() error                { return nil }

var _ io.WriteCloser = discard{}
