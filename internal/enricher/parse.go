package enricher

import (
	"fmt"
	"strconv"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/auditrecord"
)

var _ ParseFunc = ParseAudit

// ParseAudit parses a record with auditrecord, the one parser, and names
// its syscall with the record's own ABI table (an i386 process's 39 is
// mkdir).
func ParseAudit(payload []byte) (Record, error) {
	r, err := auditrecord.Parse(payload)
	if err != nil {
		return Record{}, err
	}
	out := Record{PID: r.PID, Nr: r.Syscall, Action: r.Action()}
	if abi, ok := r.ABI(); ok {
		out.Arch = abi.Name
	} else {
		out.Arch = fmt.Sprintf("arch 0x%x", r.Arch)
	}
	if name, ok := r.SyscallName(); ok {
		out.Syscall = name
	} else {
		out.Syscall = strconv.Itoa(r.Syscall)
	}
	return out, nil
}
