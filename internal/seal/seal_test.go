package seal

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	s, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte(`{"token":"very-secret"}`)
	a, _ := s.Seal(secret, "prod-eu")
	b, _ := s.Seal(secret, "prod-eu")
	if a == b || strings.Contains(a, "very-secret") {
		t.Fatal("sealing must be randomised and hide the plaintext")
	}
	got, err := s.Open(a, "prod-eu")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := s.Open(a, "other-cluster"); err == nil {
		t.Fatal("a value opened under another context")
	}
	other := make([]byte, 32)
	_, _ = rand.Read(other)
	s2, _ := New(other)
	if _, err := s2.Open(a, "prod-eu"); err == nil {
		t.Fatal("a value opened with another key")
	}
	tampered := []byte(a)
	tampered[len(tampered)-3] ^= 1
	if _, err := s.Open(string(tampered), "prod-eu"); err == nil {
		t.Fatal("a tampered value opened")
	}
	if _, err := ParseKey("c2hvcnQ="); err == nil {
		t.Fatal("a short key was accepted")
	}
}
