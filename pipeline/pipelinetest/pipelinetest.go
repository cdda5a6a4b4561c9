// Package pipelinetest tests pipeline parts with tables of cases, and
// assembles the parts' tables into the end-to-end test of a pipeline built
// from those parts, so the pipeline's test grows with its parts' tests:
//
//	var jsonCases = []pipelinetest.ParserCase[[]byte, map[string]any]{
//		{Name: "signup", In: []byte(`{"email":"a@b.c"}`), Want: map[string]any{"email": "a@b.c"}},
//		{Name: "truncated", In: []byte(`{"email":`), WantErr: "line 1, column 10"},
//	}
//	func TestJSON(t *testing.T) { pipelinetest.Parser(t, pipeline.JSON[map[string]any]{}, jsonCases) }
//	// ... computerCases, fileCases likewise, then:
//	func TestPipeline(t *testing.T) {
//		sink := pipelinetest.FileSink[map[string]any](t)
//		p := pipeline.New(pipeline.JSON[map[string]any]{}, anonymizer, sink.Publisher)
//		pipelinetest.Pipeline(t, p, sink, pipelinetest.Compose(jsonCases, computerCases, fileCases))
//	}
//
// Compose links a parser case to a computer case when the parser's Want
// equals the computer's In (reflect.DeepEqual), and a computer case to a
// publisher case likewise: each chain becomes one end-to-end case, from the
// parser case's input to what the publisher case says reaches the sink.
// Error and skip cases end their chains at their stage.
package pipelinetest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/toilhq/toil/pipeline"
)

// ParserCase is one input to a parser and what it should give.
type ParserCase[In, A any] struct {
	Name    string
	In      In
	Want    A
	WantErr string // a substring of the error; "" expects success
}

// ComputerCase is one record into a compute stage and what it should give.
type ComputerCase[A, B any] struct {
	Name    string
	In      A
	Want    B
	Skip    bool   // expects pipeline.ErrSkip: the record is dropped
	WantErr string // a substring of the error; "" expects success
}

// PublisherCase is one record to publish and what should reach the sink.
type PublisherCase[B, Out any] struct {
	Name    string
	In      B
	Want    Out    // what the sink's Take returns for it
	WantErr string // a substring of the error; "" expects success
}

// Case is an end-to-end case: an input to the whole pipeline and what
// reaches the sink (nothing for a skipped record or an error).
type Case[In, Out any] struct {
	Name    string
	In      In
	Want    []Out
	Stage   string // the stage that fails, for an error case
	WantErr string
}

// Sink is a publisher under test and a way to see what it delivered.
type Sink[B, Out any] struct {
	Publisher pipeline.Publisher[B]
	// Take returns what reached the destination since its last call.
	Take func() ([]Out, error)
}

// Parser runs p on each case.
func Parser[In, A any](t *testing.T, p pipeline.Parser[In, A], cases []ParserCase[In, A]) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Helper()
			got, err := p.Parse(context.Background(), c.In)
			if checkErr(t, "Parse", err, c.WantErr) {
				return
			}
			if !reflect.DeepEqual(got, c.Want) {
				t.Errorf("Parse(%s) = %s\nwant %s", show(c.In), show(got), show(c.Want))
			}
		})
	}
}

// Computer runs c on each case.
func Computer[A, B any](t *testing.T, c pipeline.Computer[A, B], cases []ComputerCase[A, B]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Helper()
			in := deepCopy(tc.In)
			got, err := c.Compute(context.Background(), tc.In)
			if !reflect.DeepEqual(tc.In, in) {
				t.Errorf("Compute changed its input: %s, was %s", show(tc.In), show(in))
			}
			if tc.Skip {
				if !errors.Is(err, pipeline.ErrSkip) {
					t.Errorf("Compute(%s) = %s, %v; want pipeline.ErrSkip", show(in), show(got), err)
				}
				return
			}
			if checkErr(t, "Compute", err, tc.WantErr) {
				return
			}
			if !reflect.DeepEqual(got, tc.Want) {
				t.Errorf("Compute(%s) = %s\nwant %s", show(in), show(got), show(tc.Want))
			}
		})
	}
}

// Publisher publishes each case's record through sink and checks what
// reached the destination.
func Publisher[B, Out any](t *testing.T, sink Sink[B, Out], cases []PublisherCase[B, Out]) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Helper()
			err := sink.Publisher.Publish(context.Background(), c.In)
			got, terr := sink.Take()
			if terr != nil {
				t.Fatalf("read the sink: %v", terr)
			}
			if checkErr(t, "Publish", err, c.WantErr) {
				if len(got) > 0 {
					t.Errorf("a failed Publish delivered %s", show(got))
				}
				return
			}
			if len(got) != 1 || !reflect.DeepEqual(got[0], c.Want) {
				t.Errorf("Publish(%s) delivered %s\nwant [%s]", show(c.In), show(got), show(c.Want))
			}
		})
	}
}

