package queue

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Codec turns a message value into a payload and back. JSON is the
// default; [Raw] passes bytes through. Add others with [RegisterCodec]
// and pick them with a field's codec: key.
type Codec interface {
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes data into v, a pointer. An error sends the message
	// to the dead-letter topic with the error as its reason.
	Unmarshal(data []byte, v any) error
}

// JSON is the default codec: encoding/json.
type JSON struct{}

// Marshal encodes v as JSON.
func (JSON) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes JSON into v.
func (JSON) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// Raw is the codec for []byte and string values: the payload is the value.
type Raw struct{}

// Marshal returns v's bytes; v must be a []byte or a string.
func (Raw) Marshal(v any) ([]byte, error) {
	switch b := v.(type) {
	case []byte:
		return b, nil
	case string:
		return []byte(b), nil
	case json.RawMessage:
		return b, nil
	}
	return nil, fmt.Errorf("codec raw: cannot encode %T; use []byte or string values, or another codec", v)
}

// Unmarshal stores a copy of data in v, a *[]byte or a *string.
func (Raw) Unmarshal(data []byte, v any) error {
	switch p := v.(type) {
	case *[]byte:
		*p = append([]byte(nil), data...)
	case *string:
		*p = string(data)
	case *json.RawMessage:
		*p = append(json.RawMessage(nil), data...)
	default:
		return fmt.Errorf("codec raw: cannot decode into %T; use []byte or string values, or another codec", v)
	}
	return nil
}

var (
	codecsMu sync.RWMutex
	codecs   = map[string]Codec{"json": JSON{}, "raw": Raw{}}
)

// RegisterCodec makes c available under name for the codec: key of every
// queue field. Call it before services start (from main or an init func);
// a later registration under the same name replaces the earlier one.
func RegisterCodec(name string, c Codec) {
	codecsMu.Lock()
	defer codecsMu.Unlock()
	codecs[strings.ToLower(name)] = c
}

func codecByName(name string) (Codec, error) {
	if name == "" {
		name = "json"
	}
	codecsMu.RLock()
	defer codecsMu.RUnlock()
	if c, ok := codecs[strings.ToLower(name)]; ok {
		return c, nil
	}
	names := slices.Sorted(maps.Keys(codecs))
	return nil, fmt.Errorf("codec %q is not registered; known: %s (add one with queue.RegisterCodec)", name, strings.Join(names, ", "))
}
