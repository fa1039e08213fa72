package runtimedefault

import (
	"fmt"
	"strconv"
	"strings"
)

// Nearest finds the default of runtime for a version that may not be held
// (a node's "1.6.20~ds1-1+deb12u3"): the held version equal to it; else
// the newest held one of its own release line (same major.minor: a line's
// patch releases share its default far more often than two lines do);
// else the newest held one older than it. exact is false for the last two:
// the caller says which was used. A version older than every held one, or
// one without a number, is an error: no held default is known to be the
// node's.
func Nearest(runtime, version string) (d Default, exact bool, err error) {
	want, ok := versionNumbers(version)
	vers := Versions(runtime)
	switch {
	case len(vers) == 0:
		return Default{}, false, fmt.Errorf("unknown runtime %q: use one of %s", runtime, strings.Join(Runtimes(), ", "))
	case !ok:
		return Default{}, false, fmt.Errorf("%s version %q: no version number in it", runtime, version)
	}
	older, sameLine := "", ""
	for _, v := range vers { // oldest first: the last match is the newest
		have, _ := versionNumbers(v)
		switch c := compareNumbers(have, want); {
		case c == 0:
			d, err := Get(runtime + "@" + v)
			return d, true, err
		case have[0] == want[0] && have[1] == want[1]:
			sameLine = v
		case c < 0:
			older = v
		}
	}
	best := sameLine
	if best == "" {
		best = older
	}
	if best == "" {
		return Default{}, false, fmt.Errorf("%s %s is older than every version held (%s)", runtime, version, strings.Join(vers, ", "))
	}
	d, err = Get(runtime + "@" + best)
	return d, false, err
}

// versionNumbers reads the leading dotted numbers of a version ("v1.6.20",
// "1.6.20~ds1" → 1, 6, 20), up to three.
func versionNumbers(v string) ([3]int, bool) {
	var out [3]int
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	for i := 0; i < 3; i++ {
		end := 0
		for end < len(v) && v[end] >= '0' && v[end] <= '9' {
			end++
		}
		if end == 0 {
			return out, i > 0
		}
		n, err := strconv.Atoi(v[:end])
		if err != nil {
			return out, false
		}
		out[i] = n
		v = v[end:]
		if !strings.HasPrefix(v, ".") {
			return out, true
		}
		v = v[1:]
	}
	return out, true
}

func compareNumbers(a, b [3]int) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}
