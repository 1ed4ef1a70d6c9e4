package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	"github.com/berth-platform/berth/internal/workloads"
)

// answerMemo keeps the encoded workloads answers under the stamps of the views they were made
// of: a card that polls the same service gets the same bytes without them being built and
// encoded again (the view is the same for every caller; authorisation comes first, always).
type answerMemo struct {
	mu sync.Mutex
	m  map[string]answer
}

type answer struct {
	stamp string
	body  []byte
	etag  string
}

// maxAnswers bounds the memo; past it the answers are forgotten all at once.
const maxAnswers = 1024

// stampOf names the views' content: the environments as stored and each cache's stamp. ""
// (never remembered) when a view is not from a cache.
func stampOf(views []workloads.EnvironmentView) string {
	var b strings.Builder
	for _, ev := range views {
		if ev.Synced && ev.View.Stamp == "" {
			return ""
		}
		b.WriteString(ev.Env.ID + "\x00" + ev.Env.Name + "\x00" + ev.Env.Namespace + "\x00" + ev.Env.Cluster + "\x00" + ev.View.Stamp + "\x00")
	}
	return b.String()
}

// get returns the answer for key made under stamp, building and remembering it when the memo
// has none.
func (m *answerMemo) get(key, stamp string, build func() any) (answer, error) {
	if stamp != "" {
		m.mu.Lock()
		a, ok := m.m[key]
		m.mu.Unlock()
		if ok && a.stamp == stamp {
			return a, nil
		}
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(build()); err != nil {
		return answer{}, err
	}
	sum := sha256.Sum256(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))) // as viewTag hashes
	a := answer{stamp: stamp, body: buf.Bytes(), etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	if stamp != "" {
		m.mu.Lock()
		if m.m == nil || len(m.m) >= maxAnswers {
			m.m = map[string]answer{}
		}
		m.m[key] = a
		m.mu.Unlock()
	}
	return a, nil
}

// encodedAnswer writes a remembered answer: 304 when the client holds it already.
type encodedAnswer struct {
	answer
	notModified bool
}

func (a encodedAnswer) write(w http.ResponseWriter) error {
	w.Header().Set("ETag", a.etag)
	if a.notModified {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(a.body)
	return err
}

func (a encodedAnswer) VisitGetServiceWorkloadsResponse(w http.ResponseWriter) error {
	return a.write(w)
}
