package cri

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/pier-engine/pier/internal/errdefs"
)

// fakeBackend knows one pod "p1" and one container "c1"; any other id is
// not found. Calls it does not expect panic through the nil interface.
type fakeBackend struct {
	Backend
	stopped, removed []string
}

func (f *fakeBackend) lookup(kind, id, want string) error {
	if id != want {
		return fmt.Errorf("%s %s: %w", kind, id, errdefs.ErrNotFound)
	}
	return nil
}

func (f *fakeBackend) StopPodSandbox(_ context.Context, id string) error {
	f.stopped = append(f.stopped, id)
	return f.lookup("pod", id, "p1")
}
func (f *fakeBackend) RemovePodSandbox(_ context.Context, id string) error {
	f.removed = append(f.removed, id)
	return f.lookup("pod", id, "p1")
}
func (f *fakeBackend) PodSandboxStatus(_ context.Context, id string) (*runtimeapi.PodSandboxStatus, map[string]string, error) {
	return &runtimeapi.PodSandboxStatus{Id: id}, nil, f.lookup("pod", id, "p1")
}
func (f *fakeBackend) StopContainer(_ context.Context, id string, _ int64) error {
	return f.lookup("container", id, "c1")
}
func (f *fakeBackend) RemoveContainer(_ context.Context, id string) error {
	return f.lookup("container", id, "c1")
}
func (f *fakeBackend) StartContainer(_ context.Context, id string) error {
	return f.lookup("container", id, "c1")
}
func (f *fakeBackend) ContainerStatus(_ context.Context, id string) (*runtimeapi.ContainerStatus, map[string]string, error) {
	return &runtimeapi.ContainerStatus{Id: id}, nil, f.lookup("container", id, "c1")
}
func (f *fakeBackend) RunPodSandbox(_ context.Context, cfg *runtimeapi.PodSandboxConfig, _ string) (string, error) {
	if cfg.GetLinux().GetSecurityContext().GetSelinuxOptions() != nil {
		return "", fmt.Errorf("config.linux.security_context.selinux_options: SELinux is not enabled on this host: %w", errdefs.ErrNotImplemented)
	}
	return "p1", nil
}
func (f *fakeBackend) CreateContainer(context.Context, string, *runtimeapi.ContainerConfig, *runtimeapi.PodSandboxConfig) (string, error) {
	return "c1", nil
}
func (f *fakeBackend) RemoveImage(_ context.Context, ref string) error {
	return f.lookup("image", ref, "busybox")
}
func (f *fakeBackend) ExecSync(_ context.Context, id string, _ []string, _ int64) ([]byte, []byte, int32, error) {
	return []byte("out"), nil, 3, f.lookup("container", id, "c1")
}

func newTestServer(t *testing.T) (*Server, *fakeBackend) {
	t.Helper()
	f := &fakeBackend{}
	s, err := New(Config{Socket: t.TempDir() + "/cri.sock"}, f)
	if err != nil {
		t.Fatal(err)
	}
	return s, f
}

func goodPod() *runtimeapi.PodSandboxConfig {
	return &runtimeapi.PodSandboxConfig{Metadata: &runtimeapi.PodSandboxMetadata{Name: "n", Uid: "u", Namespace: "ns"}}
}

func goodContainer() *runtimeapi.ContainerConfig {
	return &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "c"},
		Image:    &runtimeapi.ImageSpec{Image: "busybox"},
	}
}

// wantCode checks the gRPC code and that the message names field.
func wantCode(t *testing.T, name string, err error, code codes.Code, field string) {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != code {
		t.Errorf("%s: code %v (%v), want %v", name, st.Code(), err, code)
		return
	}
	if field != "" && !strings.Contains(st.Message(), field) {
		t.Errorf("%s: message %q does not name %q", name, st.Message(), field)
	}
}

