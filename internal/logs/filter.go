package logs

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// Bounds of a filter: Go's regular expressions run in time linear in the line (RE2), so the
// only costs to bound are the pattern's size and the number of patterns.
const (
	MaxPattern  = 256
	MaxPatterns = 5
	maxProgram  = 2000 // instructions of one compiled pattern (a{1000} would be 1000)
)

// Filter keeps the lines a reader asked for.
type Filter struct {
	search           string // lower case; "" keeps all
	match            *regexp.Regexp
	include, exclude []*regexp.Regexp
}

// FieldError names the query parameter that was wrong.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// NewFilter compiles a search (a case-insensitive substring, or a regular expression when
// regex) and lines to include (any of) and exclude (all of).
func NewFilter(search string, regex bool, include, exclude []string) (*Filter, error) {
	f := &Filter{}
	if regex && search != "" {
		re, err := compile(search)
		if err != nil {
			return nil, &FieldError{Field: "search", Err: err}
		}
		f.match = re
	} else {
		f.search = strings.ToLower(search)
	}
	for _, list := range []struct {
		field    string
		patterns []string
		into     *[]*regexp.Regexp
	}{{"include", include, &f.include}, {"exclude", exclude, &f.exclude}} {
		if len(list.patterns) > MaxPatterns {
			return nil, &FieldError{Field: list.field, Err: fmt.Errorf("at most %d patterns", MaxPatterns)}
		}
		for _, p := range list.patterns {
			re, err := compile(p)
			if err != nil {
				return nil, &FieldError{Field: list.field, Err: err}
			}
			*list.into = append(*list.into, re)
		}
	}
	return f, nil
}

func compile(pattern string) (*regexp.Regexp, error) {
	if len(pattern) > MaxPattern {
		return nil, fmt.Errorf("a pattern has at most %d characters", MaxPattern)
	}
	parsed, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("not a regular expression: %w", err)
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		return nil, err
	}
	if len(prog.Inst) > maxProgram {
		return nil, fmt.Errorf("the pattern is too complex (%d steps, at most %d)", len(prog.Inst), maxProgram)
	}
	return regexp.Compile(pattern)
}

// Keep says whether line passes.
func (f *Filter) Keep(line string) bool {
	if f == nil {
		return true
	}
	if f.match != nil && !f.match.MatchString(line) {
		return false
	}
	if f.search != "" && !strings.Contains(strings.ToLower(line), f.search) {
		return false
	}
	if len(f.include) > 0 {
		any := false
		for _, re := range f.include {
			if re.MatchString(line) {
				any = true
				break
			}
		}
		if !any {
			return false
		}
	}
	for _, re := range f.exclude {
		if re.MatchString(line) {
			return false
		}
	}
	return true
}
