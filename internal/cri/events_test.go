package cri

import (
	"context"
	"errors"
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
