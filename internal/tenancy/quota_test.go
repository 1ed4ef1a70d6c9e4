package tenancy

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/berth-platform/berth/internal/errs"
)

func TestQuotaForBudgetArithmetic(t *testing.T) {
	// 100 a month, half on CPU: 50 / (0.031611 x 730) = 2.16675 cores; 50 / (0.004237 x 730) = 16.16548 GiB.
	q, a, err := QuotaForBudget(Budget{Monthly: 100, CPUShare: 0.5, LimitRatio: 2}, DefaultPrices)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(a.CPUCores-2.16675) > 1e-4 || math.Abs(a.MemoryGiB-16.16548) > 1e-4 {
		t.Fatalf("arithmetic: %+v", a)
	}
	for name, got := range map[string]string{
		"requests.cpu": q.RequestsCPU.String(), "requests.memory": q.RequestsMemory.String(),
		"limits.cpu": q.LimitsCPU.String(), "limits.memory": q.LimitsMemory.String(),
	} {
		want := map[string]string{"requests.cpu": "2166m", "requests.memory": "16553Mi", "limits.cpu": "4332m", "limits.memory": "33106Mi"}[name]
		if got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
	if q.Pods != 21 { // 2166m / 100m
		t.Errorf("pods = %d, want 21", q.Pods)
	}
	if len(a.Steps) != 3 || !strings.Contains(a.Steps[0], "2.167 cores") {
		t.Errorf("steps: %q", a.Steps)
	}
}

func TestQuotaForBudgetRefusesWhatCannotPay(t *testing.T) {
	cases := []struct {
		b       Budget
		pointer string
	}{
		{Budget{Monthly: 0, CPUShare: 0.5, LimitRatio: 2}, "/budget/monthly"},
		{Budget{Monthly: math.NaN(), CPUShare: 0.5, LimitRatio: 2}, "/budget/monthly"},
		{Budget{Monthly: 10, CPUShare: 1, LimitRatio: 2}, "/budget/cpuShare"},
		{Budget{Monthly: 10, CPUShare: 0.5, LimitRatio: 0.5}, "/budget/limitRatio"},
		// 100m CPU costs 2.31 a month: with half the budget on CPU, 4 a month is too little.
		{Budget{Monthly: 4, CPUShare: 0.5, LimitRatio: 2}, "/budget/monthly"},
	}
	for _, c := range cases {
		_, _, err := QuotaForBudget(c.b, DefaultPrices)
		var inv *errs.InvalidError
		if !errors.As(err, &inv) || inv.Fields[0].Pointer != c.pointer {
			t.Errorf("%+v: %v, want invalid %s", c.b, err, c.pointer)
		}
	}
	if _, _, err := QuotaForBudget(Budget{Monthly: 5, CPUShare: 0.5, LimitRatio: 2}, DefaultPrices); err != nil {
		t.Errorf("5 a month pays for one default container: %v", err)
	}
}
