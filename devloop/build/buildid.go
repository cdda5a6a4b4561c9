package build

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
)

// binaryID names the content of the executable at path: the last part of
// its Go build ID, which the linker sets to a hash of everything else in
// the file. Reading it costs a few hundred bytes, not the whole binary; a
// binary without one (not built by the go command, or a format read here)
// is hashed instead.
func binaryID(path string) (string, error) {
	if id := goBuildID(path); id != "" {
		if i := strings.LastIndexByte(id, '/'); i >= 0 {
			id = id[i+1:]
		}
		if id != "" {
			return "g" + sanitize(id), nil
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read binary: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read binary: %w", err)
	}
	return "s" + hex.EncodeToString(h.Sum(nil))[:20], nil
}

// sanitize keeps an id usable as a file name whatever it holds.
func sanitize(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' {
			return r
		}
		return '_'
	}, id)
}

// goBuildID reads the Go build ID of an executable, or "" when it finds
// none. ELF keeps it in the .note.go.buildid note; Mach-O and PE near the
// start of the text, after a marker (cmd/internal/buildid does the same).
func goBuildID(path string) string {
	if f, err := elf.Open(path); err == nil {
		defer f.Close()
		if s := f.Section(".note.go.buildid"); s != nil {
			if data, err := s.Data(); err == nil {
				return elfNoteID(data, f.ByteOrder)
			}
		}
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	head := make([]byte, 32<<10)
	n, _ := io.ReadFull(f, head)
	return markedID(head[:n])
}

// elfNoteID parses a note: namesz, descsz, type, then "Go\x00\x00" and the
// id.
func elfNoteID(data []byte, order binary.ByteOrder) string {
	if len(data) < 16 {
		return ""
	}
	namesz, descsz := order.Uint32(data), order.Uint32(data[4:])
	if namesz != 4 || string(data[12:16]) != "Go\x00\x00" || uint64(16)+uint64(descsz) > uint64(len(data)) {
		return ""
	}
	return string(data[16 : 16+descsz])
}

var (
	idStart = []byte("\xff Go build ID: \"")
	idEnd   = []byte("\"\n \xff")
)

func markedID(data []byte) string {
	i := bytes.Index(data, idStart)
	if i < 0 {
		return ""
	}
	rest := data[i+len(idStart):]
	j := bytes.Index(rest, idEnd)
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}
