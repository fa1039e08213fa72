//go:build integration

package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/policy"
	"github.com/seccomp-operator/seccomp-operator/internal/policy/policycases"
)

// The table of admission cases (internal/policy/policycases) runs
// through the admission policies the kube-apiserver evaluates and through
// policy.Evaluate, the same policies run in-process with the apiserver's
// code as the fallback webhook and `seccompctl audit` run them: for each
// the two must agree on admission, the profiles written and the messages,
// word for word. Both are the compiled policies; what this catches is
// version skew between the apiserver and the k8s.io/apiserver the
// operator is built with. fallback_test.go runs the same table through
// the fallback webhook.
func TestPolicyCaseTableInProcessAndApiserverAgree(t *testing.T) {
	runPolicyCaseTable(t)
}

// runPolicyCaseTable creates the table's namespaces, profile, policies and
// bindings in the apiserver of the package's k8s client and runs the cases
// until the apiserver and the in-process evaluation agree (or 20 s pass).
func runPolicyCaseTable(t *testing.T) {
	ctx := context.Background()
	nsLabels := policycases.Namespaces
	for ns, l := range nsLabels {
		policyNamespace(t, ns, l)
	}
	rc := &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: policycases.RuntimeClass}, Handler: "runsc"}
	if err := k8s.Create(ctx, rc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx, rc) })
	prof := &v1alpha1.SeccompProfile{
		ObjectMeta: metav1.ObjectMeta{Name: policycases.Profile},
		Spec:       v1alpha1.SeccompProfileSpec{DefaultAction: "SCMP_ACT_ALLOW", Architectures: []v1alpha1.Arch{"SCMP_ARCH_X86_64"}},
	}
	if err := k8s.Create(ctx, prof); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx, prof) })
	for _, p := range policycases.Policies() {
		createPolicy(t, &p)
	}
	for _, b := range policycases.Bindings() {
		createBinding(t, &b)
	}
	cases := policycases.Cases

	// The apiserver loads policies asynchronously: wait for the last
	// created one to refuse as expected.
	tier := policycases.Case{Namespace: "cases-tier"}.Pod("probe")
	admittedWithin(t, "the case policies in force", tier, func(_ *corev1.Pod, err error, _ []string) bool {
		return err != nil && strings.Contains(err.Error(), "no SeccompProfile cases-b exists")
	})
	var all v1alpha1.SeccompPolicyList
	if err := k8s.List(ctx, &all); err != nil {
		t.Fatal(err)
	}
	var index v1alpha1.SeccompProfileIndex
	eventually(t, "cases-a in the index", func() bool {
		return k8s.Get(ctx, client.ObjectKey{Name: v1alpha1.ProfileIndexName}, &index) == nil &&
			(strings.Contains(index.Installed, ",cases-a,") || index.NotInstalled["cases-a"] != "")
	})

	// Policies reach the apiserver's evaluators asynchronously, each on
	// its own: run the table until both agree on every case, and
	// report the disagreements of the last run if they never do.
	var problems []string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		st := policy.State{Policies: all.Items, Bindings: allBindings(t), Index: &index, OperatorNamespace: operatorNamespace}
		problems = append(runCases(t, cases, nsLabels, st), runTemplateCases(t, cases, nsLabels, st)...)
		if len(problems) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// runCases runs each case through the apiserver and through Evaluate and
// returns where they disagree.
func runCases(t *testing.T, cases []policycases.Case, nsLabels map[string]map[string]string, st policy.State) []string {
	var problems []string
	for _, c := range cases {
		pod := c.Pod("case-" + rand.String(5))
		want, err := policy.Evaluate(policy.Request{Pod: pod, NamespaceLabels: withName(nsLabels[c.Namespace], c.Namespace), Username: "system:admin", Describe: true}, st)
		if err != nil {
			t.Fatalf("%s: Evaluate: %v", c.Name, err)
		}
		out, apiErr, warnings := dryRun(t, pod)
		// The apiserver's own warnings about legacy annotations are not ours.
		warnings = slices.DeleteFunc(warnings, func(w string) bool { return strings.HasPrefix(w, "metadata.annotations[") })
		if (apiErr != nil) != want.Refused() {
			problems = append(problems, fmt.Sprintf("%s: apiserver error %v; in-process refuses: %v (%+v)", c.Name, apiErr, want.Refused(), want))
			continue
		}
		said := strings.Join(warnings, "\n")
		if apiErr != nil {
			said = apiErr.Error()
		}
		msgs := want.Messages()
		if apiErr != nil {
			// The apiserver reports the first denying policy only.
			if !slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(said, m) }) {
				problems = append(problems, fmt.Sprintf("%s: the apiserver refused without any of in-process messages\n  in-process: %q\n  api: %s", c.Name, msgs, said))
			}
		} else if want.Mode == v1alpha1.PolicyModeWarn {
			for _, msg := range msgs {
				if !strings.Contains(said, msg) {
					problems = append(problems, fmt.Sprintf("%s: the apiserver did not say in-process message\n  in-process: %s\n  api: %s", c.Name, msg, said))
				}
			}
		}
		if apiErr == nil && want.Mode != v1alpha1.PolicyModeAudit && len(msgs) == 0 && said != "" {
			problems = append(problems, fmt.Sprintf("%s: the apiserver said %q, in-process nothing", c.Name, said))
		}
		if apiErr == nil {
			if got, wantP := policycases.Profiles(out), policycases.Profiles(want.Pod); got != wantP {
				problems = append(problems, fmt.Sprintf("%s: profiles after admission %s, in-process says %s", c.Name, got, wantP))
			}
		}
	}
	return problems
}

