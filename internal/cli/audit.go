package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/podprofile"
	"github.com/seccomp-operator/seccomp-operator/internal/policy"
	"github.com/seccomp-operator/seccomp-operator/internal/profilefile"
	"github.com/seccomp-operator/seccomp-operator/internal/seccompdefault"
)

func newAuditCmd(o *options) *cobra.Command {
	var files, exemptNamespaces []string
	var kubeconfig, operatorNamespace, namespace string
	var withPolicy, unconfined, seccompDefault bool
	var runtimeRef string
	var minSoak time.Duration
	cmd := &cobra.Command{
		Use:   "audit --policy [--file POLICY.yaml]... | --unconfined [-n NAMESPACE] [--exempt-namespaces NS,...] | --seccomp-default [--runtime RUNTIME[@VERSION]] [-n NAMESPACE]",
		Short: "Cluster reports: what the SeccompPolicies would do to running pods; which containers really run unconfined",
		Long: "--policy evaluates every running pod of the cluster as if it were created now, under the cluster's\n" +
			"SeccompPolicies and those in --file (which replace cluster policies of the same name): which pods\n" +
			"a policy would refuse, warn about or change (default written, legacy annotations translated),\n" +
			"before a namespace is switched to enforce. It uses the same decisions as the admission policies\n" +
			"(policy.Evaluate: the compiled policies, run with the apiserver's code). Exits 1 when a pod would be refused.\n\n" +
			"--unconfined lists every running container with its node, the profile its pod declares and the\n" +
			"seccomp mode its processes really run in, as each node's agent read it from /proc (the\n" +
			"SeccompNodeStatus objects), and where the two contradict each other. Exits 1 when a container\n" +
			"runs without seccomp (mode Disabled) outside the exempt namespaces: --exempt-namespaces\n" +
			"(default kube-system and --operator-namespace) and those the governing SeccompPolicy exempts.\n\n" +
			seccompDefaultHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if seccompDefault {
				if withPolicy || unconfined || len(files) > 0 || cmd.Flags().Changed("exempt-namespaces") {
					return fmt.Errorf("--seccomp-default takes -n and --runtime only, not --policy, --unconfined, --file or --exempt-namespaces")
				}
				if minSoak < 0 {
					return fmt.Errorf("--min-soak: must not be negative")
				}
				return auditSeccompDefault(cmd.Context(), o, kubeconfig, namespace, runtimeRef, minSoak, cmd.OutOrStdout())
			}
			if runtimeRef != "" {
				return fmt.Errorf("--runtime is for --seccomp-default")
			}
			if cmd.Flags().Changed("min-soak") {
				return fmt.Errorf("--min-soak is for --seccomp-default")
			}
			switch {
			case withPolicy == unconfined:
				return fmt.Errorf("say what to audit: --policy or --unconfined")
			case unconfined && len(files) > 0:
				return fmt.Errorf("--file is for --policy: --unconfined reads the cluster's SeccompPolicies")
			case withPolicy && (namespace != "" || cmd.Flags().Changed("exempt-namespaces")):
				return fmt.Errorf("--namespace and --exempt-namespaces are for --unconfined")
			}
			if unconfined {
				if !cmd.Flags().Changed("exempt-namespaces") {
					exemptNamespaces = append(slices.Clone(policy.AlwaysExempt), operatorNamespace)
				}
				return auditUnconfined(cmd.Context(), o, kubeconfig, namespace, operatorNamespace, exemptNamespaces, cmd.OutOrStdout())
			}
			extra, err := readPolicies(files, o.stdin)
			if err != nil {
				return err
			}
			k8s, err := newKubeClient(kubeconfig)
			if err != nil {
				return err
			}
			refused, err := auditPolicies(cmd.Context(), k8s, extra, operatorNamespace, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			if refused > 0 {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&withPolicy, "policy", false, "audit the pods against SeccompPolicies")
	cmd.Flags().BoolVar(&unconfined, "unconfined", false, "report every running container's declared profile and real seccomp mode")
	cmd.Flags().BoolVar(&seccompDefault, "seccomp-default", false, "report what RuntimeDefault would do to every container that runs without a profile")
	cmd.Flags().StringVar(&runtimeRef, "runtime", "", "--seccomp-default: compare with this default (containerd|crio|docker[@VERSION]) instead of each node's runtime")
	cmd.Flags().DurationVar(&minSoak, "min-soak", seccompdefault.DefaultMinSoak, "--seccomp-default: how long a dry run must have watched a container that logged nothing refused before it counts as safe")
	cmd.Flags().StringArrayVar(&files, "file", nil, "a SeccompPolicy YAML to evaluate as if applied (repeatable)")
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig (default: $KUBECONFIG, ~/.kube/config)")
	cmd.Flags().StringVar(&operatorNamespace, "operator-namespace", "seccomp-operator", "the operator's namespace (always exempt)")
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "--unconfined, --seccomp-default: only the pods of this namespace (default: all)")
	cmd.Flags().StringSliceVar(&exemptNamespaces, "exempt-namespaces", nil,
		"--unconfined: namespaces whose unconfined containers do not fail the audit (default kube-system and --operator-namespace; empty: none)")
	return cmd
}

// newKubeClient is kubeClient; unit tests replace it with a fake.
var newKubeClient = kubeClient

// auditUnconfined prints the unconfined report and fails with exit code 1
// when a container outside the exempt namespaces runs unconfined.
func auditUnconfined(ctx context.Context, o *options, kubeconfig, namespace, operatorNamespace string, exempt []string, w io.Writer) error {
	k8s, err := newKubeClient(kubeconfig)
	if err != nil {
		return err
	}
	ex := &exemptions{namespaces: exempt, operatorNamespace: operatorNamespace}
	nodes, pods, err := fetchUnconfined(ctx, k8s, namespace, ex)
	if err != nil {
		return err
	}
	rep := buildUnconfined(nodes, pods, ex)
	if ex.err != nil {
		return ex.err
	}
	var perr error
	if err := o.emit(w, rep, func() { perr = printUnconfined(w, rep) }); err != nil {
		return err
	}
	if perr != nil {
		return perr
	}
	if rep.Unconfined > 0 {
		return &exitError{code: 1, msg: unconfinedFailure(rep)}
	}
	return nil
}

func kubeClient(kubeconfig string) (client.Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	return client.New(cfg, client.Options{Scheme: scheme})
}

// readPolicies reads the SeccompPolicies of files: every document of each
// (a YAML stream, or JSON), each of kind SeccompPolicy with a name.
func readPolicies(files []string, stdin io.Reader) ([]v1alpha1.SeccompPolicy, error) {
	var out []v1alpha1.SeccompPolicy
	for _, f := range files {
		b, err := readInput(f, stdin)
		if err != nil {
			return nil, fmt.Errorf("read policy %s: %w", f, err)
		}
		raws, names, err := profilefile.SplitYAML(displayName(f), b)
		if err != nil {
			return nil, err
		}
		for i, raw := range raws {
			var p v1alpha1.SeccompPolicy
			if err := yaml.UnmarshalStrict(raw, &p); err != nil {
				return nil, fmt.Errorf("%s: %w", names[i], err)
			}
			if p.Kind != "SeccompPolicy" || p.Name == "" {
				return nil, fmt.Errorf("%s: not a SeccompPolicy with a name (kind %q)", names[i], p.Kind)
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// auditPolicies prints one row per pod a policy governs and returns how
// many would be refused.
func auditPolicies(ctx context.Context, k8s client.Client, extra []v1alpha1.SeccompPolicy, operatorNamespace string, w interface{ Write([]byte) (int, error) }) (int, error) {
	var list v1alpha1.SeccompPolicyList
	if err := k8s.List(ctx, &list); err != nil {
		return 0, fmt.Errorf("list SeccompPolicies: %w", err)
	}
	policies := slices.DeleteFunc(list.Items, func(p v1alpha1.SeccompPolicy) bool {
		return slices.ContainsFunc(extra, func(e v1alpha1.SeccompPolicy) bool { return e.Name == p.Name })
	})
	policies = append(policies, extra...)
	var index *v1alpha1.SeccompProfileIndex
	var idx v1alpha1.SeccompProfileIndex
	switch err := k8s.Get(ctx, client.ObjectKey{Name: v1alpha1.ProfileIndexName}, &idx); {
	case err == nil:
		index = &idx
	case !apierrors.IsNotFound(err):
		return 0, fmt.Errorf("read the profile index: %w", err)
	}
	var bindings v1alpha1.ProfileBindingList
	if err := k8s.List(ctx, &bindings); err != nil {
		return 0, fmt.Errorf("list ProfileBindings: %w", err)
	}
	var nss corev1.NamespaceList
	if err := k8s.List(ctx, &nss); err != nil {
		return 0, fmt.Errorf("list namespaces: %w", err)
	}
	labels := map[string]map[string]string{}
	for _, n := range nss.Items {
		labels[n.Name] = n.Labels
	}
	var pods corev1.PodList
	if err := k8s.List(ctx, &pods); err != nil {
		return 0, fmt.Errorf("list pods: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE\tPOD\tPOLICY\tVERDICT\tDETAIL")
	refused, governed := 0, 0
	for i := range pods.Items {
		pod := &pods.Items[i]
		if podprofile.Terminated(pod) {
			continue
		}
		d, err := policy.Evaluate(policy.Request{Pod: pod, NamespaceLabels: labels[pod.Namespace], Describe: true},
			policy.State{Policies: policies, Bindings: bindings.Items, Index: index, OperatorNamespace: operatorNamespace})
		if err != nil {
			return 0, err
		}
		if d.Policy == "" && len(d.Bound) == 0 && d.BindingMissing == "" {
			continue
		}
		governed++
		verdict, detail := "ok", ""
		var changes []string
		if d.Default != nil {
			changes = append(changes, "default "+profileString(d.Default))
		}
		if d.Translated {
			changes = append(changes, "legacy annotations become fields")
		}
		for _, c := range slices.Sorted(maps.Keys(d.Bound)) {
			changes = append(changes, "container "+c+" bound by ProfileBinding "+d.Bound[c])
		}
		msgs := strings.Join(d.Messages(), " ")
		switch {
		case d.Refused():
			verdict, detail = "refused", msgs
			refused++
		case msgs != "" && d.Mode == v1alpha1.PolicyModeWarn:
			verdict, detail = "warned", msgs
		case msgs != "":
			verdict, detail = "audited", msgs
		case len(changes) > 0:
			verdict = "changed"
		}
		if len(changes) > 0 {
			detail = strings.TrimSpace(strings.Join(changes, "; ") + "; " + detail)
			detail = strings.TrimSuffix(detail, ";")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", pod.Namespace, pod.Name, d.Policy, verdict, detail)
	}
	if err := tw.Flush(); err != nil {
		return 0, err
	}
	fmt.Fprintf(w, "%d pods governed by a policy or binding, %d would be refused\n", governed, refused)
	return refused, nil
}

func profileString(p *corev1.SeccompProfile) string {
	if p.LocalhostProfile != nil {
		return "localhost/" + *p.LocalhostProfile
	}
	return string(p.Type)
}