func TestBadInputCodes(t *testing.T) {
	s, _ := newTestServer(t)
	ctx := context.Background()
	noName := goodPod()
	noName.Metadata.Name = ""
	badPort := goodPod()
	badPort.PortMappings = []*runtimeapi.PortMapping{{ContainerPort: 70000}}
	noImage := goodContainer()
	noImage.Image = nil
	noMountPath := goodContainer()
	noMountPath.Mounts = []*runtimeapi.Mount{{HostPath: "/tmp"}}
	selinux := goodPod()
	selinux.Linux = &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{SelinuxOptions: &runtimeapi.SELinuxOption{Type: "t"}}}

	cases := []struct {
		name  string
		call  func() error
		code  codes.Code
		field string
	}{
		{"run no config", func() error { _, err := s.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{}); return err }, codes.InvalidArgument, "config"},
		{"run no metadata", func() error {
			_, err := s.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{}})
			return err
		}, codes.InvalidArgument, "config.metadata"},
		{"run no name", func() error {
			_, err := s.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: noName})
			return err
		}, codes.InvalidArgument, "config.metadata.name"},
		{"run bad port", func() error {
			_, err := s.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: badPort})
			return err
		}, codes.InvalidArgument, "container_port"},
		{"run selinux", func() error {
			_, err := s.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: selinux})
			return err
		}, codes.Unimplemented, "selinux_options"},
		{"pod status no id", func() error { _, err := s.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{}); return err }, codes.InvalidArgument, "pod_sandbox_id"},
		{"pod status unknown", func() error {
			_, err := s.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: "nope"})
			return err
		}, codes.NotFound, "nope"},
		{"create no pod", func() error {
			_, err := s.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{Config: goodContainer()})
			return err
		}, codes.InvalidArgument, "pod_sandbox_id"},
		{"create no image", func() error {
			_, err := s.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: "p1", Config: noImage})
			return err
		}, codes.InvalidArgument, "config.image"},
		{"create mount path", func() error {
			_, err := s.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: "p1", Config: noMountPath})
			return err
		}, codes.InvalidArgument, "config.mounts.container_path"},
		{"start unknown", func() error {
			_, err := s.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: "zz"})
			return err
		}, codes.NotFound, "zz"},
		{"stop negative timeout", func() error {
			_, err := s.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: "c1", Timeout: -1})
			return err
		}, codes.InvalidArgument, "timeout"},
		{"execsync no cmd", func() error { _, err := s.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: "c1"}); return err }, codes.InvalidArgument, "cmd"},
		{"exec unknown", func() error {
			_, err := s.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: "zz", Cmd: []string{"sh"}, Stdout: true})
			return err
		}, codes.NotFound, "zz"},
		{"portforward bad port", func() error {
			_, err := s.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: "p1", Port: []int32{0}})
			return err
		}, codes.InvalidArgument, "port"},
		{"pull no image", func() error { _, err := s.PullImage(ctx, &runtimeapi.PullImageRequest{}); return err }, codes.InvalidArgument, "image"},
		{"status no image name", func() error {
			_, err := s.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{}})
			return err
		}, codes.InvalidArgument, "image.image"},
		{"checkpoint", func() error {
			_, err := s.CheckpointContainer(ctx, &runtimeapi.CheckpointContainerRequest{ContainerId: "c1"})
			return err
		}, codes.Unimplemented, "CheckpointContainer"},
		{"update config", func() error {
			_, err := s.UpdateRuntimeConfig(ctx, &runtimeapi.UpdateRuntimeConfigRequest{})
			return err
		}, codes.InvalidArgument, "runtime_config"},
	}
	for _, c := range cases {
		wantCode(t, c.name, c.call(), c.code, c.field)
	}
}

// The CRI makes stop and remove of something already gone a success
// (containerd 1.6 fails two critest specs there).
func TestStopRemoveUnknownSucceed(t *testing.T) {
	s, f := newTestServer(t)
	ctx := context.Background()
	if _, err := s.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: "gone"}); err != nil {
		t.Errorf("StopPodSandbox unknown: %v", err)
	}
	if _, err := s.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: "gone"}); err != nil {
		t.Errorf("RemovePodSandbox unknown: %v", err)
	}
	if _, err := s.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: "gone"}); err != nil {
		t.Errorf("StopContainer unknown: %v", err)
	}
	if _, err := s.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: "gone"}); err != nil {
		t.Errorf("RemoveContainer unknown: %v", err)
	}
	if _, err := s.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: "gone"}}); err != nil {
		t.Errorf("RemoveImage unknown: %v", err)
	}
	if len(f.stopped) != 1 || f.stopped[0] != "gone" || len(f.removed) != 1 {
		t.Errorf("backend not called: stopped %v removed %v", f.stopped, f.removed)
	}
	wantCode(t, "stop pod no id", func() error { _, err := s.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{}); return err }(), codes.InvalidArgument, "pod_sandbox_id")
}

func TestHappyPath(t *testing.T) {
	s, _ := newTestServer(t)
	ctx := context.Background()
	r, err := s.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: goodPod()})
	if err != nil || r.PodSandboxId != "p1" {
		t.Fatalf("RunPodSandbox: %v %v", r, err)
	}
	c, err := s.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: "p1", Config: goodContainer(), SandboxConfig: goodPod()})
	if err != nil || c.ContainerId != "c1" {
		t.Fatalf("CreateContainer: %v %v", c, err)
	}
	e, err := s.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: "c1", Cmd: []string{"true"}})
	if err != nil || string(e.Stdout) != "out" || e.ExitCode != 3 {
		t.Fatalf("ExecSync: %v %v", e, err)
	}
}

func TestStatusOf(t *testing.T) {
	for _, c := range []struct {
		err  error
		code codes.Code
	}{
		{fmt.Errorf("x: %w", errdefs.ErrInvalidArgument), codes.InvalidArgument},
		{fmt.Errorf("x: %w", errdefs.ErrNotFound), codes.NotFound},
		{fmt.Errorf("x: %w", errdefs.ErrNotImplemented), codes.Unimplemented},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
		{status.Error(codes.Aborted, "a"), codes.Aborted},
		{fmt.Errorf("plain"), codes.Unknown},
	} {
		if got := status.Code(statusOf(c.err)); got != c.code {
			t.Errorf("statusOf(%v) = %v, want %v", c.err, got, c.code)
		}
	}
	if statusOf(nil) != nil {
		t.Error("statusOf(nil) != nil")
	}
}
