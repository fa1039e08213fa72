// Package metricsreader gives benchmarks and tests what a Prometheus needs
// to scrape the operator's metrics: a service account bound to the
// ClusterRole seccomp-operator-metrics-reader of config/rbac, and an HTTPS
// client that presents its token.
package metricsreader

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// RoleFile is the reader ClusterRole, relative to the repository's root.
const RoleFile = "config/rbac/metrics_reader_role.yaml"

// Client creates, with the admin client kube, the reader ClusterRole read
// from rolePath (RoleFile from the caller's directory), a service account
// name in namespace ns bound to it, and returns an HTTP client that sends
// a token of that service account. It does not verify the server's
// certificate: the endpoints serve self-signed ones made at their start.
func Client(ctx context.Context, kube kubernetes.Interface, rolePath, ns, name string) (*http.Client, error) {
	raw, err := os.ReadFile(rolePath)
	if err != nil {
		return nil, fmt.Errorf("metrics reader role: %w", err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(raw, &role); err != nil {
		return nil, fmt.Errorf("metrics reader role %s: %w", rolePath, err)
	}
	if _, err := kube.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create ClusterRole %s: %w", role.Name, err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if _, err := kube.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create ServiceAccount %s/%s: %w", ns, name, err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-" + role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}},
	}
	if _, err := kube.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create ClusterRoleBinding %s: %w", binding.Name, err)
	}
	token, err := Token(ctx, kube, ns, name)
	if err != nil {
		return nil, err
	}
	return WithToken(token), nil
}

// Token is a day-long token of the service account ns/name.
func Token(ctx context.Context, kube kubernetes.Interface, ns, name string) (string, error) {
	day := int64((24 * time.Hour).Seconds())
	tr, err := kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name,
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: &day}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token of %s/%s: %w", ns, name, err)
	}
	return tr.Status.Token, nil
}

// WithToken is an HTTPS client (certificate not verified) that sends
// token as its bearer token; "" sends none.
func WithToken(token string) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // self-signed endpoints of a test cluster
	return &http.Client{Timeout: 10 * time.Second, Transport: bearer{token: token, next: tr}}
}

type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	if b.token != "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return b.next.RoundTrip(r)
}
