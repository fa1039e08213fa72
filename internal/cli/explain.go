package cli

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/profilefile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/auditrecord"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/bpf"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// explainReport is explain's machine-readable output.
type explainReport struct {
	Records   []explained     `json:"records"`
	Skipped   int             `json:"skipped"`
	Malformed []malformedLine `json:"malformed,omitempty"`
}

type malformedLine struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

// explained is one record in words.
type explained struct {
	Line      int        `json:"line"`
	Time      *time.Time `json:"time,omitempty"`
	Serial    uint64     `json:"serial,omitempty"`
	PID       int        `json:"pid"`
	Comm      string     `json:"comm,omitempty"`
	Exe       string     `json:"exe,omitempty"`
	UID       uint32     `json:"uid"`
	AUID      uint32     `json:"auid"`
	Arch      string     `json:"arch"`
	AuditArch string     `json:"auditArch"`
	Syscall   string     `json:"syscall,omitempty"`
	Nr        int        `json:"nr"`
	Action    string     `json:"action"`
	Code      string     `json:"code"`
	Meaning   string     `json:"meaning"`
	Profile   *verdict   `json:"profile,omitempty"`
}

// verdict is what --profile says about the record's syscall.
type verdict struct {
	Name string `json:"name"`
	// Action is the profile's action for the syscall on the record's ABI;
	// empty when it depends on arguments (see Possible).
	Action     string   `json:"action,omitempty"`
	Errno      *errnoAt `json:"errno,omitempty"`
	ByArgument bool     `json:"byArgument,omitempty"`
	Possible   []string `json:"possible,omitempty"`
	Says       string   `json:"says"`
}

type errnoAt struct {
	Name   string `json:"name,omitempty"`
	Number uint   `json:"number"`
}

