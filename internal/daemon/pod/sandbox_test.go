package pod

import (
	"errors"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/pier-engine/pier/internal/errdefs"
)

func TestCgroupParent(t *testing.T) {
	for _, c := range []struct{ given, want string }{
		{"", "/pier/kubepods/pod-abc"},
		{"/kubepods/besteffort/pod123", "/pier/kubepods/kubepods/besteffort/pod123"},
		{"../../etc", "/pier/kubepods/etc"}, // never above pier's parent
	} {
		got, err := CgroupParent("/pier/kubepods", c.given, "abc")
		if err != nil || got != c.want {
			t.Errorf("CgroupParent(%q) = %q, %v; want %q", c.given, got, err, c.want)
		}
	}
	_, err := CgroupParent("/pier/kubepods", "kubepods-besteffort.slice", "abc")
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("systemd slice: %v, want invalid argument", err)
	}
}

func TestSandboxFilterAndStatus(t *testing.T) {
	s := &Sandbox{ID: "abcdef", Ready: true, IP: "10.0.0.2", Config: &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: "n"}, Labels: map[string]string{"app": "web"},
	}}
	ready := &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY}
	notReady := &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_NOTREADY}
	for _, c := range []struct {
		f    *runtimeapi.PodSandboxFilter
		want bool
	}{
		{nil, true},
		{&runtimeapi.PodSandboxFilter{Id: "abc"}, true},
		{&runtimeapi.PodSandboxFilter{Id: "x"}, false},
		{&runtimeapi.PodSandboxFilter{State: ready}, true},
		{&runtimeapi.PodSandboxFilter{State: notReady}, false},
		{&runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"app": "web"}}, true},
		{&runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"app": "db"}}, false},
	} {
		if got := s.Matches(c.f); got != c.want {
			t.Errorf("Matches(%v) = %v", c.f, got)
		}
	}
	if st := s.Status(); st.GetNetwork().GetIp() != "10.0.0.2" || st.GetState() != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Errorf("status = %v", st)
	}
	s.Config.Linux = &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
		NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE}}}
	if !s.HostNetwork() || s.Status().GetNetwork().GetIp() != "" {
		t.Errorf("hostNetwork pod shows an IP: %v", s.Status().GetNetwork())
	}
	if LogPath("/var/log/pods/x", "c/0.log") != "/var/log/pods/x/c/0.log" || LogPath("", "c.log") != "" {
		t.Error("LogPath")
	}
}
