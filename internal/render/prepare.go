package render

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/bpf"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// Prepared is a profile ready to install, or the reason it is not.
type Prepared struct {
	// Content is what nodes install (nil when Problem is set).
	Content []byte
	// Sum is the SHA-256 of Content, Hash its form in node states
	// (Hash(Content)).
	Sum  [sha256.Size]byte
	Hash string
	// OtherHash is the Hash of the same profile version rendered for a node
	// of the other kind (runtime taking flags or not), when the two differ
	// (the operator's SECCOMP_FILTER_FLAG_LOG, LogDenials): a node reports
	// the hash of the bytes it holds, and both are current.
	OtherHash string
	// Problem names everything that keeps the profile from being
	// installed: an inheritance error, validation errors, or what the
	// compiler (and so the kernel) would reject.
	Problem string
	// Flags are the seccomp flags of the flattened profile (its own or a
	// base's): not every container runtime accepts them
	// (internal/runtimeflags).
	Flags []string
}

// Lookup reads a base profile by name. A profile that does not exist is an
// error for which apierrors.IsNotFound is true; any other error means it
// could not be read. The result is only read, never modified. (A function
// rather than controller-runtime's client.Reader keeps this package, and so
// the node agent, free of controller-runtime and the client-go type
// registry it pulls in.)
type Lookup func(ctx context.Context, name string) (*v1alpha1.SeccompProfile, error)

// Prepare flattens sp through the profiles lookup can read, validates the result,
// compiles it for every family in families that the profile covers (at least
// one must be), and renders it for a node whose container runtime passes
// seccomp flags or not (runtimeTakesFlags: see LogDenials). The manager
// prepares for every node architecture it supports, as for a runtime that
// takes flags, and counts a node current with Hash or OtherHash; an agent
// prepares for its own node. Infrastructure errors
// (reading a base failed) are returned as err; everything wrong with the
// profile itself is a Problem, so callers can report it and move on.
func Prepare(ctx context.Context, lookup Lookup, sp *v1alpha1.SeccompProfile, families []string, runtimeTakesFlags bool) (Prepared, error) {
	return prepare(ctx, lookup, sp, families, runtimeTakesFlags, true)
}

// PrepareNode is Prepare without OtherHash, for an agent: it holds only its
// own node's rendering, and a second one per profile version would be
// garbage on every node.
func PrepareNode(ctx context.Context, lookup Lookup, sp *v1alpha1.SeccompProfile, families []string, runtimeTakesFlags bool) (Prepared, error) {
	return prepare(ctx, lookup, sp, families, runtimeTakesFlags, false)
}

func prepare(ctx context.Context, lookup Lookup, sp *v1alpha1.SeccompProfile, families []string, runtimeTakesFlags, otherHash bool) (Prepared, error) {
	flat, err := Flatten(ctx, lookup, sp)
	if err != nil {
		if isLookupError(err) {
			return Prepared{}, err
		}
		return Prepared{Problem: err.Error()}, nil
	}
	if errs := profile.ValidateErrors(flat); len(errs) > 0 {
		lines := make([]string, len(errs))
		for i, e := range errs {
			lines[i] = e.String()
		}
		return Prepared{Problem: strings.Join(lines, "; ")}, nil
	}
	compiled := 0
	for _, fam := range families {
		if !coversFamily(flat, fam) {
			continue
		}
		if _, err := bpf.Compile(flat, bpf.Options{Arch: fam}); err != nil {
			return Prepared{Problem: fmt.Sprintf("compile for %s: %v", fam, err)}, nil
		}
		compiled++
	}
	if compiled == 0 {
		return Prepared{Problem: fmt.Sprintf("spec.architectures %v covers none of the node architectures %v", flat.Architectures, families)}, nil
	}
	logDenials := LogDenials(sp, runtimeTakesFlags)
	b, err := Render(sp.Spec.Mode, flat, logDenials)
	if err != nil {
		return Prepared{Problem: err.Error()}, nil
	}
	sum := sha256.Sum256(b)
	prep := Prepared{Content: b, Sum: sum, Hash: HashOfSum(sum), Flags: flat.Flags}
	if other := LogDenials(sp, !runtimeTakesFlags); otherHash && other != logDenials {
		ob, err := Render(sp.Spec.Mode, flat, other)
		if err != nil {
			return Prepared{Problem: err.Error()}, nil
		}
		if oh := Hash(ob); oh != prep.Hash { // the same when the profile sets the flag itself
			prep.OtherHash = oh
		}
	}
	return prep, nil
}

// Content renders sp again, without the validation and compilation Prepare
// did: for a caller that prepared the same versions of sp and its bases
// (and the same runtimeTakesFlags) before, kept only the digest, and needs
// the bytes again.
func Content(ctx context.Context, lookup Lookup, sp *v1alpha1.SeccompProfile, runtimeTakesFlags bool) ([]byte, error) {
	flat, err := Flatten(ctx, lookup, sp)
	if err != nil {
		return nil, err
	}
	return Render(sp.Spec.Mode, flat, LogDenials(sp, runtimeTakesFlags))
}

func coversFamily(p *profile.Profile, fam string) bool {
	for _, a := range syscalls.Family(fam) {
		for _, n := range p.Architectures {
			if got, ok := syscalls.Get(n); ok && got == a {
				return true
			}
		}
	}
	return false
}

// lookupError marks a failure to read a base profile from the cluster, as
// opposed to a problem with the profiles themselves.
type lookupError struct{ err error }

func (e lookupError) Error() string { return e.err.Error() }
func (e lookupError) Unwrap() error { return e.err }

func isLookupError(err error) bool {
	_, ok := err.(lookupError)
	return ok
}

// Flatten resolves sp's inheritance chain through the profiles lookup can read.
func Flatten(ctx context.Context, lookup Lookup, sp *v1alpha1.SeccompProfile) (*profile.Profile, error) {
	nodes := map[string]profile.Node{sp.Name: nodeOf(sp)}
	var readErr error
	p, err := profile.Flatten(sp.Name, func(name string) (profile.Node, bool) {
		if n, ok := nodes[name]; ok {
			return n, true
		}
		base, err := lookup(ctx, name)
		if err != nil {
			if !apierrors.IsNotFound(err) {
				readErr = err
			}
			return profile.Node{}, false
		}
		nodes[name] = nodeOf(base)
		return nodes[name], true
	})
	if readErr != nil {
		return nil, lookupError{fmt.Errorf("read base profiles of %s: %w", sp.Name, readErr)}
	}
	return p, err
}

func nodeOf(sp *v1alpha1.SeccompProfile) profile.Node {
	return profile.Node{Name: sp.Name, Base: sp.Spec.BaseProfileName, Profile: sp.Spec.ToProfile()}
}

// MapLookup serves lookups from profiles already read (an informer's list),
// without copying them.
func MapLookup(byName map[string]*v1alpha1.SeccompProfile) Lookup {
	return func(_ context.Context, name string) (*v1alpha1.SeccompProfile, error) {
		if sp, ok := byName[name]; ok {
			return sp, nil
		}
		return nil, apierrors.NewNotFound(v1alpha1.GroupVersion.WithResource("seccompprofiles").GroupResource(), name)
	}
}
