package profile

import "strconv"

// ruleKey appends to dst an encoding of s without its comment, such that
// two rules have the same key exactly when they are the same apart from
// comments (empty and absent names or args alike, as Parse reads them;
// includes and excludes compared as written). Strings are length-prefixed,
// so no content can imitate a boundary.
func ruleKey(dst []byte, s *Syscall) []byte {
	dst = appendStrings(dst, s.Names, false)
	dst = appendString(dst, s.Name)
	dst = appendString(dst, string(s.Action))
	if s.ErrnoRet == nil {
		dst = append(dst, '-')
	} else {
		dst = strconv.AppendUint(append(dst, '+'), uint64(*s.ErrnoRet), 10)
	}
	dst = appendArgs(dst, s.Args)
	dst = appendFilter(dst, s.Includes)
	return appendFilter(dst, s.Excludes)
}

// appendArgs encodes comparisons; no comparisons (nil or empty) encode alike.
func appendArgs(dst []byte, args []Arg) []byte {
	dst = strconv.AppendInt(append(dst, 'a'), int64(len(args)), 10)
	for _, a := range args {
		dst = strconv.AppendUint(append(dst, ':'), uint64(a.Index), 10)
		dst = strconv.AppendUint(append(dst, ':'), a.Value, 10)
		dst = strconv.AppendUint(append(dst, ':'), a.ValueTwo, 10)
		dst = appendString(append(dst, ':'), string(a.Op))
	}
	return dst
}

func appendFilter(dst []byte, f *Filter) []byte {
	if f == nil {
		return append(dst, '-')
	}
	dst = appendStrings(append(dst, '+'), f.Caps, true)
	dst = appendStrings(dst, f.Arches, true)
	return appendString(dst, f.MinKernel)
}

// appendStrings encodes a list; nilMatters tells a nil list from an empty
// one (a filter's lists are compared as written, names are not).
func appendStrings(dst []byte, l []string, nilMatters bool) []byte {
	if l == nil && nilMatters {
		return append(dst, '-')
	}
	dst = strconv.AppendInt(append(dst, 'l'), int64(len(l)), 10)
	for _, s := range l {
		dst = appendString(dst, s)
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = strconv.AppendInt(append(dst, '#'), int64(len(s)), 10)
	return append(append(dst, ':'), s...)
}
