package hello

// Event is what the service publishes on out:, JSON-encoded: replace it
// with the service's own.
type Event struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
}
