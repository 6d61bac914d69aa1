package cri

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// eventsBackend sends its events, then returns end.
type eventsBackend struct {
	fakeBackend
	events []*runtimeapi.ContainerEventResponse
	end    error
}

func (b *eventsBackend) ContainerEvents(ctx context.Context, send func(*runtimeapi.ContainerEventResponse) error) error {
	for _, e := range b.events {
		if err := send(e); err != nil {
			return err
		}
	}
	return b.end
}

type fakeEventStream struct {
	grpc.ServerStream
	ctx  context.Context
	sent []*runtimeapi.ContainerEventResponse
}

func (s *fakeEventStream) Context() context.Context { return s.ctx }
func (s *fakeEventStream) Send(e *runtimeapi.ContainerEventResponse) error {
	s.sent = append(s.sent, e)
	return nil
}

func TestGetContainerEvents(t *testing.T) {
	evs := []*runtimeapi.ContainerEventResponse{
		{ContainerId: "c1", ContainerEventType: runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT},
		{ContainerId: "c1", ContainerEventType: runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT},
	}
	b := &eventsBackend{events: evs}
	s := &Server{backend: b}
	st := &fakeEventStream{ctx: context.Background()}
	if err := s.GetContainerEvents(&runtimeapi.GetEventsRequest{}, st); err != nil {
		t.Fatalf("GetContainerEvents: %v", err)
	}
	if len(st.sent) != 2 || st.sent[1].GetContainerEventType() != runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT {
		t.Errorf("sent %v", st.sent)
	}
	b.end = errors.New("fell behind")
	err := s.GetContainerEvents(&runtimeapi.GetEventsRequest{}, &fakeEventStream{ctx: context.Background()})
	if status.Code(err) != codes.Unknown || err == nil {
		t.Errorf("a backend error: %v, want a gRPC status", err)
	}
}

// listBackend lists n containers.
type listBackend struct {
	fakeBackend
	n int
}

func (b *listBackend) ListContainers(context.Context, *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error) {
	out := make([]*runtimeapi.Container, b.n)
	for i := range out {
		out[i] = &runtimeapi.Container{Id: fmt.Sprint(i)}
	}
	return out, nil
}

type fakeContainersStream struct {
	grpc.ServerStream
	sent []*runtimeapi.StreamContainersResponse
}

func (s *fakeContainersStream) Context() context.Context { return context.Background() }
func (s *fakeContainersStream) Send(r *runtimeapi.StreamContainersResponse) error {
	s.sent = append(s.sent, r)
	return nil
}

// The Stream* lists send the whole list in chunks, and one empty message
// for an empty list.
func TestStreamContainersChunks(t *testing.T) {
	for n, msgs := range map[int]int{0: 1, 1: 1, streamChunk: 1, streamChunk + 1: 2, 2*streamChunk + 5: 3} {
		st := &fakeContainersStream{}
		if err := (&Server{backend: &listBackend{n: n}}).StreamContainers(&runtimeapi.StreamContainersRequest{}, st); err != nil {
			t.Fatal(err)
		}
		got := 0
		for _, m := range st.sent {
			for _, c := range m.GetContainers() {
				if c.GetId() != fmt.Sprint(got) {
					t.Errorf("n=%d: container %d is %q", n, got, c.GetId())
				}
				got++
			}
		}
		if len(st.sent) != msgs || got != n {
			t.Errorf("n=%d: %d messages with %d containers, want %d with %d", n, len(st.sent), got, msgs, n)
		}
	}
}

type handlersBackend struct{ fakeBackend }

func (handlersBackend) RuntimeStatus(context.Context) []*runtimeapi.RuntimeCondition { return nil }
func (handlersBackend) RuntimeFeatures() *runtimeapi.RuntimeFeatures {
	return &runtimeapi.RuntimeFeatures{SupplementalGroupsPolicy: true}
}
func (handlersBackend) RuntimeHandlers() []*runtimeapi.RuntimeHandler {
	return []*runtimeapi.RuntimeHandler{{Name: "", Features: &runtimeapi.RuntimeHandlerFeatures{RecursiveReadOnlyMounts: true}}}
}

// Status carries the handlers' features: critest and the kubelet read
// recursive read-only support there.
func TestStatusRuntimeHandlers(t *testing.T) {
	r, err := (&Server{backend: &handlersBackend{}}).Status(context.Background(), &runtimeapi.StatusRequest{})
	if err != nil || len(r.GetRuntimeHandlers()) != 1 || !r.GetRuntimeHandlers()[0].GetFeatures().GetRecursiveReadOnlyMounts() ||
		!r.GetFeatures().GetSupplementalGroupsPolicy() {
		t.Errorf("Status: %v %v", r, err)
	}
}
