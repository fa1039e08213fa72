// Package defaultcheck answers "what would break if this workload ran under
// its runtime's default seccomp profile (RuntimeDefault)": given the profile
// a workload uses (recorded, or written for it) it lists each syscall, and
// each argument value that matters, that the workload's profile allows and
// the runtime's default refuses, with the action and errno the workload
// would get, per architecture. The runtimes' defaults come from
// pkg/seccomp/runtimedefault; their conditional rules are resolved for the
// container's capabilities, architecture and kernel (profile.Resolve), and
// both profiles are evaluated syscall by syscall (profile.Evaluate), so the
// answer is what the kernel would do. It knows nothing of Kubernetes.
package defaultcheck

import (
	"fmt"
	"runtime"
	"slices"
	"sort"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/runtimedefault"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// Options say which default to check against and for which container.
type Options struct {
	// Arches are the native architectures to check (GOARCH or seccomp
	// names: "amd64", "aarch64"); none: this host's.
	Arches []string
	// Caps are the container's bounding capabilities; nil:
	// profile.DefaultCaps (a default container's).
	Caps []string
	// Kernel is the node's kernel release ("6.1.0-18-amd64"); "": this
	// host's. Only the first two numbers count, as in the runtimes.
	Kernel string
}

// Report is the outcome of checking a workload's profile against one
// runtime's default.
type Report struct {
	// Against is the default, "containerd@v2.4.2".
	Against string   `json:"against"`
	Caps    []string `json:"caps"`
	Kernel  string   `json:"kernel"`
	// Arches has one entry per native architecture checked.
	Arches []ArchReport `json:"arches"`
	// Breaks is true when some syscall the workload uses would be refused.
	Breaks bool `json:"breaks"`
}

// ArchReport is what the default refuses on one native architecture.
type ArchReport struct {
	Arch string `json:"arch"`
	// ABIs are the ABIs of Arch's family the workload's profile admits,
	// the ones checked; none means the profile is not for this arch.
	ABIs    []string  `json:"abis"`
	Refused []Refusal `json:"refused"`
}

// Refusal is one syscall (on one or more ABIs) that the workload's profile
// allows and the default refuses, for all or some argument values.
type Refusal struct {
	Syscall string `json:"syscall"`
	// ABIs are the ABIs on which it is refused this way ("x86_64", "x86").
	ABIs []string `json:"abis"`
	// Action is what the default does instead (SCMP_ACT_ERRNO, ...).
	Action profile.Action `json:"action"`
	// Errno is the error the call returns for SCMP_ACT_ERRNO (1: EPERM).
	Errno     uint   `json:"errno,omitempty"`
	ErrnoName string `json:"errnoName,omitempty"`
	// Always is true when every argument value the workload may pass is
	// refused; else Values and AllowedOnly say which are.
	Always bool `json:"always"`
	// Values are argument values the workload's profile allows and the
	// default refuses (each flag bit, address family, ... that matters).
	Values []ArgValue `json:"values,omitempty"`
	// AllowedOnly are the default's conditions under which it allows the
	// syscall, as written in it.
	AllowedOnly []string `json:"allowedOnly,omitempty"`
}

// ArgValue is one argument value.
type ArgValue struct {
	Index uint   `json:"index"`
	Value uint64 `json:"value"`
	// Name is what the value means, when known ("CLONE_NEWUSER", "AF_VSOCK").
	Name string `json:"name,omitempty"`
}

// Env returns the profile.Env for native arch under opts.
func (o Options) Env(native string) profile.Env {
	env := profile.DefaultEnv(native)
	if o.Caps != nil {
		env.Caps = slices.Clone(o.Caps)
	}
	if o.Kernel != "" {
		env.KernelVersion = o.Kernel
	}
	return env
}

// Load returns the default named by ref ("containerd", "crio@v0.50.1") and
// its parsed, unresolved profile.
func Load(ref string) (runtimedefault.Default, *profile.Profile, error) {
	d, err := runtimedefault.Get(ref)
	if err != nil {
		return d, nil, err
	}
	p, err := profile.Parse(d.Data())
	if err != nil {
		return d, nil, fmt.Errorf("%s: %w", d.Ref(), err)
	}
	return d, p, nil
}

// Check checks the workload's profile (resolved for each architecture, as
// the default is) against the default named by ref.
func Check(ref string, workload *profile.Profile, opts Options) (*Report, error) {
	d, def, err := Load(ref)
	if err != nil {
		return nil, err
	}
	return CheckLoaded(d, def, workload, opts)
}

// CheckLoaded is Check with the default already loaded (Load), for callers
// that check many workloads against one default.
func CheckLoaded(d runtimedefault.Default, def, workload *profile.Profile, opts Options) (*Report, error) {
	return check(d.Ref(), func(native *syscalls.Arch) error {
		if !covers(d, native) {
			return fmt.Errorf("%s: the data covers %v, not %s", d.Ref(), d.Arches, native.Name)
		}
		return nil
	}, def, workload, opts)
}

// CheckProfile is Check against any profile named name (a predefined one,
// a node's own default), not only a runtime's default held as data: what
// workload allows and against refuses, evaluated the same way.
func CheckProfile(name string, against, workload *profile.Profile, opts Options) (*Report, error) {
	return check(name, func(*syscalls.Arch) error { return nil }, against, workload, opts)
}

func check(name string, covered func(*syscalls.Arch) error, def, workload *profile.Profile, opts Options) (*Report, error) {
	arches := opts.Arches
	if len(arches) == 0 {
		arches = []string{runtime.GOARCH}
	}
	env0 := opts.Env(arches[0])
	rep := &Report{Against: name, Caps: env0.Caps, Kernel: env0.KernelVersion, Arches: []ArchReport{}}
	if rep.Caps == nil {
		rep.Caps = []string{}
	}
	for _, name := range arches {
		native, ok := syscalls.Get(name)
		if !ok {
			return nil, fmt.Errorf("unknown architecture %q", name)
		}
		if native.Native != native.Name {
			return nil, fmt.Errorf("architecture %q is an ABI of %s hosts, not a host architecture: give %s (its ABIs are all checked)", name, native.Native, native.Native)
		}
		if err := covered(native); err != nil {
			return nil, err
		}
		env := opts.Env(native.Name)
		rd, err := profile.Resolve(def, env)
		if err != nil {
			return nil, fmt.Errorf("%s for %s: %w", name, native.Name, err)
		}
		rw, err := profile.Resolve(workload, env)
		if err != nil {
			return nil, fmt.Errorf("workload profile for %s: %w", native.Name, err)
		}
		refused, err := compare(rw, rd, native)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", native.Name, err)
		}
		abis := []string{}
		for _, a := range profile.AdmittedABIs(rw, native) {
			abis = append(abis, a.Name)
		}
		rep.Arches = append(rep.Arches, ArchReport{Arch: native.Name, ABIs: abis, Refused: refused})
		rep.Breaks = rep.Breaks || len(refused) > 0
	}
	return rep, nil
}