// Compose links the parts' cases into end-to-end cases; see the package
// documentation.
func Compose[In, A, B, Out any](parse []ParserCase[In, A], compute []ComputerCase[A, B], publish []PublisherCase[B, Out]) []Case[In, Out] {
	var out []Case[In, Out]
	for _, p := range parse {
		if p.WantErr != "" {
			out = append(out, Case[In, Out]{Name: p.Name, In: p.In, Stage: "parse", WantErr: p.WantErr})
			continue
		}
		for _, c := range compute {
			if !reflect.DeepEqual(p.Want, c.In) {
				continue
			}
			name := p.Name + " → " + c.Name
			switch {
			case c.WantErr != "":
				out = append(out, Case[In, Out]{Name: name, In: p.In, Stage: "compute", WantErr: c.WantErr})
				continue
			case c.Skip:
				out = append(out, Case[In, Out]{Name: name, In: p.In})
				continue
			}
			for _, u := range publish {
				if !reflect.DeepEqual(c.Want, u.In) {
					continue
				}
				e := Case[In, Out]{Name: name + " → " + u.Name, In: p.In}
				if u.WantErr != "" {
					e.Stage, e.WantErr = "publish", u.WantErr
				} else {
					e.Want = []Out{u.Want}
				}
				out = append(out, e)
			}
		}
	}
	return out
}

// Pipeline runs each case through p, whose publisher must be sink's, and
// checks what reached the sink. It fails when there are no cases: the
// parts' cases did not link up (see Compose).
func Pipeline[In, A, B, Out any](t *testing.T, p *pipeline.Pipeline[In, A, B], sink Sink[B, Out], cases []Case[In, Out]) {
	t.Helper()
	if len(cases) == 0 {
		t.Fatal("no end-to-end cases: no parser case's Want equals a computer case's In, or no computer case's Want a publisher case's In")
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Helper()
			err := p.Process(context.Background(), c.In)
			got, terr := sink.Take()
			if terr != nil {
				t.Fatalf("read the sink: %v", terr)
			}
			if c.WantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.WantErr) || pipeline.Stage(err) != c.Stage {
					t.Errorf("Process(%s) = %v; want a %s error containing %q", show(c.In), err, c.Stage, c.WantErr)
				}
			} else if err != nil {
				t.Errorf("Process(%s): %v", show(c.In), err)
			}
			if len(got) != len(c.Want) || (len(got) > 0 && !reflect.DeepEqual(got, c.Want)) {
				t.Errorf("Process(%s) delivered %s\nwant %s", show(c.In), show(got), show(c.Want))
			}
		})
	}
}

// FileSink is a sink around a pipeline.FilePublisher writing to a file in
// t's temp dir; Take returns the lines appended since its last call.
func FileSink[B any](t testing.TB) Sink[B, string] {
	t.Helper()
	path := filepath.Join(t.TempDir(), "published.jsonl")
	pub, err := pipeline.OpenFile[B](path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	var off int64
	return Sink[B, string]{Publisher: pub, Take: func() ([]string, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return nil, err
		}
		var lines []string
		r := bufio.NewReader(f)
		for {
			line, err := r.ReadString('\n')
			if err == io.EOF {
				if line != "" {
					return lines, fmt.Errorf("%s ends in a partial line %q", path, line)
				}
				return lines, nil
			}
			if err != nil {
				return lines, err
			}
			off += int64(len(line))
			lines = append(lines, strings.TrimSuffix(line, "\n"))
		}
	}}
}

// HTTPSink is a sink around a pipeline.HTTPPublisher posting to a real
// HTTP server on loopback. The server answers with status(body) (200 when
// status is nil); Take returns the bodies it accepted since its last call.
func HTTPSink[B any](t testing.TB, status func(body string) int) Sink[B, string] {
	t.Helper()
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		code := http.StatusOK
		if status != nil {
			code = status(string(b))
		}
		if code/100 == 2 {
			mu.Lock()
			got = append(got, string(b))
			mu.Unlock()
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "%d %s", code, http.StatusText(code))
	}))
	t.Cleanup(srv.Close)
	return Sink[B, string]{
		Publisher: &pipeline.HTTPPublisher[B]{URL: srv.URL, Client: srv.Client()},
		Take: func() ([]string, error) {
			mu.Lock()
			defer mu.Unlock()
			out := got
			got = nil
			return out, nil
		},
	}
}

// checkErr checks err against want (a substring; "" wants nil) and
// reports whether the case ends here.
func checkErr(t *testing.T, call string, err error, want string) bool {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: %v", call, err)
		return true
	case want != "" && err == nil:
		t.Errorf("%s succeeded; want an error containing %q", call, want)
		return true
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("%s: %v\nwant an error containing %q", call, err, want)
		return true
	}
	return want != ""
}

// show prints a value for a failure message: []byte as text.
func show(v any) string {
	if b, ok := v.([]byte); ok {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("%#v", v)
}

// deepCopy copies maps, slices and pointers so a test can tell whether
// Compute changed its input.
func deepCopy[T any](v T) T {
	c := copyValue(reflect.ValueOf(&v).Elem())
	return c.Interface().(T)
}

func copyValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		m := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			m.SetMapIndex(it.Key(), copyValue(it.Value()))
		}
		return m
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			s.Index(i).Set(copyValue(v.Index(i)))
		}
		return s
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type()).Elem()
		c.Set(copyValue(v.Elem()))
		return c
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(copyValue(v.Elem()))
		return p
	}
	c := reflect.New(v.Type()).Elem()
	c.Set(v)
	return c
}
