package auditrecord

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// ErrNotSeccomp is returned (wrapped) for a line that is not a seccomp
// record: another audit type or no audit record at all. Callers reading
// logs skip such lines; any other error is a malformed seccomp record.
var ErrNotSeccomp = errors.New("not a seccomp audit record")

// FieldError is a seccomp record whose field is missing or unreadable.
type FieldError struct {
	Field string
	Value string // as found, cut to 64 bytes; "" when missing
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Value == "" && e.Msg == "missing" {
		return fmt.Sprintf("seccomp audit record: field %s is missing", e.Field)
	}
	return fmt.Sprintf("seccomp audit record: field %s=%q: %s", e.Field, e.Value, e.Msg)
}

func fieldErr(field string, v []byte, msg string) error {
	if len(v) > 64 {
		v = v[:64]
	}
	return &FieldError{Field: field, Value: string(v), Msg: msg}
}

var (
	auditOpen   = []byte("audit(")
	typeKey     = []byte("type=")
	journaldTag = []byte("SECCOMP ")
)

// which fields a record has; arch, syscall and code are what a record is.
const (
	hasArch = 1 << iota
	hasSyscall
	hasCode
	hasPID
	hasUID
	hasGID
	hasAUID
	hasComm
	hasExe
	hasSig
	hasCompat
)

// Parse reads one seccomp record in any of these forms:
//
//	audit(1733500000.123:456): auid=... pid=1234 comm="mkdir" ... code=0x50000   (netlink payload)
//	type=SECCOMP msg=audit(1733500000.123:456): auid=...                         (audit.log, raw)
//	[  123.456] audit: type=1326 audit(1733500000.123:456): auid=...             (dmesg, kernel log)
//	Dec 06 16:57:44 node kernel: audit: type=1326 audit(...): auid=...          (journal, syslog)
//	Dec 06 16:57:44 node audit[1234]: SECCOMP auid=...                           (journald's audit capture)
//
// Fields may come in any order; subj, ses, ip and unknown fields are
// ignored; arch, syscall and code are required. A line of another audit type,
// or no audit record at all, gives an error wrapping ErrNotSeccomp; a
// seccomp record that is truncated or has a bad field gives a *FieldError
// or an error naming what is wrong. Parse never retains b.
func Parse(b []byte) (Record, error) {
	// auditd's enriched format appends interpreted fields after 0x1d.
	if i := bytes.IndexByte(b, 0x1d); i >= 0 {
		b = b[:i]
	}
	var r Record
	var fields []byte
	if i := bytes.Index(b, auditOpen); i >= 0 {
		if err := checkType(b[:i]); err != nil {
			return r, err
		}
		rest, err := parseStamp(&r, b[i+len(auditOpen):])
		if err != nil {
			return r, err
		}
		fields = rest
	} else if i := journaldStart(b); i >= 0 {
		fields = b[i+len(journaldTag):]
	} else {
		if err := checkType(b); err != nil {
			return r, err
		}
		if bytes.Contains(b, typeKey) {
			return r, &FieldError{Field: "audit", Msg: "missing"}
		}
		return r, ErrNotSeccomp
	}
	return r, parseFields(&r, fields)
}

// checkType refuses a line whose type= names another audit type.
func checkType(prefix []byte) error {
	i := bytes.LastIndex(prefix, typeKey)
	if i < 0 {
		return nil
	}
	v := prefix[i+len(typeKey):]
	if j := bytes.IndexAny(v, " \t"); j >= 0 {
		v = v[:j]
	}
	switch string(v) {
	case "SECCOMP", "1326":
		return nil
	}
	return fmt.Errorf("%w: type=%.32s", ErrNotSeccomp, v)
}

// journaldStart finds "SECCOMP " as a word after a "audit[pid]:" or
// "audit:" tag, as journald writes captured audit messages.
func journaldStart(b []byte) int {
	i := bytes.Index(b, journaldTag)
	if i <= 0 || (b[i-1] != ' ' && b[i-1] != ':') {
		return -1
	}
	if !bytes.Contains(b[:i], []byte("audit")) {
		return -1
	}
	return i
}

// parseStamp reads "sec.frac:serial)" and an optional ":" after it.
func parseStamp(r *Record, b []byte) ([]byte, error) {
	end := bytes.IndexByte(b, ')')
	if end < 0 {
		return nil, fieldErr("audit", b, "truncated: no closing parenthesis")
	}
	s := b[:end]
	dot := bytes.IndexByte(s, '.')
	colon := bytes.IndexByte(s, ':')
	if dot < 0 || colon < dot {
		if bytes.IndexByte(s, '/') >= 0 {
			return nil, fieldErr("audit", s, "interpreted record (ausearch -i); use the raw form (ausearch --raw)")
		}
		return nil, fieldErr("audit", s, "want sec.msec:serial")
	}
	sec, ok := parseUint(s[:dot], 1<<62)
	if !ok {
		return nil, fieldErr("audit", s, "bad seconds")
	}
	frac := s[dot+1 : colon]
	if len(frac) == 0 || len(frac) > 9 {
		return nil, fieldErr("audit", s, "bad fraction of a second")
	}
	nsec, ok := parseUint(frac, 999999999)
	if !ok {
		return nil, fieldErr("audit", s, "bad fraction of a second")
	}
	for i := len(frac); i < 9; i++ {
		nsec *= 10
	}
	serial, ok := parseUint(s[colon+1:], ^uint64(0))
	if !ok {
		return nil, fieldErr("audit", s, "bad serial")
	}
	r.Time = time.Unix(int64(sec), int64(nsec))
	r.Serial = serial
	rest := b[end+1:]
	if len(rest) > 0 && rest[0] == ':' {
		rest = rest[1:]
	}
	return rest, nil
}

