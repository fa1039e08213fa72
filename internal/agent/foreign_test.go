package agent

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
)

// An administrator's file at a predefined alias path is neither overwritten
// nor, when the profile goes, removed, also by a restarted agent; once the
// administrator removes it the profile is installed there and is the
// installer's from then on.
func TestSyncLeavesAnAdministratorsFileAlone(t *testing.T) {
	in := newInstaller(t)
	a := profilePath("a")
	admin := []byte("the administrator's own webapp profile\n")
	aliasPath := nodepath.Abs(in.Root, webappAlias)
	writeFile(t, aliasPath, admin)
	desired := map[string][]byte{a: []byte("a"), webappAlias: []byte("w")}

	// wanted: the alias is desired, so the result must report it.
	check := func(what string, res Result, wanted bool) {
		t.Helper()
		var fe *ForeignFileError
		if wanted {
			if err := res.Foreign[webappAlias]; !errors.As(err, &fe) || fe.Path != aliasPath || !strings.Contains(err.Error(), "remove or move it") {
				t.Errorf("%s: Foreign = %v, want a ForeignFileError for %s saying what to do", what, res.Foreign, aliasPath)
			}
		}
		if slices.Contains(res.Installed, webappAlias) {
			t.Errorf("%s: reports the alias installed", what)
		}
		if got, _ := os.ReadFile(aliasPath); !bytes.Equal(got, admin) {
			t.Errorf("%s: the administrator's file now holds %q", what, got)
		}
		if m, _ := in.readMarker(); m[webappAlias] {
			t.Errorf("%s: the marker claims the administrator's file", what)
		}
	}
	res, err := in.Sync(desired, nil)
	if err != nil {
		t.Fatalf("Sync: %v (a foreign file is no error of Sync)", err)
	}
	check("first Sync", res, true)
	if got := readRel(t, in, a); string(got) != "a" {
		t.Errorf("the other profile was not installed: %q", got)
	}
	in = &Installer{Root: in.Root} // a restarted agent
	res, _ = in.Sync(desired, nil)
	check("Sync after a restart", res, true)
	res, _ = in.Sync(map[string][]byte{}, nil) // the profile is deleted
	check("Sync without the profile", res, false)
	if len(res.Removed) != 1 || res.Removed[0] != a {
		t.Errorf("Removed = %v, want only %s", res.Removed, a)
	}
	if _, err := in.Install(webappAlias, []byte("w")); !errors.As(err, new(*ForeignFileError)) {
		t.Errorf("Install over the administrator's file: %v, want a ForeignFileError", err)
	}
	if err := in.Remove(webappAlias); err != nil {
		t.Fatal(err)
	}
	res, _ = in.Sync(desired, nil)
	check("Sync after Install and Remove", res, true)

	// The administrator removes the file: now it is installed, and ours.
	if err := os.Remove(aliasPath); err != nil {
		t.Fatal(err)
	}
	res, err = in.Sync(desired, nil)
	if err != nil || !slices.Contains(res.Installed, webappAlias) || len(res.Foreign) != 0 {
		t.Fatalf("Sync after the administrator's removal = %+v, %v; want the alias installed", res, err)
	}
	if got := readRel(t, in, webappAlias); string(got) != "w" {
		t.Fatalf("alias holds %q", got)
	}
	res, _ = in.Sync(map[string][]byte{}, nil)
	if !slices.Contains(res.Removed, webappAlias) {
		t.Fatalf("the installer's own alias was not removed with its profile: %+v", res)
	}
}

