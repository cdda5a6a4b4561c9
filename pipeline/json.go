package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// JSON parses one JSON document into a T: a struct, or map[string]any for
// records whose fields the pipeline does not know (numbers are float64).
// Errors say where the input went wrong, by line and column.
type JSON[T any] struct {
	// Strict refuses objects with fields T does not have, so a renamed
	// field upstream fails loudly instead of arriving empty.
	Strict bool
}

// Parse decodes in, which must hold exactly one JSON value.
func (j JSON[T]) Parse(ctx context.Context, in []byte) (T, error) {
	var v T
	if len(bytes.TrimSpace(in)) == 0 {
		return v, errors.New("parse JSON: empty input")
	}
	dec := json.NewDecoder(bytes.NewReader(in))
	if j.Strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(&v); err != nil {
		var zero T
		return zero, jsonError(in, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		var zero T
		line, col := position(in, dec.InputOffset())
		return zero, fmt.Errorf("parse JSON: line %d, column %d: more data after the JSON value", line, col)
	}
	return v, nil
}

// jsonError says where in the input err happened.
func jsonError(in []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := position(in, syn.Offset)
		return fmt.Errorf("parse JSON: line %d, column %d: %v", line, col, syn)
	case errors.As(err, &typ):
		line, col := position(in, typ.Offset)
		what := typ.Field
		if what == "" {
			what = "the value"
		}
		return fmt.Errorf("parse JSON: line %d, column %d: %s: want %s, got %s", line, col, what, typ.Type, typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := position(in, int64(len(in)))
		return fmt.Errorf("parse JSON: line %d, column %d: the input ends inside a value", line, col)
	}
	return fmt.Errorf("parse JSON: %w", err)
}

// position turns a byte offset into a 1-based line and column.
func position(in []byte, off int64) (line, col int) {
	if off > int64(len(in)) {
		off = int64(len(in))
	}
	before := in[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	if col < 1 {
		col = 1
	}
	return line, col
}
