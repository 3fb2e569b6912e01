package main

// The NATS JetStream protocol binding of the Go SDK (protocol/nats_jetstream/v2), exercised without a
// server: WriteMsg fills a nats.Msg exactly as the binding's Sender does before publishing, and
// NewMessage + binding.ToEvent read one exactly as its Receiver does after consuming.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"

	cejsm "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"
)

// natsMsg is a nats.Msg's headers and payload; Headers is null when the SDK set no header map at all.
type natsMsg struct {
	Headers    nats.Header `json:"headers"`
	DataBase64 *string     `json:"data_base64,omitempty"`
}

type natsWritten struct {
	Binary     *natsMsg `json:"binary,omitempty"`
	Structured *natsMsg `json:"structured,omitempty"`
	Error      string   `json:"error,omitempty"`
}

// natsEvent is an event as the SDK read it: attributes as canonical strings, extensions as the SDK
// holds them (strings from headers; JSON numbers and booleans as int32 and bool), data as exact bytes.
type natsEvent struct {
	Attributes map[string]string `json:"attributes"`
	Extensions map[string]any    `json:"extensions"`
	DataBase64 *string           `json:"data_base64,omitempty"`
}

type natsReadResult struct {
	OK       bool       `json:"ok"`
	Encoding string     `json:"encoding,omitempty"`
	Event    *natsEvent `json:"event,omitempty"`
	Error    string     `json:"error,omitempty"`
}

func natsWrite(in io.Reader, out io.Writer) error {
	var events []json.RawMessage
	if err := json.NewDecoder(in).Decode(&events); err != nil {
		return fmt.Errorf("stdin: a JSON array of events: %w", err)
	}
	results := make([]natsWritten, 0, len(events))
	for _, raw := range events {
		var ev cloudevents.Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			results = append(results, natsWritten{Error: "event JSON: " + err.Error()})
			continue
		}
		binary, err := writeNats(cloudevents.WithEncodingBinary(context.Background()), &ev)
		if err != nil {
			results = append(results, natsWritten{Error: "binary: " + err.Error()})
			continue
		}
		structured, err := writeNats(cloudevents.WithEncodingStructured(context.Background()), &ev)
		if err != nil {
			results = append(results, natsWritten{Error: "structured: " + err.Error()})
			continue
		}
		results = append(results, natsWritten{Binary: binary, Structured: structured})
	}
	return json.NewEncoder(out).Encode(results)
}

// writeNats builds the nats.Msg the binding's Sender publishes for this event.
func writeNats(ctx context.Context, ev *cloudevents.Event) (*natsMsg, error) {
	var payload bytes.Buffer
	header, err := cejsm.WriteMsg(ctx, binding.ToMessage(ev), &payload)
	if err != nil {
		return nil, err
	}
	msg := nats.Msg{Header: header, Data: payload.Bytes()}
	data := base64.StdEncoding.EncodeToString(msg.Data)
	return &natsMsg{Headers: msg.Header, DataBase64: &data}, nil
}

func natsRead(in io.Reader, out io.Writer) error {
	var msgs []natsMsg
	if err := json.NewDecoder(in).Decode(&msgs); err != nil {
		return fmt.Errorf("stdin: a JSON array of messages: %w", err)
	}
	results := make([]natsReadResult, 0, len(msgs))
	for _, m := range msgs {
		msg := &nats.Msg{Subject: "interop", Header: m.Headers}
		if m.DataBase64 != nil {
			data, err := base64.StdEncoding.DecodeString(*m.DataBase64)
			if err != nil {
				return fmt.Errorf("data_base64: %w", err)
			}
			msg.Data = data
		}
		message := cejsm.NewMessage(msg)
		ev, err := binding.ToEvent(context.Background(), message)
		if err == nil {
			err = ev.Validate()
		}
		if err != nil {
			results = append(results, natsReadResult{Encoding: message.ReadEncoding().String(), Error: err.Error()})
			continue
		}
		results = append(results, natsReadResult{OK: true, Encoding: message.ReadEncoding().String(), Event: describeNats(ev)})
	}
	return json.NewEncoder(out).Encode(results)
}

func describeNats(ev *cloudevents.Event) *natsEvent {
	r := &natsEvent{
		Attributes: map[string]string{"specversion": ev.SpecVersion(), "id": ev.ID(), "source": ev.Source(), "type": ev.Type()},
		Extensions: map[string]any{},
	}
	schema := "dataschema"
	if ev.SpecVersion() == cloudevents.VersionV03 {
		schema = "schemaurl"
	}
	optional := map[string]string{
		"subject":             ev.Subject(),
		"datacontenttype":     ev.DataContentType(),
		schema:                ev.DataSchema(),
		"datacontentencoding": ev.DeprecatedDataContentEncoding(),
	}
	if !ev.Time().IsZero() {
		optional["time"] = types.FormatTime(ev.Time())
	}
	for k, v := range optional {
		if v != "" {
			r.Attributes[k] = v
		}
	}
	for k, v := range ev.Extensions() {
		switch v.(type) {
		case string, bool, int32:
			r.Extensions[k] = v
		default:
			s, err := types.Format(v)
			if err != nil {
				s = fmt.Sprintf("<%v: %v>", v, err)
			}
			r.Extensions[k] = s
		}
	}
	if data := ev.Data(); data != nil {
		s := base64.StdEncoding.EncodeToString(data)
		r.DataBase64 = &s
	}
	return r
}