// An administrator's file that holds exactly the profile is used as it is,
// and stays when the profile goes.
func TestSyncKeepsAnAdministratorsIdenticalFile(t *testing.T) {
	in := newInstaller(t)
	aliasPath := nodepath.Abs(in.Root, webappAlias)
	writeFile(t, aliasPath, []byte("w"))
	res, err := in.Sync(map[string][]byte{webappAlias: []byte("w")}, nil)
	if err != nil || len(res.Installed) != 0 || len(res.Foreign) != 0 || res.Unchanged != 1 {
		t.Fatalf("Sync = %+v, %v; want the identical file counted unchanged", res, err)
	}
	if _, err := in.Sync(map[string][]byte{}, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(aliasPath); err != nil || string(got) != "w" {
		t.Fatalf("the administrator's identical file was removed with the profile: %q, %v", got, err)
	}
}

// A file that appears between the check and the write (the administrator
// was quicker) is not replaced: the path is created with link(2).
func TestInstallNeverReplacesAFileThatAppearsMeanwhile(t *testing.T) {
	in := newInstaller(t)
	aliasPath := nodepath.Abs(in.Root, webappAlias)
	writeFile(t, aliasPath, []byte("admin"))
	_, err := in.install(webappAlias, FileOf([]byte("w")), true, true)
	if !errors.As(err, new(*ForeignFileError)) {
		t.Fatalf("install(create) over an existing file: %v, want a ForeignFileError", err)
	}
	if got, _ := os.ReadFile(aliasPath); string(got) != "admin" {
		t.Fatalf("file replaced: %q", got)
	}
	assertNoTemps(t, nodepath.SeccompRoot(in.Root)+"/profiles/kubernetes")
}

// The node state says which profile a foreign file blocks, why, and what to
// do; the manager lists the node as failed with that reason.
func TestNodeReportsAForeignFile(t *testing.T) {
	sp, p := webappProfile(t, "webapp", map[string]string{v1alpha1.LabelPredefined: "true"})
	c := &memCluster{profiles: []*v1alpha1.SeccompProfile{sp}}
	r, pass := testNode(t, c)
	alias := nodepath.Abs(r.Installer.Root, nodepath.PredefinedAliasPath(p.File))
	writeFile(t, alias, []byte("admin"))
	pass()
	st := c.state.Status.Profiles
	if len(st) != 1 || st[0].State != v1alpha1.InstallStateFailed || st[0].Reason != v1alpha1.NodeReasonForeignFile ||
		!strings.Contains(st[0].Message, alias) || st[0].ContentHash != "" {
		t.Fatalf("state %+v, want webapp Failed with reason %s naming %s", st, v1alpha1.NodeReasonForeignFile, alias)
	}
	if err := os.Remove(alias); err != nil {
		t.Fatal(err)
	}
	r.Installer.ForgetKnown()
	pass()
	if st := c.state.Status.Profiles; st[0].State != v1alpha1.InstallStateInstalled || st[0].Reason != "" {
		t.Fatalf("after the administrator's removal: %+v, want Installed", st)
	}
}

// A pod still Pending on the node (its containers not created yet) already
// names the file: removing it would make the pod fail when it starts.
func TestPendingPodDefersRemoval(t *testing.T) {
	sp, _ := webappProfile(t, "app", nil)
	rel := profilePath("app")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "starting", Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", SecurityContext: &corev1.SecurityContext{
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To(rel)}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending},
	}
	c := &memCluster{profiles: []*v1alpha1.SeccompProfile{sp}, pods: []*corev1.Pod{pod}}
	r := &NodeReconciler{Cluster: c, Installer: &Installer{Root: t.TempDir()}, NodeName: "n1", Family: "x86_64", Log: logr.Discard(),
		prepared: map[string]preparedEntry{}}
	if _, err := r.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.profiles = nil // the profile is deleted
	r.lastWrite = r.lastWrite.AddDate(-1, 0, 0)
	if _, err := r.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(nodepath.Abs(r.Installer.Root, rel)); err != nil {
		t.Fatalf("file removed under a Pending pod: %v", err)
	}
	st := c.state.Status.Profiles
	if len(st) != 1 || st[0].State != v1alpha1.InstallStateRemoving || st[0].Reason != v1alpha1.NodeReasonInUse ||
		!strings.Contains(st[0].Message, "default/starting") {
		t.Fatalf("state %+v, want app Removing for default/starting", st)
	}
}

// The administrator's removal of a blocking file is an event: the profile
// is installed at once, not at the next periodic resync (an hour here).
func TestWatchInstallsOnceTheAdministratorsFileGoes(t *testing.T) {
	in := newInstaller(t)
	aliasPath := nodepath.Abs(in.Root, webappAlias)
	writeFile(t, aliasPath, []byte("admin"))
	desired := map[string][]byte{profilePath("a"): []byte("a"), webappAlias: []byte("w")}
	if res, err := in.Sync(desired, nil); err != nil || len(res.Foreign) != 1 {
		t.Fatalf("Sync = %+v, %v; want the alias blocked", res, err)
	}
	results := startWatch(t, in, time.Hour, desired)
	time.Sleep(100 * time.Millisecond) // the watch is set up
	if err := os.Remove(aliasPath); err != nil {
		t.Fatal(err)
	}
	waitRepair(t, results, webappAlias, 5*time.Second)
	if got := readRel(t, in, webappAlias); string(got) != "w" {
		t.Fatalf("alias holds %q", got)
	}
}
