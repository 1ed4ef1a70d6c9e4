package tenancy_test

import "k8s.io/apimachinery/pkg/api/resource"

func resourceMust(s string) *resource.Quantity {
	q := resource.MustParse(s)
	return &q
}
