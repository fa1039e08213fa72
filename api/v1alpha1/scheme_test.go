package v1alpha1

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
)

func TestAddToSchemeRegistersKinds(t *testing.T) {
	s := runtime.NewScheme()
	if err := AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	for obj, kind := range map[runtime.Object]string{
		&SeccompProfile{}: "SeccompProfile", &SeccompProfileList{}: "SeccompProfileList",
		&SeccompNodeStatus{}: "SeccompNodeStatus", &SeccompNodeStatusList{}: "SeccompNodeStatusList",
	} {
		gvks, _, err := s.ObjectKinds(obj)
		if err != nil || len(gvks) != 1 || gvks[0] != GroupVersion.WithKind(kind) {
			t.Errorf("%T: kinds %v, err %v; want %v", obj, gvks, err, GroupVersion.WithKind(kind))
		}
	}
}

// TestDeepCopyIsIndependent checks the generated deepcopy on a spec with
// every pointer and slice set.
func TestDeepCopyIsIndependent(t *testing.T) {
	sp := &SeccompProfile{Spec: SpecFromProfile(fullProfile())}
	sp.Name = "full"
	cp := sp.DeepCopyObject().(*SeccompProfile)
	if !reflect.DeepEqual(sp, cp) {
		t.Fatal("copy differs from original")
	}
	*cp.Spec.DefaultErrnoRet = 7
	*cp.Spec.Syscalls[4].ErrnoRet = 7
	cp.Spec.Syscalls[10].Args[0].Value = 7
	cp.Spec.Syscalls[0].Names[0] = "x"
	cp.Spec.Architectures[0] = "x"
	if !reflect.DeepEqual(sp.Spec.ToProfile(), fullProfile()) {
		t.Fatal("changing the copy changed the original")
	}
}
