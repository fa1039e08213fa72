package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/podprofile"
	"github.com/seccomp-operator/seccomp-operator/internal/policy"
)

// modeNotReported is the mode of a running container its node's agent has
// not reported (no agent on the node, or not yet): the report does not
// know, so it is neither unconfined nor a mismatch.
const modeNotReported v1alpha1.SeccompMode = "NotReported"

// unconfinedRow is one running container of the report: its node, the
// node state's entry (or, for a container no agent has reported, what the
// pod declares, with Mode modeNotReported), and the report's verdicts.
type unconfinedRow struct {
	Node string `json:"node"`
	v1alpha1.ContainerSeccompState
	Mismatch string `json:"mismatch,omitempty"`
	Exempt   bool   `json:"exempt,omitempty"`
}

// unconfinedReport is what `seccompctl audit --unconfined` prints.
type unconfinedReport struct {
	Containers []unconfinedRow `json:"containers"`
	// Unconfined counts the containers in mode Disabled outside the
	// exempt namespaces: the command fails when it is not 0.
	Unconfined       int      `json:"unconfined"`
	UnconfinedExempt int      `json:"unconfinedExempt"`
	Mismatches       int      `json:"mismatches"`
	NotReported      int      `json:"notReported"`
	ExemptNamespaces []string `json:"exemptNamespaces"`
}

// exemptions decides which containers may run unconfined without failing
// the report: those of the named namespaces, and those a SeccompPolicy
// selecting their namespace leaves ungoverned. Which policy governs a pod,
// and what its exemptions cover, is the admission policies' decision:
// policy.Evaluate runs them on the pod, as created by a user no exemption
// names.
type exemptions struct {
	namespaces []string
	policies   []v1alpha1.SeccompPolicy
	labels     map[string]map[string]string
	// operatorNamespace is the operator's namespace, which every compiled
	// policy leaves out.
	operatorNamespace string
	selected          map[string]bool
	// err is the first evaluation that failed: the report then fails
	// rather than count the pod as governed or not.
	err error
}

func (e *exemptions) exempt(pod *corev1.Pod) bool {
	if slices.Contains(e.namespaces, pod.Namespace) {
		return true
	}
	if !e.selects(pod.Namespace) {
		return false
	}
	d, err := policy.Evaluate(policy.Request{Pod: pod, NamespaceLabels: e.labels[pod.Namespace], Describe: true},
		policy.State{Policies: e.policies, OperatorNamespace: e.operatorNamespace})
	if err != nil {
		if e.err == nil {
			e.err = fmt.Errorf("pod %s/%s: which policy governs it: %w", pod.Namespace, pod.Name, err)
		}
		return false
	}
	return d.Policy == ""
}

// selects reports whether a policy that compiles selects the namespace by
// its labels: a pod there that no policy governs is exempt, one in a
// namespace no policy selects is not.
func (e *exemptions) selects(namespace string) bool {
	if sel, ok := e.selected[namespace]; ok {
		return sel
	}
	if e.selected == nil {
		e.selected = map[string]bool{}
	}
	for i := range e.policies {
		p := &e.policies[i]
		if policy.CheckPolicy(p) != nil {
			continue
		}
		if sel, err := metav1.LabelSelectorAsSelector(&p.Spec.NamespaceSelector); err == nil && sel.Matches(labels.Set(e.labels[namespace])) {
			e.selected[namespace] = true
			return true
		}
	}
	e.selected[namespace] = false
	return false
}