func newExplainCmd(o *options) *cobra.Command {
	var file, profArg string
	cmd := &cobra.Command{
		Use:   "explain ['<audit line>' ...] [--file FILE|-] [--profile PROFILE]",
		Short: "Explain seccomp audit records (type=1326 / SECCOMP) in words",
		Long: "explain reads kernel seccomp audit records as audit.log, dmesg, journal or netlink lines, given\n" +
			"as arguments, in --file, or on standard input (\"-\"), and says for each: when, which process,\n" +
			"which syscall on which architecture (named with that ABI's own table: an i386 process's 39 is\n" +
			"mkdir), and what the filter did. The kernel does not record which errno a denial returned:\n" +
			"--profile names the errno that profile returns for the syscall, or says it would allow it.\n" +
			"Lines that are not seccomp records are skipped and counted; a malformed record is reported\n" +
			"with its line number and makes the exit code 1.",
		RunE: func(cmd *cobra.Command, args []string) error {
			var lines []string
			for _, a := range args {
				if a == stdinArg {
					if file != "" {
						return fmt.Errorf("read records from \"-\" or --file, not both")
					}
					file = stdinArg
					continue
				}
				lines = append(lines, strings.Split(a, "\n")...)
			}
			if file != "" {
				data, err := readInput(file, o.stdin)
				if err != nil {
					return fmt.Errorf("read records: %w", err)
				}
				lines = append(lines, strings.Split(string(data), "\n")...)
			}
			if len(lines) == 0 {
				return fmt.Errorf("no records: give audit lines as arguments, --file FILE, or - for standard input")
			}
			var src *profilefile.Source
			if profArg != "" {
				var err error
				if src, err = readProfile(profArg, o.stdin); err != nil {
					return err
				}
			}
			rep, err := explainLines(lines, src)
			if err != nil {
				return err
			}
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if err := o.emit(out, rep, func() { printExplained(out, rep) }); err != nil {
				return err
			}
			for _, m := range rep.Malformed {
				fmt.Fprintf(errOut, "line %d: %s\n", m.Line, m.Error)
			}
			switch {
			case len(rep.Malformed) > 0:
				return &exitError{code: 1, msg: fmt.Sprintf("%d malformed seccomp record(s)", len(rep.Malformed))}
			case len(rep.Records) == 0:
				return &exitError{code: 1, msg: fmt.Sprintf("no seccomp records (type=1326 / SECCOMP) in %d line(s)", rep.Skipped)}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "read records from this file (- for standard input)")
	cmd.Flags().StringVar(&profArg, "profile", "", "profile file or predefined profile name: say what it returns for each record's syscall")
	return cmd
}

// explainLines explains every seccomp record among lines; blank lines and
// lines of other kinds are skipped.
func explainLines(lines []string, src *profilefile.Source) (explainReport, error) {
	rep := explainReport{Records: []explained{}}
	resolved := map[string]*profile.Profile{} // by native ABI
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		r, err := auditrecord.Parse([]byte(l))
		if errors.Is(err, auditrecord.ErrNotSeccomp) {
			rep.Skipped++
			continue
		}
		if err != nil {
			rep.Malformed = append(rep.Malformed, malformedLine{Line: i + 1, Error: err.Error()})
			continue
		}
		e := explainRecord(&r)
		e.Line = i + 1
		if src != nil {
			v, err := profileVerdict(src, resolved, &r)
			if err != nil {
				return rep, err
			}
			e.Profile = v
		}
		rep.Records = append(rep.Records, e)
	}
	return rep, nil
}

func explainRecord(r *auditrecord.Record) explained {
	e := explained{
		Serial: r.Serial, PID: r.PID, Comm: r.Comm, Exe: r.Exe, UID: r.UID, AUID: r.AUID,
		AuditArch: fmt.Sprintf("%#x", r.Arch), Nr: r.Syscall,
		Action: r.Action(), Code: fmt.Sprintf("%#x", r.Code), Meaning: actionMeaning(r.Code),
	}
	if !r.Time.IsZero() {
		t := r.Time.UTC()
		e.Time = &t
	}
	e.Arch = e.AuditArch
	if abi, ok := r.ABI(); ok {
		e.Arch = abi.Name
	}
	if n, ok := r.SyscallName(); ok {
		e.Syscall = n
	}
	return e
}

// actionMeaning says in words what the filter's verdict did.
func actionMeaning(code uint32) string {
	a, data := bpf.DescribeRet(code)
	switch a {
	case profile.ActKillProcess:
		return "killed the process (SIGSYS)"
	case profile.ActKillThread:
		return "killed the thread (SIGSYS)"
	case profile.ActTrap:
		return "denied: sent SIGSYS to the thread (trap)"
	case profile.ActErrno:
		return "denied with an errno; the record does not say which (--profile does)"
	case profile.ActNotify:
		return "handed to a user-space supervisor (user notification)"
	case profile.ActTrace:
		return fmt.Sprintf("handed to the ptrace tracer (message %d)", data)
	case profile.ActLog:
		return "allowed and logged: would have been denied (logged only, complain mode)"
	case profile.ActAllow:
		return "allowed"
	}
	return fmt.Sprintf("unknown action %#x, which the kernel treats as killing the process", code)
}

// profileVerdict evaluates src for the record's syscall on its ABI, with
// the profile resolved for the record's host family (not this machine's).
func profileVerdict(src *profilefile.Source, resolved map[string]*profile.Profile, r *auditrecord.Record) (*verdict, error) {
	v := &verdict{Name: src.Name}
	abi, ok := r.ABI()
	if !ok {
		v.Says = fmt.Sprintf("cannot tell: architecture %#x is unknown", r.Arch)
		return v, nil
	}
	p, ok := resolved[abi.Native]
	if !ok {
		var err error
		if p, err = profile.Resolve(src.Profile, profile.DefaultEnv(abi.Native)); err != nil {
			return nil, fmt.Errorf("%s: %w", src.Name, err)
		}
		resolved[abi.Native] = p
	}
	name, named := abi.NameOf(r.Syscall)
	call := fmt.Sprintf("%s on %s", name, abi.Name)
	if !named {
		call = fmt.Sprintf("syscall %d on %s", r.Syscall, abi.Name)
	}
	if named {
		if possible := argumentVerdicts(p, name); possible != nil {
			v.ByArgument, v.Possible = true, possible
			v.Says = fmt.Sprintf("decides %s by its arguments, which the record does not carry: %s", call, strings.Join(possible, ", or "))
			return v, nil
		}
	}
	act, data, err := profile.Evaluate(p, abi, r.Syscall, [6]uint64{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.Name, err)
	}
	v.Action = string(act)
	if act == profile.ActErrno {
		v.Errno = &errnoAt{Number: data}
		v.Errno.Name, _ = profile.ErrnoName(data)
	}
	v.Says = actionWords(act, data) + " for " + call
	if !slices.Contains(profile.AdmittedABIs(p, abi), abi) {
		v.Says += fmt.Sprintf(" (the profile does not admit the %s ABI)", abi.Name)
	}
	v.Says += consistency(r, act)
	if src.CRD != nil && src.CRD.Spec.Mode == v1alpha1.ModeComplain {
		v.Says += "; this SeccompProfile is in Complain mode, so nodes install it with every denial turned into a log"
	}
	return v, nil
}

// actionWords says what a profile action does.
func actionWords(a profile.Action, data uint) string {
	switch a {
	case profile.ActErrno:
		if n, ok := profile.ErrnoName(data); ok {
			return fmt.Sprintf("returns %s (%d)", n, data)
		}
		return fmt.Sprintf("returns errno %d", data)
	case profile.ActAllow:
		return "allows it"
	case profile.ActLog:
		return "allows and logs it"
	case profile.ActKillProcess:
		return "kills the process"
	case profile.ActKillThread, profile.ActKill:
		return "kills the thread"
	case profile.ActTrap:
		return "sends SIGSYS (trap)"
	case profile.ActTrace:
		return fmt.Sprintf("hands it to the tracer (message %d)", data)
	case profile.ActNotify:
		return "hands it to a user-space supervisor"
	}
	return string(a)
}

// consistency notes when the profile cannot have produced the record.
func consistency(r *auditrecord.Record, act profile.Action) string {
	got, _ := bpf.DescribeRet(r.Code)
	if act == profile.ActKill {
		act = profile.ActKillThread
	}
	switch {
	case got == act:
		return ""
	case got == profile.ActLog && act != profile.ActAllow:
		return "; the record is from complain mode, where the call went through"
	case got == profile.ActLog:
		return "; the record's filter logged it (complain mode or a log rule), so the process ran under another filter or another version of this profile"
	case act == profile.ActAllow || act == profile.ActLog:
		return "; the record's filter denied it, so the process ran under another filter or another version of this profile"
	}
	return fmt.Sprintf("; the record says %s, so the process ran under another filter or another version of this profile", r.Action())
}

// argumentVerdicts lists, when p decides name by arguments (conditional
// rules and no unconditional one), the verdicts it can give, else nil.
func argumentVerdicts(p *profile.Profile, name string) []string {
	var possible []string
	seen := map[string]bool{}
	add := func(a profile.Action, errnoRet *uint) {
		d := uint(0)
		if a == profile.ActErrno || a == profile.ActTrace {
			d = 1
			if errnoRet != nil {
				d = *errnoRet
			}
		}
		w := actionWords(a, d)
		if !seen[w] {
			seen[w] = true
			possible = append(possible, w)
		}
	}
	conditional := false
	for i := range p.Syscalls {
		s := &p.Syscalls[i]
		if !slices.Contains(s.AllNames(), name) {
			continue
		}
		if len(s.Args) == 0 {
			return nil // the first unconditional rule decides
		}
		conditional = true
		add(s.Action, s.ErrnoRet)
	}
	if !conditional {
		return nil
	}
	add(p.DefaultAction, p.DefaultErrnoRet)
	return possible
}

func printExplained(w io.Writer, rep explainReport) {
	for i, e := range rep.Records {
		if i > 0 {
			fmt.Fprintln(w)
		}
		when := "time unknown"
		if e.Time != nil {
			when = e.Time.Format("2006-01-02 15:04:05.000 UTC")
		}
		fmt.Fprintf(w, "line %d: %s (serial %d)\n", e.Line, when, e.Serial)
		sc := e.Syscall
		if sc == "" {
			sc = "an unknown syscall"
		}
		fmt.Fprintf(w, "  syscall:  %s (%d) on %s (arch=%s)\n", sc, e.Nr, e.Arch, strings.TrimPrefix(e.AuditArch, "0x"))
		fmt.Fprintf(w, "  action:   %s (code=%s): %s\n", e.Action, e.Code, e.Meaning)
		fmt.Fprintf(w, "  process:  pid %d, comm %q, exe %q, uid %s\n", e.PID, e.Comm, e.Exe, idWords(e.UID))
		if e.Profile != nil {
			fmt.Fprintf(w, "  profile:  %s %s\n", e.Profile.Name, e.Profile.Says)
		}
	}
	if rep.Skipped > 0 {
		fmt.Fprintf(w, "\n%d line(s) skipped: not seccomp records\n", rep.Skipped)
	}
}

func idWords(id uint32) string {
	if id == auditrecord.Unset {
		return "unset"
	}
	return fmt.Sprint(id)
}
