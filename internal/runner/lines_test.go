package runner

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// writes records each Write separately, to see what was written at once.
type writes struct{ got []string }

func (w *writes) Write(p []byte) (int, error) {
	w.got = append(w.got, string(p))
	return len(p), nil
}

func TestLineWriterWritesWholePrefixedLines(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	out := &writes{}
	a := &lineWriter{mu: &mu, w: out, prefix: []byte("a.1 | ")}
	b := &lineWriter{mu: &mu, w: out, prefix: []byte("a.2 | ")}

	a.Write([]byte("first ha"))
	b.Write([]byte("other\nsecond "))
	a.Write([]byte("lf\nnext\n"))
	b.Write([]byte("line"))
	b.Flush()
	a.Flush() // nothing pending: writes nothing

	want := []string{"a.2 | other\n", "a.1 | first half\n", "a.1 | next\n", "a.2 | second line\n"}
	if strings.Join(out.got, "") != strings.Join(want, "") || len(out.got) != len(want) {
		t.Errorf("writes = %q, want %q", out.got, want)
	}
}

func TestLineWriterCutsEndlessLines(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	out := &writes{}
	l := &lineWriter{mu: &mu, w: out, prefix: []byte("p | ")}
	l.Write(bytes.Repeat([]byte("x"), maxLine+10))
	if len(out.got) != 1 || len(out.got[0]) != len("p | ")+maxLine+1 {
		t.Fatalf("got %d writes, want one cut at %d bytes", len(out.got), maxLine)
	}
	// The 10 bytes after the cut are kept, and come out as the last line.
	l.Flush()
	if len(out.got) != 2 || string(out.got[1]) != "p | "+strings.Repeat("x", 10)+"\n" {
		t.Errorf("after the cut, flushed %q; want the 10 bytes after the cut", out.got[1:])
	}
}

func TestLineWriterConcurrentWorkersNeverInterleave(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var out bytes.Buffer
	var wg sync.WaitGroup
	line := strings.Repeat("y", 300) + "\n"
	for _, p := range []string{"w.1 | ", "w.2 | ", "w.3 | "} {
		l := &lineWriter{mu: &mu, w: &out, prefix: []byte(p)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				// Odd chunk sizes, as pipes deliver them.
				for s := line; s != ""; {
					n := min(len(s), 7+i%13)
					l.Write([]byte(s[:n]))
					s = s[n:]
				}
			}
		}()
	}
	wg.Wait()
	for i, got := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if len(got) != len("w.1 | ")+300 || !strings.HasPrefix(got, "w.") || strings.Count(got, "|") != 1 {
			t.Fatalf("line %d is mixed: %q", i, got)
		}
	}
}
