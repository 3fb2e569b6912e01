// Command sdk-go is the official CloudEvents Go SDK (the one upstream Knative and most Go subscribers
// use) wrapped for interoperability tests:
//
//	sdk-go receive [port]                       HTTP receiver; prints {"listening":<port>}, then one
//	                                             JSON line per received event on stdout
//	sdk-go send <url> <binary|structured> [event-json]
//	                                             POSTs one event (JSON event format, from the argument
//	                                             or stdin); prints {"status":<code>}
//	sdk-go nats-write                            NATS JetStream binding, no server: stdin is a JSON array of
//	                                             events (JSON event format); prints a JSON array of
//	                                             {"binary": Msg, "structured": Msg} or {"error": "..."}, each
//	                                             Msg the nats.Msg the SDK's WriteMsg fills (as its Sender does)
//	sdk-go nats-read                             stdin is a JSON array of Msg; prints a JSON array of
//	                                             {"ok": true, "encoding": ..., "event": ...} or
//	                                             {"ok": false, "error": "..."}: what NewMessage + binding.ToEvent
//	                                             read (and Event.Validate accepts, as the SDK's client checks)
//
// Msg is {"headers": {name: [values]} or null, "data_base64": "..."}: a nats.Msg's Header and Data.
//
// Every attribute and extension is printed as the SDK's canonical string of its value (nats-read prints
// extensions as the SDK holds them: strings, int32 as numbers, booleans), so a test can compare exact
// strings; "headers" has the ce-* and content-type headers as the SDK received them (a value that is
// not UTF-8 as "base64:" and its bytes, since JSON text cannot hold it).
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/cloudevents/sdk-go/v2/types"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "receive":
		err = receive(os.Args[2:])
	case "send":
		err = send(os.Args[2:])
	case "nats-write":
		err = natsWrite(os.Stdin, os.Stdout)
	case "nats-read":
		err = natsRead(os.Stdin, os.Stdout)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sdk-go:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: sdk-go receive [port] | sdk-go send <url> <binary|structured> [event-json] | sdk-go nats-write | sdk-go nats-read")
	os.Exit(2)
}

// received is one event as the SDK read it.
type received struct {
	Attributes map[string]string `json:"attributes"`
	Extensions map[string]string `json:"extensions"`
	// Data is the payload as text when it is valid UTF-8; DataBase64 always holds the exact bytes.
	Data       *string           `json:"data,omitempty"`
	DataBase64 string            `json:"data_base64,omitempty"`
	Encoding   string            `json:"encoding"`
	Headers    map[string]string `json:"headers"`
}

func receive(args []string) error {
	port := 0
	if len(args) > 0 {
		p, err := strconv.Atoi(args[0])
		if err != nil {
			return fmt.Errorf("port %q: %w", args[0], err)
		}
		port = p
	}
	listener, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	client, err := cloudevents.NewClientHTTP(
		cehttp.WithListener(listener),
		cehttp.WithRequestDataAtContextMiddleware(),
	)
	if err != nil {
		return err
	}
	out := json.NewEncoder(os.Stdout)
	var mu sync.Mutex
	print := func(v any) {
		mu.Lock()
		defer mu.Unlock()
		_ = out.Encode(v)
	}
	print(map[string]int{"listening": listener.Addr().(*net.TCPAddr).Port})
	return client.StartReceiver(context.Background(), func(ctx context.Context, ev cloudevents.Event) {
		r := received{
			Attributes: map[string]string{"specversion": ev.SpecVersion(), "id": ev.ID(), "source": ev.Source(), "type": ev.Type()},
			Extensions: map[string]string{},
			Headers:    map[string]string{},
			Encoding:   "unknown",
		}
		optional := map[string]string{
			"subject":         ev.Subject(),
			"datacontenttype": ev.DataContentType(),
			"dataschema":      ev.DataSchema(),
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
			s, err := types.Format(v)
			if err != nil {
				s = fmt.Sprintf("<%v: %v>", v, err)
			}
			r.Extensions[k] = s
		}
		if data := ev.Data(); data != nil {
			r.DataBase64 = types.FormatBinary(data)
			if s := string(data); utf8.ValidString(s) {
				r.Data = &s
			}
		}
		if req := cehttp.RequestDataFromContext(ctx); req != nil {
			r.Encoding = "binary"
			for name, values := range req.Header {
				lower := strings.ToLower(name)
				if strings.HasPrefix(lower, "ce-") || lower == "content-type" {
					r.Headers[lower] = exact(strings.Join(values, ","))
				}
			}
			if strings.HasPrefix(strings.ToLower(req.Header.Get("Content-Type")), "application/cloudevents+json") {
				r.Encoding = "structured"
			}
		}
		print(r)
	})
}

// exact keeps a header value printable in JSON without losing bytes.
func exact(v string) string {
	if utf8.ValidString(v) {
		return v
	}
	return "base64:" + base64.StdEncoding.EncodeToString([]byte(v))
}

func send(args []string) error {
	if len(args) < 2 {
		usage()
	}
	url, mode := args[0], args[1]
	var raw []byte
	if len(args) > 2 {
		raw = []byte(args[2])
	} else {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return err
		}
		raw = b
	}
	var ev cloudevents.Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("event JSON: %w", err)
	}
	ctx := cloudevents.ContextWithTarget(context.Background(), url)
	switch mode {
	case "binary":
		ctx = cloudevents.WithEncodingBinary(ctx)
	case "structured":
		ctx = cloudevents.WithEncodingStructured(ctx)
	default:
		return fmt.Errorf("mode %q: want binary or structured", mode)
	}
	client, err := cloudevents.NewClientHTTP()
	if err != nil {
		return err
	}
	result := client.Send(ctx, ev)
	var httpResult *cehttp.Result
	if cloudevents.ResultAs(result, &httpResult) {
		return json.NewEncoder(os.Stdout).Encode(map[string]any{"status": httpResult.StatusCode, "ack": cloudevents.IsACK(result)})
	}
	if !cloudevents.IsACK(result) {
		return fmt.Errorf("send failed: %w", result)
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"status": http.StatusOK, "ack": true})
}
