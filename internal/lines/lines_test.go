package lines

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitter(t *testing.T) {
	var got []string
	s := &Splitter{Emit: func(line []byte) { got = append(got, string(line)) }}
	s.Write([]byte("one\ntw"))
	s.Write([]byte("o\nthr"))
	s.Write([]byte(strings.Repeat("x", Max)))
	s.Flush()
	want := []string{"one", "two", "thr" + strings.Repeat("x", Max-3), "xxx"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("lines %q, want whole lines, the endless one cut at %d bytes, then the rest on Flush", got, Max)
	}
}
