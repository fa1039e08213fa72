package profile

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/runtimedefault"
)

// FuzzParse holds Parse, Validate, Resolve, Complain and Marshal to their
// contracts on arbitrary input: no panics; whatever Parse accepts marshals,
// and parses back to the same value (lossless) with a stable encoding; a
// profile without validation errors resolves. Seeds: testdata/fuzz/FuzzParse
// and the runtimes' default profiles (package runtimedefault).
func FuzzParse(f *testing.F) {
	for _, d := range runtimedefault.All() {
		f.Add(d.Data())
	}
	env := Env{Arch: "amd64", Caps: DefaultCaps, KernelVersion: "5.10.0-8-amd64"}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			if p != nil {
				t.Fatal("Parse returned a profile and an error")
			}
			return
		}
		roundTrip := func(what string, p *Profile) {
			out, err := Marshal(p)
			if err != nil {
				t.Fatalf("Marshal(%s): %v", what, err)
			}
			back, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse(Marshal(%s)): %v\n%s", what, err, out)
			}
			if !reflect.DeepEqual(back, p) {
				t.Fatalf("Parse(Marshal(%s)) != %s\n%s", what, what, out)
			}
			again, err := Marshal(back)
			if err != nil || !bytes.Equal(again, out) {
				t.Fatalf("Marshal(%s) not stable: %v", what, err)
			}
		}
		roundTrip("p", p)
		issues := Validate(p)
		for _, i := range issues {
			if i.Field == "" || i.Message == "" || (i.Severity != SeverityError && i.Severity != SeverityNote) {
				t.Fatalf("malformed issue %#v", i)
			}
		}
		if only, errs := ValidateErrors(p), issues.Errors(); !reflect.DeepEqual(only, errs) {
			t.Fatalf("ValidateErrors:\n%v\nValidate's errors:\n%v", only, errs)
		}
		if _, _, err := ParseStrict(data); err != nil {
			t.Fatalf("ParseStrict failed where Parse succeeded: %v", err)
		}
		r, err := Resolve(p, env)
		if err != nil {
			if issues.Err() == nil {
				t.Fatalf("Resolve failed on a profile without validation errors: %v", err)
			}
			return
		}
		roundTrip("Resolve(p)", r)
		Validate(r)
		c := Complain(r)
		roundTrip("Complain(Resolve(p))", c)
		if c.DefaultAction != ActAllow && c.DefaultAction != ActLog {
			t.Fatalf("Complain kept default action %s", c.DefaultAction)
		}
	})
}
