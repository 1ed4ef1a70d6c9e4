package kube_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/kube"
)

func TestImpersonationPassesPeopleOnly(t *testing.T) {
	imp, err := kube.Impersonation("user:default/jane", []string{"group:default/payments", "system:masters", "system:serviceaccounts:berth", ""})
	if err != nil {
		t.Fatal(err)
	}
	if imp.UserName != "user:default/jane" || strings.Join(imp.Groups, ",") != "system:authenticated,group:default/payments" {
		t.Fatalf("impersonation: %+v", imp)
	}
	for _, user := range []string{"system:serviceaccount:berth:berth", "system:admin", ""} {
		if _, err := kube.Impersonation(user, nil); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("%q: %v, want ErrForbidden", user, err)
		}
	}
}
