package server

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/logfile"
)

// fakeContainers knows one container, "c1" (id "abc123"), and records
// what the server passed. The methods it lacks are the nil embedded
// interface's: a test that reaches one panics.
type fakeContainers struct {
	ContainerBackend
	running  bool
	created  container.CreateRequest
	name     string
	cond     container.WaitCondition
	signal   string
	timeout  *int
	force    bool
	all      bool
	filters  map[string][]string
	logOpts  logfile.ReadOptions
	entries  []logfile.Entry
	tty      bool
	attached bool
}

func (f *fakeContainers) find(ref string) error {
	if ref != "c1" && ref != "abc123" {
		return fmt.Errorf("No such container: %s: %w", ref, errdefs.ErrNotFound)
	}
	return nil
}

func (f *fakeContainers) ContainerCreate(_ context.Context, name string, req container.CreateRequest) (container.CreateResponse, error) {
	if req.Config == nil || req.Image == "" {
		return container.CreateResponse{}, fmt.Errorf("no image: %w", errdefs.ErrInvalidArgument)
	}
	if req.Image == "nothere" {
		return container.CreateResponse{}, fmt.Errorf("No such image: nothere: %w", errdefs.ErrNotFound)
	}
	if name == "c1" {
		return container.CreateResponse{}, fmt.Errorf("name in use: %w", errdefs.ErrConflict)
	}
	f.created, f.name = req, name
	return container.CreateResponse{ID: "abc123"}, nil
}

func (f *fakeContainers) ContainerStart(_ context.Context, ref string) error {
	if err := f.find(ref); err != nil {
		return err
	}
	if f.running {
		return fmt.Errorf("running: %w", errdefs.ErrAlreadyExists)
	}
	f.running = true
	return nil
}

func (f *fakeContainers) ContainerWait(_ context.Context, ref string, cond container.WaitCondition) (container.WaitResponse, error) {
	f.cond = cond
	return container.WaitResponse{StatusCode: 3}, f.find(ref)
}

func (f *fakeContainers) ContainerKill(_ context.Context, ref, sig string) error {
	f.signal = sig
	return f.find(ref)
}

func (f *fakeContainers) ContainerStop(_ context.Context, ref string, timeout *int) error {
	if err := f.find(ref); err != nil {
		return err
	}
	f.timeout = timeout
	if !f.running {
		return fmt.Errorf("stopped: %w", errdefs.ErrNotRunning)
	}
	f.running = false
	return nil
}

func (f *fakeContainers) ContainerDelete(_ context.Context, ref string, force, _, _ bool) error {
	if err := f.find(ref); err != nil {
		return err
	}
	f.force = force
	if f.running && !force {
		return fmt.Errorf("running: %w", errdefs.ErrConflict)
	}
	return nil
}

func (f *fakeContainers) ContainerInspect(_ context.Context, ref string) (container.InspectResponse, error) {
	if err := f.find(ref); err != nil {
		return container.InspectResponse{}, err
	}
	mac, _ := net.ParseMAC("02:42:ac:11:00:0a")
	return container.InspectResponse{ID: "abc123", Name: "/c1", Config: &container.Config{Tty: f.tty},
		State: &container.State{Status: container.StateRunning, Running: f.running, Pid: 42},
		NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{
			"bridge": {MacAddress: network.HardwareAddr(mac), IPAddress: netip.MustParseAddr("172.17.0.2"), IPPrefixLen: 16}}}}, nil
}

func (f *fakeContainers) ContainerSize(_ context.Context, id string) (int64, int64, error) {
	return int64(len(id)), 1000 + int64(len(id)), nil
}

func (f *fakeContainers) ContainerList(_ context.Context, all bool, filters map[string][]string) ([]container.Summary, error) {
	f.all, f.filters = all, filters
	if !all {
		return nil, nil
	}
	return []container.Summary{{ID: "abc123", Names: []string{"/c1"}, State: container.StateExited},
		{ID: "def456", Names: []string{"/c2"}, State: container.StateExited}}, nil
}