// fetchUnconfined reads what the report needs. The node states are read
// before the pods, so a container the node state still lists but whose pod
// the later LIST lacks has stopped, and is left out.
func fetchUnconfined(ctx context.Context, k8s client.Client, namespace string, ex *exemptions) ([]v1alpha1.SeccompNodeStatus, []corev1.Pod, error) {
	var nodes v1alpha1.SeccompNodeStatusList
	if err := k8s.List(ctx, &nodes); err != nil {
		return nil, nil, fmt.Errorf("list SeccompNodeStatuses: %w", err)
	}
	var pods corev1.PodList
	if err := k8s.List(ctx, &pods, client.InNamespace(namespace)); err != nil {
		return nil, nil, fmt.Errorf("list pods: %w", err)
	}
	var policies v1alpha1.SeccompPolicyList
	if err := k8s.List(ctx, &policies); err != nil {
		return nil, nil, fmt.Errorf("list SeccompPolicies: %w", err)
	}
	ex.policies = policies.Items
	if len(ex.policies) > 0 {
		// A policy governs namespaces by their labels.
		ex.labels = map[string]map[string]string{}
		if namespace != "" {
			var ns corev1.Namespace
			if err := k8s.Get(ctx, client.ObjectKey{Name: namespace}, &ns); err != nil && !apierrors.IsNotFound(err) {
				return nil, nil, fmt.Errorf("read namespace %s: %w", namespace, err)
			}
			ex.labels[namespace] = ns.Labels
		} else {
			var nss corev1.NamespaceList
			if err := k8s.List(ctx, &nss); err != nil {
				return nil, nil, fmt.Errorf("list namespaces: %w", err)
			}
			for _, n := range nss.Items {
				ex.labels[n.Name] = n.Labels
			}
		}
	}
	return nodes.Items, pods.Items, nil
}

// buildUnconfined joins the nodes' reported containers with the running
// pods: every running container of a scheduled pod that has not
// terminated, with its node's report when there is one for this very
// container (same ID), else "not reported" and its declared profile
// resolved from the pod.
func buildUnconfined(nodes []v1alpha1.SeccompNodeStatus, pods []corev1.Pod, ex *exemptions) unconfinedReport {
	type key struct{ ns, pod, container string }
	reported := map[string]map[key]*v1alpha1.ContainerSeccompState{}
	for i := range nodes {
		m := map[key]*v1alpha1.ContainerSeccompState{}
		for j := range nodes[i].Status.Containers {
			c := &nodes[i].Status.Containers[j]
			m[key{c.Namespace, c.Pod, c.Container}] = c
		}
		reported[nodes[i].Name] = m
	}
	rep := unconfinedReport{Containers: []unconfinedRow{}, ExemptNamespaces: ex.namespaces}
	if rep.ExemptNamespaces == nil {
		rep.ExemptNamespaces = []string{}
	}
	for i := range pods {
		pod := &pods[i]
		if pod.Spec.NodeName == "" || podprofile.Terminated(pod) {
			continue
		}
		exempt := ex.exempt(pod)
		forEachRunnable(pod, func(name string, sc *corev1.SecurityContext, status *corev1.ContainerStatus) {
			st := reported[pod.Spec.NodeName][key{pod.Namespace, pod.Name, name}]
			// A state of an earlier instance of the container (it
			// restarted since the agent looked) says nothing of this one.
			if st != nil && status != nil && status.ContainerID != "" && st.ContainerID != "" && st.ContainerID != status.ContainerID {
				st = nil
			}
			running := status != nil && status.State.Running != nil
			if st == nil && !running {
				return
			}
			row := unconfinedRow{Node: pod.Spec.NodeName, Exempt: exempt}
			if st != nil {
				row.ContainerSeccompState = *st
				row.Mismatch = mismatch(st.Declared, st.Privileged, st.Mode)
			} else {
				row.Namespace, row.Pod, row.Container = pod.Namespace, pod.Name, name
				d := podprofile.Declare(pod, name)
				row.Declared, row.Profile, row.Privileged, row.Mode = d.Declared, d.Profile, d.Privileged, modeNotReported
				if status != nil {
					row.ContainerID = status.ContainerID
				}
			}
			rep.Containers = append(rep.Containers, row)
		})
	}
	slices.SortFunc(rep.Containers, func(a, b unconfinedRow) int {
		return cmp.Or(cmp.Compare(a.Node, b.Node), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Pod, b.Pod), cmp.Compare(a.Container, b.Container))
	})
	for _, r := range rep.Containers {
		switch {
		case r.Mode == modeNotReported:
			rep.NotReported++
		case r.Mode == v1alpha1.SeccompModeDisabled && r.Exempt:
			rep.UnconfinedExempt++
		case r.Mode == v1alpha1.SeccompModeDisabled:
			rep.Unconfined++
		}
		if r.Mismatch != "" {
			rep.Mismatches++
		}
	}
	return rep
}

