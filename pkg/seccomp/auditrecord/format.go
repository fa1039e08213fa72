package auditrecord

import "strconv"

// String renders r as the kernel's netlink payload form, which Parse reads
// back to r (tests and fuzzing hold it to that). A zero Time is written as
// audit(0.000:serial).
func (r *Record) String() string { return string(r.AppendText(nil)) }

// AppendText appends String's text to dst.
func (r *Record) AppendText(dst []byte) []byte {
	var sec int64
	var nsec int
	if !r.Time.IsZero() {
		sec, nsec = r.Time.Unix(), r.Time.Nanosecond()
	}
	dst = append(dst, "audit("...)
	dst = strconv.AppendInt(dst, sec, 10)
	dst = append(dst, '.')
	if nsec%1000000 == 0 {
		dst = appendPadded(dst, nsec/1000000, 3) // the kernel's milliseconds
	} else {
		dst = appendPadded(dst, nsec, 9)
	}
	dst = append(dst, ':')
	dst = strconv.AppendUint(dst, r.Serial, 10)
	dst = append(dst, "): auid="...)
	dst = strconv.AppendUint(dst, uint64(r.AUID), 10)
	dst = append(dst, " uid="...)
	dst = strconv.AppendUint(dst, uint64(r.UID), 10)
	dst = append(dst, " gid="...)
	dst = strconv.AppendUint(dst, uint64(r.GID), 10)
	dst = append(dst, " ses=4294967295 pid="...)
	dst = strconv.AppendInt(dst, int64(r.PID), 10)
	dst = append(dst, " comm="...)
	dst = appendUntrusted(dst, r.Comm)
	dst = append(dst, " exe="...)
	if r.Exe == "" {
		dst = append(dst, "(null)"...)
	} else {
		dst = appendUntrusted(dst, r.Exe)
	}
	dst = append(dst, " sig="...)
	dst = strconv.AppendInt(dst, int64(r.Signal), 10)
	dst = append(dst, " arch="...)
	dst = strconv.AppendUint(dst, uint64(r.Arch), 16)
	dst = append(dst, " syscall="...)
	dst = strconv.AppendInt(dst, int64(r.Syscall), 10)
	dst = append(dst, " compat="...)
	if r.Compat {
		dst = append(dst, '1')
	} else {
		dst = append(dst, '0')
	}
	dst = append(dst, " ip=0x0 code=0x"...)
	return strconv.AppendUint(dst, uint64(r.Code), 16)
}

func appendPadded(dst []byte, v, width int) []byte {
	s := strconv.Itoa(v)
	for i := len(s); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// appendUntrusted writes s as audit_log_untrustedstring does: quoted, or in
// upper-case hex when it holds a quote, a space or a byte outside 0x21-0x7e.
func appendUntrusted(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c < 0x21 || c > 0x7e {
			const hex = "0123456789ABCDEF"
			for j := 0; j < len(s); j++ {
				dst = append(dst, hex[s[j]>>4], hex[s[j]&0xf])
			}
			return dst
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
