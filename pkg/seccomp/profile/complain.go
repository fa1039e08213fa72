package profile

// Complain returns a copy of p for the CRD's Complain mode: the default
// action and every rule action other than SCMP_ACT_ALLOW and SCMP_ACT_LOG
// become SCMP_ACT_LOG, so the workload runs and the kernel logs what the
// profile would have stopped. errnoRet and defaultErrnoRet are dropped, as
// LOG carries no data. Rule order and comparisons are kept: a conditional
// ALLOW stays ALLOW, the rest of that syscall is logged.
func Complain(p *Profile) *Profile {
	if p == nil {
		return nil
	}
	out := p.DeepCopy()
	if out.DefaultAction != ActAllow && out.DefaultAction != ActLog {
		out.DefaultAction = ActLog
		out.DefaultErrnoRet = nil
	}
	for i := range out.Syscalls {
		s := &out.Syscalls[i]
		if s.Action != ActAllow && s.Action != ActLog {
			s.Action = ActLog
			s.ErrnoRet = nil
		}
	}
	return out
}
