// Package events is pierd's event bus: the engine publishes what happens
// to its containers, images, networks and volumes, and the API's
// /events streams it. The bus keeps the last events for `docker events
// --since`, never waits for a reader (one that falls behind is dropped),
// and applies docker's event filters (type, event, container, image,
// volume, network, label, scope) and the since/until window itself, so
// the server only encodes what it receives.
//
// Lifecycle of a subscription:
//
//	past, live, cancel := bus.Subscribe(Filter{Since, Until, Args})
//	... write past, then read live until it is closed ...
//	cancel()
//
// It is part of the engine (L3) and imports nothing of internal/daemon.
package events
