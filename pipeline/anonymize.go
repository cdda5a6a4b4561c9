package pipeline

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/toilhq/toil"
)

// AnonymizeConfig says which fields of a record to hash and which to drop.
// Paths are dotted ("user.email"); through a list they apply to each
// element ("items.owner" hashes the owner of every item). It fits in a
// service's config struct as is.
type AnonymizeConfig struct {
	Key  toil.Secret `help:"the HMAC key hashes are keyed with; keep it secret and stable"`
	Hash []string    `help:"fields replaced by hex HMAC-SHA256 of their value"`
	Drop []string    `help:"fields removed"`
}

// Anonymizer is a compute stage that hashes and drops fields of JSON-like
// records (map[string]any). A hashed value is the hex HMAC-SHA256 of its
// text (of its JSON for a number, bool, list or object), keyed so that
// nobody without the key can hash a list of emails and match them; the
// same value always hashes the same, so records can still be joined on it.
// Missing fields are left alone; the input record is never modified.
type Anonymizer struct {
	key  []byte
	hash [][]string
	drop [][]string
}

// NewAnonymizer checks cfg and returns the stage.
func NewAnonymizer(cfg AnonymizeConfig) (*Anonymizer, error) {
	if cfg.Key == "" {
		return nil, errors.New("anonymize: no key: an unkeyed hash of an email is undone by hashing a list of emails; set a secret key")
	}
	a := &Anonymizer{key: []byte(cfg.Key)}
	seen := map[string]string{}
	for _, list := range []struct {
		what  string
		paths []string
		dst   *[][]string
	}{{"hash", cfg.Hash, &a.hash}, {"drop", cfg.Drop, &a.drop}} {
		for _, p := range list.paths {
			parts := strings.Split(p, ".")
			for _, part := range parts {
				if part == "" {
					return nil, fmt.Errorf("anonymize: %s path %q: empty field name; write fields as a.b.c", list.what, p)
				}
			}
			if prev, ok := seen[p]; ok {
				return nil, fmt.Errorf("anonymize: field %q is in both %s and %s; pick one", p, prev, list.what)
			}
			seen[p] = list.what
			*list.dst = append(*list.dst, parts)
		}
	}
	return a, nil
}

// Compute returns a copy of rec with the configured fields hashed and
// dropped.
func (a *Anonymizer) Compute(ctx context.Context, rec map[string]any) (map[string]any, error) {
	var out any = rec
	for _, p := range a.hash {
		out = a.apply(out, p, false)
	}
	for _, p := range a.drop {
		out = a.apply(out, p, true)
	}
	m, _ := out.(map[string]any)
	return m, nil
}

// apply hashes or drops the field at path below v, copying each map and
// list it changes (copy on write, so the caller's record stays as it was).
func (a *Anonymizer) apply(v any, path []string, drop bool) any {
	switch x := v.(type) {
	case map[string]any:
		child, ok := x[path[0]]
		if !ok {
			return v
		}
		out := make(map[string]any, len(x))
		for k, v := range x {
			out[k] = v
		}
		switch {
		case len(path) > 1:
			out[path[0]] = a.apply(child, path[1:], drop)
		case drop:
			delete(out, path[0])
		default:
			out[path[0]] = a.sum(child)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = a.apply(e, path, drop)
		}
		return out
	}
	return v
}

func (a *Anonymizer) sum(v any) any {
	if v == nil {
		return nil // nothing to hide, and null stays null
	}
	var text []byte
	if s, ok := v.(string); ok {
		text = []byte(s)
	} else {
		var err error
		if text, err = json.Marshal(v); err != nil {
			text = fmt.Append(nil, v)
		}
	}
	mac := hmac.New(sha256.New, a.key)
	mac.Write(text)
	return hex.EncodeToString(mac.Sum(nil))
}
