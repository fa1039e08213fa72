// Package workloads runs the servers of the recording proof on the make up
// cluster, each with its load: Debian's nginx under wrk, PostgreSQL under
// pgbench and Redis under redis-benchmark (images demo-nginx,
// demo-postgres, demo-redis and demo-load of hack/images.sh). A Workload is
// a Deployment (label app=<name>) and a Service; Load runs the client in a
// load pod (kubectl exec) against the Service's ClusterIP and returns the
// throughput and the errors the client counted, so that a test can assert
// zero errors and a benchmark can compare throughputs. The e2e suite and
// the benchmarks use it.
package workloads

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Workload is one server of the proof. Change Replicas or Seccomp before
// Deploy.
type Workload struct {
	// Name is the Deployment's, the Service's and the app label's value.
	Name      string
	Namespace string
	Replicas  int32
	// Predefined is the operator's predefined profile of its class
	// (shared/spec/predefined-profiles.md).
	Predefined string
	// Seccomp is the pod's profile; nil leaves it to the namespace's
	// ProfileBindings (or the runtime's default).
	Seccomp *corev1.SeccompProfile

	image     string
	port      int32
	container corev1.Container
	pod       corev1.PodSpec
}

// The load clients' image (wrk, pgbench, redis-benchmark, sh).
const loadImage = "seccomp-operator/demo-load:dev"

// Nginx is make up's demo nginx (hack/demo/nginx.conf: a root master
// dropping its two workers to www-data, port 8080).
func Nginx(ns string) *Workload {
	w := &Workload{Name: "nginx", Namespace: ns, Replicas: 1, Predefined: "webapp",
		image: "seccomp-operator/demo-nginx:dev", port: 8080}
	w.container = corev1.Container{
		ReadinessProbe: &corev1.Probe{PeriodSeconds: 2, ProbeHandler: corev1.ProbeHandler{
			HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(w.port)}}},
		SecurityContext: &corev1.SecurityContext{
			// The master starts as root, chowns its temp dirs and drops
			// to www-data.
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"},
				Add: []corev1.Capability{"CHOWN", "SETUID", "SETGID"}},
		},
	}
	return w
}

// Postgres is Debian's PostgreSQL as uid 999, its cluster made by initdb in
// an emptyDir on the pod's first start (hack/demo/postgres-entrypoint.sh).
func Postgres(ns string) *Workload {
	w := &Workload{Name: "postgres", Namespace: ns, Replicas: 1, Predefined: "database",
		image: "seccomp-operator/demo-postgres:dev", port: 5432}
	w.container = corev1.Container{
		// Autovacuum every second, not every minute: a worker's run, which
		// reads its own resource usage (getrusage), then falls inside every
		// load, as it would inside a recording or soak of hours. With the
		// minute, a recording under a 5 s load could miss it and the learned
		// profile then denied it under enforcement.
		Args: []string{"-c", "autovacuum_naptime=1s"},
		// Open before the server accepts sessions; Load retries pgbench's
		// initialisation for that moment.
		ReadinessProbe: tcpProbe(w.port),
		SecurityContext: &corev1.SecurityContext{RunAsUser: ptr.To[int64](999), RunAsNonRoot: ptr.To(true),
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
		VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/postgresql/data"}},
	}
	w.pod = corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{FSGroup: ptr.To[int64](999)},
		Volumes:         []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
	}
	return w
}

// Redis is Debian's redis-server as uid 999, nothing persisted.
func Redis(ns string) *Workload {
	w := &Workload{Name: "redis", Namespace: ns, Replicas: 1, Predefined: "database",
		image: "seccomp-operator/demo-redis:dev", port: 6379}
	w.container = corev1.Container{
		ReadinessProbe: tcpProbe(w.port),
		SecurityContext: &corev1.SecurityContext{RunAsUser: ptr.To[int64](999), RunAsNonRoot: ptr.To(true),
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
	}
	return w
}

// All is the three workloads of the proof in namespace ns.
func All(ns string) []*Workload { return []*Workload{Nginx(ns), Postgres(ns), Redis(ns)} }

// Localhost is the pod profile of the operator's profile name, at the path
// where the agent installs it on every node.
func Localhost(name string) *corev1.SeccompProfile {
	return &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("operator/" + name + ".json")}
}

// Unconfined runs the pods without a filter (the namespace's Pod Security
// level must admit it: baseline does not).
func Unconfined() *corev1.SeccompProfile {
	return &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
}

func tcpProbe(port int32) *corev1.Probe {
	return &corev1.Probe{PeriodSeconds: 2, ProbeHandler: corev1.ProbeHandler{
		TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(port)}}}
}

// Labels select the workload's pods.
func (w *Workload) Labels() map[string]string { return map[string]string{"app": w.Name} }

// Port is the port the server listens on and its Service forwards.
func (w *Workload) Port() int32 { return w.port }

// Deployment is the server's Deployment: one container named after the
// workload, imagePullPolicy Never (make up imports the images), no
// privilege escalation (runc then loads the filter just before execve, so
// only the server's own syscalls meet it), pod networking.
func (w *Workload) Deployment() *appsv1.Deployment {
	c := *w.container.DeepCopy()
	c.Name, c.Image, c.ImagePullPolicy = w.Name, w.image, corev1.PullNever
	c.Ports = []corev1.ContainerPort{{Name: "server", ContainerPort: w.port}}
	c.SecurityContext.AllowPrivilegeEscalation = ptr.To(false)
	spec := *w.pod.DeepCopy()
	spec.Containers = []corev1.Container{c}
	spec.TerminationGracePeriodSeconds = ptr.To[int64](5)
	if w.Seccomp != nil {
		if spec.SecurityContext == nil {
			spec.SecurityContext = &corev1.PodSecurityContext{}
		}
		spec.SecurityContext.SeccompProfile = w.Seccomp.DeepCopy()
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: w.Name, Namespace: w.Namespace, Labels: w.Labels()},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(w.Replicas),
			Selector: &metav1.LabelSelector{MatchLabels: w.Labels()},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: w.Labels()}, Spec: spec},
		},
	}
}

// Service is the ClusterIP Service the load reaches the server through
// (kube-proxy's iptables rules spread it over the replicas).
func (w *Workload) Service() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: w.Name, Namespace: w.Namespace, Labels: w.Labels()},
		Spec: corev1.ServiceSpec{
			Selector: w.Labels(),
			Ports:    []corev1.ServicePort{{Name: "server", Port: w.port, TargetPort: intstr.FromString("server")}},
		},
	}
}

// LoadPod is the pod the clients run in: the demo-load image sleeping, as
// root under the runtime's default profile (allowed by Pod Security
// baseline), so that the load itself is not what is measured.
func LoadPod(ns string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "workload-load", Namespace: ns, Labels: map[string]string{"app": "workload-load"}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			SecurityContext: &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{
				Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: "load", Image: loadImage, ImagePullPolicy: corev1.PullNever,
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false)},
			}},
		},
	}
}