// runTemplateCases runs each case's pod as the template of a Deployment
// (dry run) and returns where the apiserver's warnings and the in-process
// ones disagree. Bindings apply to templates as to the pods made from
// them.
func runTemplateCases(t *testing.T, cases []policycases.Case, nsLabels map[string]map[string]string, st policy.State) []string {
	cl, w := warningClient(t)
	var problems []string
	for _, tc := range cases {
		pod := tc.Pod("tmpl-" + rand.String(5))
		if pod.Labels == nil {
			pod.Labels = map[string]string{}
		}
		pod.Labels["case-template"] = "yes" // the Deployment's selector
		dep := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: tc.Namespace, Name: pod.Name},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"case-template": "yes"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: pod.Labels, Annotations: pod.Annotations}, Spec: pod.Spec},
			},
		}
		want, err := policy.Evaluate(policy.Request{Workload: dep, Resource: "deployments", Namespace: tc.Namespace,
			NamespaceLabels: withName(nsLabels[tc.Namespace], tc.Namespace), Username: "system:admin"}, st)
		if err != nil {
			t.Fatalf("%s: Evaluate: %v", tc.Name, err)
		}
		expect := want.Warnings
		w.take()
		if err := cl.Create(context.Background(), dep, client.DryRunAll); err != nil {
			problems = append(problems, fmt.Sprintf("template %s: the Deployment was refused: %v", tc.Name, err))
			continue
		}
		// Not ours: Pod Security's and the legacy-annotation warnings.
		said := slices.DeleteFunc(w.take(), func(m string) bool {
			return strings.Contains(m, "would violate PodSecurity") || strings.Contains(m, ".annotations[")
		})
		if len(said) != len(expect) {
			problems = append(problems, fmt.Sprintf("template %s: the apiserver warned %q, in-process says %q", tc.Name, said, expect))
			continue
		}
		for _, m := range expect {
			if !slices.ContainsFunc(said, func(s string) bool { return strings.Contains(s, m) }) {
				problems = append(problems, fmt.Sprintf("template %s: the apiserver did not say in-process message\n  in-process: %s\n  api: %q", tc.Name, m, said))
			}
		}
	}
	return problems
}

// allBindings lists every ProfileBinding.
func allBindings(t *testing.T) []v1alpha1.ProfileBinding {
	t.Helper()
	var l v1alpha1.ProfileBindingList
	if err := k8s.List(context.Background(), &l); err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// createBinding creates a ProfileBinding, deleted after the test, and
// waits for it to be Ready.
func createBinding(t *testing.T, b *v1alpha1.ProfileBinding) {
	t.Helper()
	ctx := context.Background()
	if err := k8s.Create(ctx, b); err != nil {
		t.Fatalf("create binding %s: %v", b.Name, err)
	}
	t.Cleanup(func() { _ = client.IgnoreNotFound(k8s.Delete(ctx, b)) })
	eventually(t, "binding "+b.Name+" Ready", func() bool {
		var cur v1alpha1.ProfileBinding
		return k8s.Get(ctx, client.ObjectKeyFromObject(b), &cur) == nil &&
			meta.IsStatusConditionTrue(cur.Status.Conditions, v1alpha1.ConditionReady) && cur.Status.ObservedGeneration == cur.Generation
	})
}

// withName adds the label every namespace has.
func withName(l map[string]string, ns string) map[string]string {
	out := map[string]string{"kubernetes.io/metadata.name": ns}
	for k, v := range l {
		out[k] = v
	}
	return out
}
