package main

import "testing"

// The command must parse its own flags although controller-runtime, which it
// imports, has registered -kubeconfig on the global flag set.
func TestParseFlags(t *testing.T) {
	tries, kc, err := parseFlags([]string{"-tries", "2", "-kubeconfig", "/x/admin.kubeconfig"})
	if err != nil || tries != 2 || kc != "/x/admin.kubeconfig" {
		t.Fatalf("parseFlags = %d, %q, %v; want 2, /x/admin.kubeconfig, nil", tries, kc, err)
	}
}
