package profilefile

import (
	"testing"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// FuzzParseDocuments holds the file loader to its contract on any input: no
// panic; an input is either refused as a whole or gives at least one
// document, each with a name and exactly one of a profile or an error; a
// profile validates without a panic. Seeds: testdata/fuzz/FuzzParseDocuments
// (crdstream: a valid and an invalid SeccompProfile in one YAML stream; oci:
// an OCI JSON profile; and the file forms seccompctl's validate tests read).
func FuzzParseDocuments(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := Parse("f", data)
		if err != nil {
			if docs != nil {
				t.Fatal("documents and an error")
			}
			return
		}
		if len(docs) == 0 {
			t.Fatal("no documents and no error")
		}
		for _, d := range docs {
			if d.Name == "" || (d.Src == nil) == (d.Err == nil) {
				t.Fatalf("malformed document %+v", d)
			}
			if d.Src != nil {
				profile.Validate(d.Src.Profile)
			}
		}
	})
}
