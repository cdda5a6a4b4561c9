package toil

import (
	"fmt"
	"strconv"
	"strings"
)

// ByteSize is a size in bytes that config files may write with a unit:
// "512", "64KiB", "10MiB", "1GiB" (powers of 1024) or "10KB", "5MB", "1GB"
// (powers of 1000). -1 means no limit where a limit is meant.
type ByteSize int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1},
}

// UnmarshalText reads a size such as "64KiB"; units are case-insensitive.
func (b *ByteSize) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	num, mult := s, int64(1)
	for _, u := range byteUnits {
		if len(s) > len(u.suffix) && strings.EqualFold(s[len(s)-len(u.suffix):], u.suffix) {
			num, mult = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return fmt.Errorf("size %q: want a whole number with an optional unit, e.g. 512, 64KiB, 10MiB, 1GB", s)
	}
	if n != 0 && (n*mult/mult != n) {
		return fmt.Errorf("size %q is too large", s)
	}
	*b = ByteSize(n * mult)
	return nil
}

// String writes the size in the largest binary unit that divides it:
// 65536 is "64KiB".
func (b ByteSize) String() string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b != 0 && int64(b)%u.mult == 0 {
			return strconv.FormatInt(int64(b)/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// MarshalText writes the size as String does, so a config dump reads back.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }
