package daemon

import (
	"context"
	"errors"

	"github.com/moby/moby/api/types/events"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	eventbus "github.com/pier-engine/pier/internal/daemon/events"
)

// criEventTypes maps the engine's container actions to the CRI's events.
var criEventTypes = map[events.Action]runtimeapi.ContainerEventType{
	events.ActionCreate:  runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT,
	events.ActionStart:   runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT,
	events.ActionDie:     runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT,
	events.ActionDestroy: runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT,
}

// ContainerEvents sends the CRI containers' lifecycle events, taken from
// the engine's event bus, until ctx ends or send fails. Each carries the
// pod's status and its containers' statuses at that moment (a deleted
// container is no longer among them). When the bus drops a reader that
// fell behind, the stream ends with an error and the kubelet subscribes
// again, relisting meanwhile.
func (c *CRI) ContainerEvents(ctx context.Context, send func(*runtimeapi.ContainerEventResponse) error) error {
	_, live, cancel := c.d.SubscribeEvents(eventbus.Filter{Args: map[string][]string{
		"type": {string(events.ContainerEventType)}, "label": {criLabel},
	}})
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-live:
			if !ok {
				return errors.New("container events: this reader fell behind the engine's events; subscribe again")
			}
			ev := c.criEvent(ctx, m)
			if ev == nil {
				continue
			}
			if err := send(ev); err != nil {
				return err
			}
		}
	}
}

// criEvent translates one engine event, nil for actions the CRI has no
// event for and for containers that are not the CRI's.
func (c *CRI) criEvent(ctx context.Context, m events.Message) *runtimeapi.ContainerEventResponse {
	typ, ok := criEventTypes[m.Action]
	podID := m.Actor.Attributes[criLabel]
	if !ok || podID == "" {
		return nil
	}
	ev := &runtimeapi.ContainerEventResponse{ContainerId: m.Actor.ID, ContainerEventType: typ, CreatedAt: m.TimeNano}
	if s, err := c.sandbox(podID); err == nil {
		ev.PodSandboxStatus = s.Status()
		for _, rec := range c.podContainers(s.ID) {
			if st, _, err := c.ContainerStatus(ctx, rec.ID); err == nil {
				ev.ContainersStatuses = append(ev.ContainersStatuses, st)
			}
		}
	}
	return ev
}
