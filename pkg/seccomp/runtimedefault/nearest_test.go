package runtimedefault

import (
	"strings"
	"testing"
)

func TestNearest(t *testing.T) {
	for _, c := range []struct {
		rt, version, want string
		exact             bool
		err               string
	}{
		{"containerd", "1.6.20", "containerd@v1.6.20", true, ""},
		{"containerd", "v1.6.20~ds1-1+deb12u3", "containerd@v1.6.20", true, ""},
		{"containerd", "1.6.24", "containerd@v1.6.20", false, ""},
		// Its own line's default, older or newer patch alike.
		{"containerd", "1.7.0", "containerd@v1.7.35", false, ""},
		{"containerd", "1.7.40", "containerd@v1.7.35", false, ""},
		{"containerd", "2.3.1", "containerd@v2.3.7", false, ""},
		{"containerd", "2.2.0", "containerd@v2.2.10", false, ""},
		// A line not held: the newest older one.
		{"containerd", "1.8.1", "containerd@v1.7.35", false, ""},
		{"containerd", "9.0", "containerd@v2.4.2", false, ""},
		{"containerd", "1.5.9", "", false, "older than every version held"},
		{"containerd", "abc", "", false, "no version number"},
		{"rkt", "1.0", "", false, "unknown runtime"},
	} {
		d, exact, err := Nearest(c.rt, c.version)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Nearest(%s, %s): err %v, want %q", c.rt, c.version, err, c.err)
			}
			continue
		}
		if err != nil || d.Ref() != c.want || exact != c.exact {
			t.Errorf("Nearest(%s, %s) = %s exact %v, %v; want %s exact %v", c.rt, c.version, d.Ref(), exact, err, c.want, c.exact)
		}
	}
}