func covers(d runtimedefault.Default, native *syscalls.Arch) bool {
	for _, a := range d.Arches {
		if x, ok := syscalls.Get(a); ok && x == native {
			return true
		}
	}
	return false
}

// allowing reports whether a lets the syscall run (the workload "uses" it;
// the default does not refuse it).
func allowing(a profile.Action) bool {
	switch a {
	case profile.ActAllow, profile.ActLog, profile.ActTrace, profile.ActNotify:
		return true
	}
	return false
}

// compare lists what def refuses of what w allows, on native's family.
func compare(w, def *profile.Profile, native *syscalls.Arch) ([]Refusal, error) {
	if allowing(w.DefaultAction) {
		return nil, fmt.Errorf("the workload's profile allows every syscall it does not name (default action %s): check needs the syscalls the workload uses, such as a recorded profile", w.DefaultAction)
	}
	wIdx, dIdx := newIndex(w), newIndex(def)
	var out []Refusal
	byKey := map[string]int{}
	for _, abi := range profile.AdmittedABIs(w, native) {
		for _, name := range wIdx.allowedNames() {
			nr, ok := abi.Lookup(name)
			if !ok {
				continue
			}
			rs, err := refusals(wIdx.forSyscall(abi, nr), dIdx.forSyscall(abi, nr), abi, nr, name)
			if err != nil {
				return nil, err
			}
			for _, r := range rs {
				k := r.key()
				if i, ok := byKey[k]; ok {
					out[i].ABIs = append(out[i].ABIs, abi.Name)
					continue
				}
				r.ABIs = []string{abi.Name}
				byKey[k] = len(out)
				out = append(out, r)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Syscall < out[j].Syscall })
	return out, nil
}

func (r Refusal) key() string {
	return fmt.Sprintf("%s|%s|%d|%v|%v|%v", r.Syscall, r.Action, r.Errno, r.Always, r.Values, r.AllowedOnly)
}
