package server

import (
	"encoding/base64"
	"encoding/json"

	"github.com/berth-platform/berth/internal/errs"
)

const defaultLimit = 50

// Cursors are opaque to clients: base64url of a small JSON object that only this package reads.
func encodeCursor(v any) *string {
	b, _ := json.Marshal(v)
	s := base64.RawURLEncoding.EncodeToString(b)
	return &s
}

func decodeCursor(s *string, v any) error {
	if s == nil || *s == "" {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*s)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return errs.InvalidParam("cursor", "not a cursor this API returned")
	}
	return nil
}

func limitOf(l *int) int {
	if l == nil {
		return defaultLimit
	}
	return *l
}