// parseFields reads space-separated key=value fields. Values are "quoted",
// bare, or hex (the kernel's encoding of untrusted strings); words without
// "=" (an AppArmor label's "(enforce)") are skipped.
func parseFields(r *Record, b []byte) error {
	seen := 0
	for len(b) > 0 {
		if isSpace(b[0]) {
			b = b[1:]
			continue
		}
		// key
		k := 0
		for k < len(b) && b[k] != '=' && !isSpace(b[k]) {
			k++
		}
		if k == len(b) || b[k] != '=' {
			b = b[k:]
			continue
		}
		key := b[:k]
		b = b[k+1:]
		var val []byte
		quoted := len(b) > 0 && b[0] == '"'
		if quoted {
			e := bytes.IndexByte(b[1:], '"')
			if e < 0 {
				return fieldErr(string(key), b, "truncated: no closing quote")
			}
			val = b[1 : 1+e]
			b = b[2+e:]
		} else {
			e := 0
			for e < len(b) && !isSpace(b[e]) {
				e++
			}
			val = b[:e]
			b = b[e:]
		}
		bit, err := setField(r, key, val, quoted)
		if err != nil {
			return err
		}
		if bit != 0 {
			if seen&bit != 0 {
				return fieldErr(string(key), val, "repeated")
			}
			seen |= bit
		}
	}
	switch {
	case seen&hasArch == 0:
		return &FieldError{Field: "arch", Msg: "missing"}
	case seen&hasSyscall == 0:
		return &FieldError{Field: "syscall", Msg: "missing"}
	case seen&hasCode == 0:
		return &FieldError{Field: "code", Msg: "missing"}
	}
	if seen&hasUID == 0 {
		r.UID = Unset
	}
	if seen&hasGID == 0 {
		r.GID = Unset
	}
	if seen&hasAUID == 0 {
		r.AUID = Unset
	}
	return nil
}

// setField stores one field and returns its bit (0 for fields ignored).
func setField(r *Record, key, val []byte, quoted bool) (int, error) {
	var ok bool
	switch string(key) {
	case "arch":
		var v uint64
		v, ok = parseHex(val)
		if !ok || v > 0xffffffff {
			return 0, fieldErr("arch", val, "want a hex AUDIT_ARCH value")
		}
		r.Arch = uint32(v)
		return hasArch, nil
	case "syscall":
		r.Syscall, ok = parseInt(val)
		if !ok {
			return 0, fieldErr("syscall", val, "want a syscall number")
		}
		return hasSyscall, nil
	case "code":
		if len(val) > 2 && val[0] == '0' && (val[1] == 'x' || val[1] == 'X') {
			var v uint64
			v, ok = parseHex(val[2:])
			if ok && v <= 0xffffffff {
				r.Code = uint32(v)
				return hasCode, nil
			}
		}
		return 0, fieldErr("code", val, "want a hex SECCOMP_RET_* value (0x...)")
	case "pid":
		r.PID, ok = parseInt(val)
		if !ok || r.PID < 0 {
			return 0, fieldErr("pid", val, "want a process id")
		}
		return hasPID, nil
	case "sig":
		r.Signal, ok = parseInt(val)
		if !ok {
			return 0, fieldErr("sig", val, "want a signal number")
		}
		return hasSig, nil
	case "compat":
		switch string(val) {
		case "0":
			r.Compat = false
		case "1":
			r.Compat = true
		default:
			return 0, fieldErr("compat", val, "want 0 or 1")
		}
		return hasCompat, nil
	case "uid":
		return hasUID, parseID(&r.UID, "uid", val)
	case "gid":
		return hasGID, parseID(&r.GID, "gid", val)
	case "auid":
		return hasAUID, parseID(&r.AUID, "auid", val)
	case "comm":
		r.Comm = untrusted(val, quoted)
		return hasComm, nil
	case "exe":
		r.Exe = untrusted(val, quoted)
		return hasExe, nil
	}
	return 0, nil
}

// isSpace separates fields; NUL too, which may end a netlink payload.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0
}

func parseID(dst *uint32, name string, val []byte) error {
	v, ok := parseUint(val, 0xffffffff)
	if !ok {
		return fieldErr(name, val, "want a numeric id")
	}
	*dst = uint32(v)
	return nil
}

// untrusted decodes a string field the kernel wrote with
// audit_log_untrustedstring: quoted as is, or hex when it holds a space,
// a quote or a control character; "(null)" and "?" mean none.
func untrusted(val []byte, quoted bool) string {
	if quoted {
		return intern(val)
	}
	if string(val) == "(null)" || string(val) == "?" {
		return ""
	}
	if len(val)%2 != 0 || len(val) == 0 {
		return intern(val)
	}
	var buf [128]byte
	var out []byte
	if len(val)/2 <= len(buf) {
		out = buf[:0]
	} else {
		out = make([]byte, 0, len(val)/2)
	}
	for i := 0; i < len(val); i += 2 {
		hi, ok1 := unhex(val[i])
		lo, ok2 := unhex(val[i+1])
		if !ok1 || !ok2 {
			return intern(val)
		}
		out = append(out, hi<<4|lo)
	}
	return intern(out)
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func parseUint(b []byte, max uint64) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (max-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// parseInt reads a decimal that fits in 32 bits signed or unsigned (the
// kernel prints longs; syscall numbers, pids and signals fit).
func parseInt(b []byte) (int, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	v, ok := parseUint(b, 0xffffffff)
	if !ok {
		return 0, false
	}
	if neg {
		if v > 1<<31 {
			return 0, false
		}
		return -int(v), true
	}
	return int(v), true
}

func parseHex(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		d, ok := unhex(c)
		if !ok {
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return v, true
}
