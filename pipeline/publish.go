package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"
)

// HTTPPublisher posts each record as JSON to URL. Any 2xx answer is
// success; anything else is an error carrying the status and the start of
// the body, for the caller (or its queue's retries) to act on.
type HTTPPublisher[T any] struct {
	URL    string
	Client *http.Client // nil: a client with a 10s timeout
	Header http.Header  // added to every request
}

var defaultClient = &http.Client{Timeout: 10 * time.Second}

// Publish posts v.
func (h *HTTPPublisher[T]) Publish(ctx context.Context, v T) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("publish to %s: encode %T: %w", redact(h.URL), v, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("publish to %s: %w", redact(h.URL), err)
	}
	for k, vs := range h.Header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	client := h.Client
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("publish: %w", err) // *url.Error names the redacted URL
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // reuse the connection
		return nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	return fmt.Errorf("publish to %s: %s: %s", redact(h.URL), resp.Status, bytes.TrimSpace(snippet))
}

// redact hides a password in a URL for error messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// FilePublisher appends each record to a file as one line of JSON (JSON
// Lines), one write per record, so lines from concurrent Publish calls
// never interleave.
type FilePublisher[T any] struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

// OpenFile opens (creating if need be) path for appending.
func OpenFile[T any](path string) (*FilePublisher[T], error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open publish file: %w", err)
	}
	return &FilePublisher[T]{f: f, path: path}, nil
}

// Publish appends v as a line.
func (p *FilePublisher[T]) Publish(ctx context.Context, v T) error {
	line, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("publish to %s: encode %T: %w", p.path, v, err)
	}
	line = append(line, '\n')
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.f.Write(line); err != nil {
		return fmt.Errorf("publish to %s: %w", p.path, err)
	}
	return nil
}

// Close closes the file.
func (p *FilePublisher[T]) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.f.Close()
}
