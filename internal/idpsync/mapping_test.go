package idpsync

import (
	"testing"

	"github.com/berth-platform/berth/internal/access"
)

func TestParseMapping(t *testing.T) {
	for in, want := range map[string]Mapping{
		"payments-devs=payments:editor":    {Group: "payments-devs", Team: "payments", Role: access.Editor},
		" ops = platform : admin ":         {Group: "ops", Team: "platform", Role: access.Admin},
		"ops=id:0b0e61c2-6d1a-4c2e:viewer": {Group: "ops", TeamID: "0b0e61c2-6d1a-4c2e", Role: access.Viewer},
		"cn=ops,ou=groups=payments:viewer": {Group: "cn=ops,ou=groups", Team: "payments", Role: access.Viewer},
		"ops=payments:owner":               {},
		"ops=payments":                     {},
		"=payments:viewer":                 {},
		"ops=:viewer":                      {},
		"ops=id::viewer":                   {},
		"ops=a:b:viewer":                   {},
	} {
		got, err := ParseMapping(in)
		if want.Role == "" {
			if err == nil {
				t.Errorf("%q: parsed as %+v, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q: %+v, %v; want %+v", in, got, err, want)
		}
	}
}
