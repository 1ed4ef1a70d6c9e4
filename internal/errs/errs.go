// Package errs holds the domain error sentinels that every capability wraps with %w and
// context, and the one type that names invalid fields. internal/server maps them to
// application/problem+json in one place; domain code never chooses HTTP status codes.
package errs

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

var (
	ErrNotFound           = errors.New("not found")
	ErrConflict           = errors.New("conflict")
	ErrForbidden          = errors.New("forbidden")
	ErrInvalid            = errors.New("invalid")
	ErrUnauthenticated    = errors.New("unauthenticated")
	ErrPreconditionFailed = errors.New("precondition failed")
	ErrUnavailable        = errors.New("unavailable")
	// ErrTooMany: the caller (or everyone) has as many of something open as Berth allows.
	ErrTooMany = errors.New("too many")
)

// Field names one invalid part of a request: a JSON pointer into the body, or a parameter.
type Field struct {
	Pointer   string
	Parameter string
	Detail    string
}

// InvalidError is an ErrInvalid that says which fields are wrong and why.
type InvalidError struct {
	Fields []Field
}

func (e *InvalidError) Error() string {
	parts := make([]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		where := f.Pointer
		if where == "" {
			where = f.Parameter
		}
		parts = append(parts, where+": "+f.Detail)
	}
	return "invalid: " + strings.Join(parts, "; ")
}

func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// Invalid returns an InvalidError for one body field.
func Invalid(pointer, format string, args ...any) error {
	return &InvalidError{Fields: []Field{{Pointer: pointer, Detail: fmt.Sprintf(format, args...)}}}
}

// InvalidParam returns an InvalidError for one parameter (path, query or header).
func InvalidParam(name, format string, args ...any) error {
	return &InvalidError{Fields: []Field{{Parameter: name, Detail: fmt.Sprintf(format, args...)}}}
}

// WithoutURL is err's text for a team to read: the URL of the first transport error in it
// and the addresses of the first network error (an API server's, Argo CD's, a remote's
// internal address) left out, what it was doing and why kept. The whole error belongs in
// Berth's log.
func WithoutURL(err error) string {
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = strings.Replace(msg, ue.Error(), ue.Op+": "+ue.Err.Error(), 1)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		msg = strings.Replace(msg, op.Error(), op.Op+" "+op.Net+": "+op.Err.Error(), 1)
	}
	return msg
}
