//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// managerUser is the manager's service account as the apiserver names it.
const managerUser = "system:serviceaccount:" + kustNamespace + ":" + kustManager

// asManager installs config/rbac (the manager's service account, roles,
// bindings and admission policy) with the admin client c and returns admin
// impersonating the manager's service account: the tests' managers run
// with exactly the permissions a deployed manager has. The operator's
// namespace must exist.
func asManager(ctx context.Context, c client.Client, admin *rest.Config) (*rest.Config, error) {
	objs, err := kustBuild("rbac")
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if err := c.Create(ctx, o.DeepCopy()); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create %s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	return impersonate(admin, managerUser), nil
}

// impersonate returns admin acting as the service account user, with the
// groups the apiserver gives service accounts.
func impersonate(admin *rest.Config, user string) *rest.Config {
	c := rest.CopyConfig(admin)
	c.Impersonate = rest.ImpersonationConfig{
		UserName: user,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + kustNamespace, "system:authenticated"},
	}
	return c
}

// The package's apiserver loads config/static-admission the way docs/security.md
// tells an administrator to (an AdmissionConfiguration naming the
// directory), so the manager runs under it in every test.
func init() {
	envHooks = append(envHooks, func(e *envtest.Environment) {
		if err := withStaticAdmission(e.ControlPlane.APIServer); err != nil {
			panic(err)
		}
	})
}

func withStaticAdmission(api *envtest.APIServer) error {
	dir, err := filepath.Abs(filepath.Join(kustConfigDir, "static-admission"))
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "seccomp-operator-admission-config-")
	if err != nil {
		return err
	}
	file := filepath.Join(tmp, "admission.yaml")
	cfg := fmt.Sprintf(`apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: ValidatingAdmissionPolicy
  configuration:
    apiVersion: apiserver.config.k8s.io/v1
    kind: ValidatingAdmissionPolicyConfiguration
    staticManifestsDir: %s
`, dir)
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		return err
	}
	api.Configure().Append("admission-control-config-file", file)
	return nil
}