func (f *fakeContainers) ContainerLogs(_ context.Context, ref string, opts logfile.ReadOptions, fn func(logfile.Entry) error) error {
	f.logOpts = opts
	for _, e := range f.entries {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// ContainerAttachStreams sends the entries to the client's streams.
func (f *fakeContainers) ContainerAttachStreams(_ context.Context, ref string, logs, stream bool, detachKeys string,
	streams func(tty bool) (io.Reader, io.Writer, io.Writer, error)) error {
	if err := f.find(ref); err != nil {
		return err
	}
	_, stdout, stderr, err := streams(f.tty)
	if err != nil {
		return err
	}
	f.attached = true
	ew := &entryWriter{stdout: stdout, stderr: stderr}
	for _, e := range f.entries {
		if err := ew.entry(e); err != nil {
			return err
		}
	}
	return nil
}

// ContainerProcessInfo knows c1 as pid 42 in its cgroup.
func (f *fakeContainers) ContainerProcessInfo(_ context.Context, ref string) (string, int, int, map[string]string, error) {
	if err := f.find(ref); err != nil {
		return "", 0, 0, nil, err
	}
	return "/pier/abc123", 42, 41, nil, nil
}

func newContainerServer(f *fakeContainers) *Server {
	return New(Config{Backend: &fakeBackend{}, Containers: f, Version: "9.8.7"})
}

func TestContainerCreate(t *testing.T) {
	f := &fakeContainers{}
	s := newContainerServer(f)
	rec := doBody(t, s, "POST", "/v1.50/containers/create?name=web", "application/json",
		`{"Image":"busybox","Cmd":["echo","hi"],"HostConfig":{"AutoRemove":true}}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create = %d %s", rec.Code, rec.Body)
	}
	var resp container.CreateResponse
	decodeInto(t, rec, &resp)
	if resp.ID != "abc123" || resp.Warnings == nil || !strings.Contains(rec.Body.String(), `"Warnings":[]`) {
		t.Errorf("create body = %s", rec.Body)
	}
	if f.name != "web" || f.created.Image != "busybox" || f.created.HostConfig == nil || !f.created.HostConfig.AutoRemove ||
		strings.Join(f.created.Cmd, " ") != "echo hi" {
		t.Errorf("backend got name %q, %+v", f.name, f.created)
	}
	for _, tc := range []struct {
		query, body string
		want        int
	}{
		{"", `{"Image":"nothere"}`, http.StatusNotFound},
		{"?name=c1", `{"Image":"busybox"}`, http.StatusConflict},
		{"", `{}`, http.StatusBadRequest},
		{"", `{"Image":`, http.StatusBadRequest},
	} {
		if rec := doBody(t, s, "POST", "/containers/create"+tc.query, "application/json", tc.body); rec.Code != tc.want {
			t.Errorf("create%s %s = %d %s, want %d", tc.query, tc.body, rec.Code, rec.Body, tc.want)
		}
	}
}

func TestContainerStartStopKillRemove(t *testing.T) {
	f := &fakeContainers{}
	s := newContainerServer(f)
	steps := []struct {
		method, path string
		want         int
	}{
		{"POST", "/containers/c1/start", http.StatusNoContent},
		{"POST", "/containers/c1/start", http.StatusNotModified},
		{"POST", "/containers/nope/start", http.StatusNotFound},
		{"POST", "/containers/c1/kill?signal=SIGUSR1", http.StatusNoContent},
		{"DELETE", "/containers/c1", http.StatusConflict},
		{"POST", "/containers/c1/stop?t=3", http.StatusNoContent},
		{"POST", "/containers/c1/stop", http.StatusNotModified},
		{"POST", "/containers/c1/stop?t=x", http.StatusBadRequest},
		{"DELETE", "/containers/abc123?force=1&v=1", http.StatusNoContent},
		{"DELETE", "/containers/nope", http.StatusNotFound},
	}
	for _, st := range steps {
		rec := doBody(t, s, st.method, st.path, "", "")
		if rec.Code != st.want {
			t.Errorf("%s %s = %d %s, want %d", st.method, st.path, rec.Code, rec.Body, st.want)
		}
	}
	if f.signal != "SIGUSR1" || !f.force {
		t.Errorf("signal %q, force %v", f.signal, f.force)
	}
	if f.timeout != nil {
		t.Errorf("stop without t passed timeout %d", *f.timeout)
	}
}

func TestContainerWait(t *testing.T) {
	f := &fakeContainers{}
	s := newContainerServer(f)
	rec := doBody(t, s, "POST", "/containers/c1/wait?condition=next-exit", "", "")
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"StatusCode":3}` || f.cond != container.WaitConditionNextExit {
		t.Errorf("wait = %d %s (condition %q)", rec.Code, rec.Body, f.cond)
	}
	if rec := doBody(t, s, "POST", "/containers/c1/wait", "", ""); f.cond != container.WaitConditionNotRunning || rec.Code != http.StatusOK {
		t.Errorf("wait without condition: %d, condition %q", rec.Code, f.cond)
	}
	if rec := doBody(t, s, "POST", "/containers/c1/wait?condition=bogus", "", ""); rec.Code != http.StatusBadRequest {
		t.Errorf("bad condition = %d", rec.Code)
	}
	if rec := doBody(t, s, "POST", "/containers/nope/wait", "", ""); rec.Code != http.StatusNotFound {
		t.Errorf("wait for unknown = %d", rec.Code)
	}
}

func TestContainerInspectList(t *testing.T) {
	f := &fakeContainers{running: true}
	s := newContainerServer(f)
	rec := doBody(t, s, "GET", "/containers/c1/json", "", "")
	var c inspectResponse
	decodeInto(t, rec, &c)
	if rec.Code != http.StatusOK || c.ID != "abc123" || c.State == nil || c.State.Pid != 42 {
		t.Errorf("inspect = %d %s", rec.Code, rec.Body)
	}
	if c.Pier == nil || c.Pier.Pid != 42 || c.Pier.MonitorPid != 41 || c.Pier.CgroupPath != "/pier/abc123" || c.Pier.Namespaces == nil {
		t.Errorf("inspect's Pier object = %+v", c.Pier)
	}
	rec = doBody(t, s, "GET", "/containers/json", "", "")
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != "[]" || f.all {
		t.Errorf("list = %d %s", rec.Code, rec.Body)
	}
	rec = doBody(t, s, "GET", `/containers/json?all=1&filters={"name":{"c1":true}}`, "", "")
	var list []container.Summary
	decodeInto(t, rec, &list)
	if !f.all || len(list) != 2 || list[0].Names[0] != "/c1" || strings.Join(f.filters["name"], ",") != "c1" {
		t.Errorf("list all = %s, filters %v", rec.Body, f.filters)
	}
}

// frames decodes a multiplexed stream into "stream:payload" strings.
func frames(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatalf("frame header: %v", err)
		}
		if hdr[1] != 0 || hdr[2] != 0 || hdr[3] != 0 {
			t.Fatalf("frame header %x", hdr)
		}
		p := make([]byte, binary.BigEndian.Uint32(hdr[4:]))
		if _, err := io.ReadFull(r, p); err != nil {
			t.Fatalf("frame payload: %v", err)
		}
		out = append(out, fmt.Sprintf("%d:%s", hdr[0], p))
	}
}

func testEntries() []logfile.Entry {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	return []logfile.Entry{{Stream: "stdout", Line: []byte("out\n"), Time: at}, {Stream: "stderr", Line: []byte("err\n"), Time: at}}
}

func TestContainerLogs(t *testing.T) {
	f := &fakeContainers{entries: testEntries()}
	s := newContainerServer(f)
	rec := doBody(t, s, "GET", "/containers/c1/logs?stdout=1&stderr=1&follow=1&tail=5&since=1700000000.5", "", "")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/vnd.docker.multiplexed-stream" {
		t.Fatalf("logs = %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if got := strings.Join(frames(t, rec.Body), "|"); got != "1:out\n|2:err\n" {
		t.Errorf("frames = %q", got)
	}
	if !f.logOpts.Follow || f.logOpts.Tail != 5 || !f.logOpts.Since.Equal(time.Unix(1700000000, 5e8)) {
		t.Errorf("options = %+v", f.logOpts)
	}
	rec = doBody(t, s, "GET", "/containers/c1/logs?stderr=1&timestamps=1", "", "")
	if got := strings.Join(frames(t, rec.Body), "|"); got != "2:2026-01-02T03:04:05.000000006Z err\n" || f.logOpts.Tail != -1 {
		t.Errorf("stderr with timestamps = %q, tail %d", got, f.logOpts.Tail)
	}
	for _, q := range []string{"", "?stdout=1&tail=x"} {
		if rec := doBody(t, s, "GET", "/containers/c1/logs"+q, "", ""); rec.Code != http.StatusBadRequest {
			t.Errorf("logs%s = %d", q, rec.Code)
		}
	}
	if rec := doBody(t, s, "GET", "/containers/nope/logs?stdout=1", "", ""); rec.Code != http.StatusNotFound {
		t.Errorf("logs of unknown = %d", rec.Code)
	}
}

func TestContainerAttachUpgrades(t *testing.T) {
	f := &fakeContainers{entries: testEntries()}
	ts := httptest.NewServer(newContainerServer(f))
	defer ts.Close()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST /v1.50/containers/c1/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "tcp" ||
		resp.Header.Get("Content-Type") != "application/vnd.docker.multiplexed-stream" {
		t.Fatalf("attach answered %s %v", resp.Status, resp.Header)
	}
	if got := strings.Join(frames(t, br), "|"); got != "1:out\n|2:err\n" || !f.attached {
		t.Errorf("attach frames = %q", got)
	}
}

// docker-py's create_container(runtime=...) without a host config puts
// "Runtime" at the top level, which dockerd reads as the HostConfig.
func TestContainerCreateTopLevelHostConfig(t *testing.T) {
	f := &fakeContainers{}
	s := newContainerServer(f)
	rec := doBody(t, s, "POST", "/v1.41/containers/create", "application/json", `{"Image":"busybox","Runtime":"runc"}`)
	if rec.Code != http.StatusCreated || f.created.HostConfig == nil || f.created.HostConfig.Runtime != "runc" {
		t.Errorf("create = %d, host config %+v", rec.Code, f.created.HostConfig)
	}
	rec = doBody(t, s, "POST", "/v1.41/containers/create", "application/json", `{"Image":"busybox","Runtime":"runc","HostConfig":{"Privileged":true}}`)
	if rec.Code != http.StatusCreated || f.created.HostConfig.Runtime != "" || !f.created.HostConfig.Privileged {
		t.Errorf("with a HostConfig key the top level is not used: %+v", f.created.HostConfig)
	}
}

// Before API 1.44 inspect's NetworkSettings also carries the primary
// network's address fields at the top (docker-py reads MacAddress there).
func TestContainerInspectLegacyNetworkSettings(t *testing.T) {
	s := newContainerServer(&fakeContainers{running: true})
	for _, tc := range []struct {
		version string
		legacy  bool
	}{{"v1.41", true}, {"v1.43", true}, {"v1.44", false}, {"v1.51", false}} {
		rec := doBody(t, s, "GET", "/"+tc.version+"/containers/c1/json", "", "")
		var c struct{ NetworkSettings map[string]any }
		decodeInto(t, rec, &c)
		mac, hasMac := c.NetworkSettings["MacAddress"]
		if hasMac != tc.legacy || (tc.legacy && (mac != "02:42:ac:11:00:0a" || c.NetworkSettings["IPAddress"] != "172.17.0.2")) {
			t.Errorf("%s: NetworkSettings = %v", tc.version, c.NetworkSettings)
		}
		if c.NetworkSettings["Networks"] == nil {
			t.Errorf("%s: Networks missing: %v", tc.version, c.NetworkSettings)
		}
	}
}

func TestContainerCreateLegacyMacAddress(t *testing.T) {
	f := &fakeContainers{}
	s := newContainerServer(f)
	rec := doBody(t, s, "POST", "/v1.41/containers/create", "application/json", `{"Image":"busybox","MacAddress":"02:42:ac:11:00:0a"}`)
	nc := f.created.NetworkingConfig
	if rec.Code != http.StatusCreated || nc == nil || nc.EndpointsConfig["bridge"] == nil ||
		nc.EndpointsConfig["bridge"].MacAddress.String() != "02:42:ac:11:00:0a" {
		t.Errorf("create = %d, networking config %+v", rec.Code, nc)
	}
	rec = doBody(t, s, "POST", "/v1.41/containers/create", "application/json", `{"Image":"busybox","MacAddress":"not-a-mac"}`)
	if rec.Code != http.StatusBadRequest || !strings.Contains(decodeError(t, rec), "Config.MacAddress") {
		t.Errorf("bad mac: %d %s", rec.Code, rec.Body)
	}
}

// ps's limit counts the newest containers, stopped ones too; the query's
// before and since are filters.
func TestContainerListLimitBeforeSince(t *testing.T) {
	f := &fakeContainers{}
	s := newContainerServer(f)
	rec := doBody(t, s, "GET", "/v1.41/containers/json?limit=1&before=c9&since=c0&size=1", "", "")
	var list []container.Summary
	decodeInto(t, rec, &list)
	if rec.Code != http.StatusOK || len(list) != 1 || !f.all || f.filters["before"][0] != "c9" || f.filters["since"][0] != "c0" ||
		list[0].SizeRw != 6 || list[0].SizeRootFs != 1006 {
		t.Errorf("ps limit=1 = %d %s; all %v filters %v", rec.Code, rec.Body, f.all, f.filters)
	}
	if rec := doBody(t, s, "GET", "/containers/json?limit=x", "", ""); rec.Code != http.StatusBadRequest {
		t.Errorf("limit=x = %d, want 400", rec.Code)
	}
}