// mismatch says how a container's real mode contradicts what its pod
// declares, "" when it does not (or the report cannot tell: mode Unknown,
// or a declared form it does not know).
func mismatch(declared string, privileged bool, mode v1alpha1.SeccompMode) string {
	ref, ok := podprofile.ParseDeclared(declared)
	if !ok {
		return ""
	}
	switch ref.Type {
	case corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeLocalhost:
		switch {
		case mode == v1alpha1.SeccompModeDisabled && privileged:
			return "declares a profile, runs without a filter: privileged"
		case mode == v1alpha1.SeccompModeDisabled:
			return "declares a profile, runs without a filter"
		case mode == v1alpha1.SeccompModeStrict:
			return "declares a profile, runs in strict mode"
		}
	case corev1.SeccompProfileTypeUnconfined:
		switch mode {
		case v1alpha1.SeccompModeFilter:
			return "declares Unconfined, runs filtered"
		case v1alpha1.SeccompModeStrict:
			return "declares Unconfined, runs in strict mode"
		}
	case "":
		// The node's default is Unconfined unless the kubelet runs with
		// SeccompDefault: a filter here means the pod relies on a node
		// setting it does not declare.
		if mode == v1alpha1.SeccompModeFilter {
			return "declares no profile, runs filtered: the node's default"
		}
	}
	return ""
}

// forEachRunnable calls f for every container of the pod (init, regular,
// ephemeral) with its security context and status (nil: none yet).
func forEachRunnable(pod *corev1.Pod, f func(name string, sc *corev1.SecurityContext, status *corev1.ContainerStatus)) {
	find := func(list []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
		return nil
	}
	for _, c := range pod.Spec.InitContainers {
		f(c.Name, c.SecurityContext, find(pod.Status.InitContainerStatuses, c.Name))
	}
	for _, c := range pod.Spec.Containers {
		f(c.Name, c.SecurityContext, find(pod.Status.ContainerStatuses, c.Name))
	}
	for _, c := range pod.Spec.EphemeralContainers {
		f(c.Name, c.SecurityContext, find(pod.Status.EphemeralContainerStatuses, c.Name))
	}
}

// printUnconfined writes the report as a table and a summary.
func printUnconfined(w io.Writer, rep unconfinedReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tNAMESPACE\tPOD\tCONTAINER\tDECLARED\tMODE\tMISMATCH")
	for _, r := range rep.Containers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Node, r.Namespace, r.Pod, r.Container, r.Declared, modeString(r), r.Mismatch)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d running containers: %d unconfined outside the exempt namespaces, %d unconfined exempt, %d mismatches, %d not reported\n",
		len(rep.Containers), rep.Unconfined, rep.UnconfinedExempt, rep.Mismatches, rep.NotReported)
	return err
}

func modeString(r unconfinedRow) string {
	switch {
	case r.Mode == modeNotReported:
		return "not reported"
	case r.Mode == v1alpha1.SeccompModeFilter && r.Filters == 1:
		return "Filter (1 filter)"
	case r.Mode == v1alpha1.SeccompModeFilter && r.Filters > 0:
		return fmt.Sprintf("Filter (%d filters)", r.Filters)
	case r.Mode == v1alpha1.SeccompModeDisabled && r.Exempt:
		return "Disabled (exempt)"
	}
	return string(r.Mode)
}

// unconfinedFailure names the containers that fail the report, for the
// error line.
func unconfinedFailure(rep unconfinedReport) string {
	var names []string
	for _, r := range rep.Containers {
		if r.Mode == v1alpha1.SeccompModeDisabled && !r.Exempt {
			names = append(names, r.Namespace+"/"+r.Pod+"/"+r.Container)
		}
	}
	n := len(names)
	if n > 10 {
		names = append(names[:10], fmt.Sprintf("and %d more", n-10))
	}
	exempt := "none exempt"
	if len(rep.ExemptNamespaces) > 0 {
		exempt = "exempt: " + strings.Join(rep.ExemptNamespaces, ", ")
	}
	return fmt.Sprintf("%d containers run unconfined outside the exempt namespaces (%s): %s", n, exempt, strings.Join(names, ", "))
}
