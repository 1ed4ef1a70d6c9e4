package logs

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Position is how far a container's log has been sent: the last line's time and the number of
// lines sent with exactly that time.
type Position struct {
	Time time.Time
	Same int
}

// after says whether a line at t is past p, counting the lines already seen at p.Time in
// *seen (the caller's count for this read).
func (p Position) after(t time.Time, seen *int) bool {
	switch {
	case p.Time.IsZero() || t.After(p.Time):
		return true
	case t.Before(p.Time):
		return false
	}
	*seen++
	return *seen > p.Same
}

// Cursor is the positions of every container a stream has sent lines of, by container key.
type Cursor map[uint32]Position

const (
	cursorVersion = "c1"
	// maxCursor bounds a Last-Event-ID: a stream follows at most MaxContainers containers.
	maxCursor = 64 * MaxContainers
)

// key names a container in a cursor: short, and the same on every Berth replica.
func key(pod, container string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(pod + "/" + container))
	return h.Sum32()
}

// String encodes the cursor for an event id: c1~<key>.<unix nanos>.<same>~..., in base 36.
func (c Cursor) String() string {
	keys := make([]uint32, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	var b strings.Builder
	b.WriteString(cursorVersion)
	for _, k := range keys {
		p := c[k]
		b.WriteByte('~')
		b.WriteString(strconv.FormatUint(uint64(k), 36))
		b.WriteByte('.')
		b.WriteString(strconv.FormatInt(p.Time.UnixNano(), 36))
		b.WriteByte('.')
		b.WriteString(strconv.Itoa(p.Same))
	}
	return b.String()
}

// ParseCursor reads an event id made by String.
func ParseCursor(s string) (Cursor, error) {
	if len(s) > maxCursor {
		return nil, fmt.Errorf("longer than %d characters", maxCursor)
	}
	parts := strings.Split(s, "~")
	if parts[0] != cursorVersion {
		return nil, fmt.Errorf("not an event id of this stream")
	}
	c := Cursor{}
	for _, part := range parts[1:] {
		fields := strings.Split(part, ".")
		if len(fields) != 3 {
			return nil, fmt.Errorf("malformed position %q", part)
		}
		k, err1 := strconv.ParseUint(fields[0], 36, 32)
		ns, err2 := strconv.ParseInt(fields[1], 36, 64)
		same, err3 := strconv.Atoi(fields[2])
		if err1 != nil || err2 != nil || err3 != nil || same < 1 {
			return nil, fmt.Errorf("malformed position %q", part)
		}
		c[uint32(k)] = Position{Time: time.Unix(0, ns).UTC(), Same: same}
	}
	return c, nil
}
