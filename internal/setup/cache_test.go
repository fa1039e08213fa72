package setup

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCacheStripsManagedFields(t *testing.T) {
	tr := CacheOptions().DefaultTransform
	if tr == nil {
		t.Fatal("no DefaultTransform: the cache keeps every object's managedFields")
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"k": "v"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}}
	out, err := tr(ns)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*corev1.Namespace)
	if got.ManagedFields != nil || got.Labels["k"] != "v" {
		t.Errorf("transformed to %+v, want the labels kept and no managedFields", got.ObjectMeta)
	}
}
