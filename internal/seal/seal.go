// Package seal encrypts secrets Berth keeps at rest (cluster credentials) with AES-256-GCM
// under a key from configuration. A sealed value is base64 of nonce and ciphertext; the
// key never leaves memory and no plaintext is logged.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// Sealer seals and opens values with one key.
type Sealer struct {
	aead cipher.AEAD
}

// ParseKey reads a 32-byte key given as base64.
func ParseKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(k) != 32 {
		return nil, errors.New("the key must be 32 bytes in base64 (e.g. openssl rand -base64 32)")
	}
	return k, nil
}

// New returns a Sealer for a 32-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("seal: key of %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext; context binds the value to its owner (a cluster's name), so a
// sealed value copied to another row does not open.
func (s *Sealer) Seal(plaintext []byte, context string) (string, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plaintext, []byte(context))), nil
}

// Open decrypts a sealed value.
func (s *Sealer) Open(sealed, context string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(b) < s.aead.NonceSize() {
		return nil, errors.New("seal: malformed value")
	}
	out, err := s.aead.Open(nil, b[:s.aead.NonceSize()], b[s.aead.NonceSize():], []byte(context))
	if err != nil {
		return nil, errors.New("seal: cannot open (wrong key or tampered value)")
	}
	return out, nil
}
