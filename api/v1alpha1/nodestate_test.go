package v1alpha1

import (
	"fmt"
	"testing"
)

func TestFindNodeProfileState(t *testing.T) {
	var sorted []NodeProfileState
	for i := range 100 {
		sorted = append(sorted, NodeProfileState{Name: fmt.Sprintf("p%03d", i), ContentHash: fmt.Sprint(i)})
	}
	unsorted := []NodeProfileState{{Name: "zeta"}, {Name: "alpha", ContentHash: "a"}, {Name: "mid"}}
	for _, tc := range []struct {
		list []NodeProfileState
		name string
		hash string
		ok   bool
	}{
		{sorted, "p000", "0", true},
		{sorted, "p057", "57", true},
		{sorted, "p099", "99", true},
		{sorted, "p100", "", false},
		{sorted, "a", "", false},
		{nil, "p000", "", false},
		{unsorted, "alpha", "a", true},
		{unsorted, "omega", "", false},
	} {
		got, ok := FindNodeProfileState(tc.list, tc.name)
		if ok != tc.ok || got.ContentHash != tc.hash || (ok && got.Name != tc.name) {
			t.Errorf("Find(%s) = %+v, %v; want hash %q, %v", tc.name, got, ok, tc.hash, tc.ok)
		}
	}
}
