package main

import (
	"context"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// historyStats sizes a run's history: records must never travel through
// it, so its payloads stay small whatever the batch size.
type historyStats struct {
	Events int `json:"events"`
	// MaxEventPayloadBytes is the largest sum of payload data sizes of one
	// event (input, result, heartbeat details, memo, ...).
	MaxEventPayloadBytes int    `json:"max_event_payload_bytes"`
	MaxEventPayloadType  string `json:"max_event_payload_type"`
	// MaxPayloadBytes is the largest single payload's data.
	MaxPayloadBytes int `json:"max_payload_bytes"`
	// MaxEventJSONBytes is the largest event in protojson form, for
	// reference: it includes the events' fixed fields and encoding.
	MaxEventJSONBytes int `json:"max_event_json_bytes"`
	TotalPayloadBytes int `json:"total_payload_bytes"`
}

// runHistory reads the history of a run and sizes it.
func runHistory(ctx context.Context, c client.Client, workflowID, runID string) (historyStats, error) {
	var s historyStats
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return s, fmt.Errorf("history of %s: %w", workflowID, err)
		}
		s.Events++
		sum := 0
		walkPayloads(ev.ProtoReflect(), func(p *commonpb.Payload) {
			n := len(p.GetData())
			sum += n
			s.MaxPayloadBytes = max(s.MaxPayloadBytes, n)
		})
		s.TotalPayloadBytes += sum
		if sum > s.MaxEventPayloadBytes {
			s.MaxEventPayloadBytes, s.MaxEventPayloadType = sum, ev.GetEventType().String()
		}
		b, err := protojson.Marshal(ev)
		if err != nil {
			return s, fmt.Errorf("history of %s: encode event %d: %w", workflowID, ev.GetEventId(), err)
		}
		s.MaxEventJSONBytes = max(s.MaxEventJSONBytes, len(b))
	}
	return s, nil
}

// startToClose is how long a closed run took as the server recorded it:
// from its first event (WorkflowExecutionStarted) to its last (the one
// that closed it).
func startToClose(ctx context.Context, c client.Client, workflowID, runID string) (time.Duration, error) {
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var first, last time.Time
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return 0, fmt.Errorf("history of %s: %w", workflowID, err)
		}
		if first.IsZero() {
			first = ev.GetEventTime().AsTime()
		}
		last = ev.GetEventTime().AsTime()
	}
	if first.IsZero() {
		return 0, fmt.Errorf("history of %s: no events", workflowID)
	}
	return last.Sub(first), nil
}

// walkPayloads calls fn for every Payload held anywhere in m.
func walkPayloads(m protoreflect.Message, fn func(*commonpb.Payload)) {
	if p, ok := m.Interface().(*commonpb.Payload); ok {
		fn(p)
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					walkPayloads(mv.Message(), fn)
					return true
				})
			}
		case fd.IsList():
			if fd.Message() != nil {
				l := v.List()
				for i := range l.Len() {
					walkPayloads(l.Get(i).Message(), fn)
				}
			}
		case fd.Message() != nil:
			walkPayloads(v.Message(), fn)
		}
		return true
	})
}
