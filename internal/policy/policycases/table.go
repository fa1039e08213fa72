package policycases

import corev1 "k8s.io/api/core/v1"

// Cases are the table.
var Cases = []Case{
	{"plain pod gets the default", "cases-enforce", nil, Want{Profiles: "pod=RuntimeDefault app="}},
	{"Unconfined container refused", "cases-enforce", containerProfile(field(corev1.SeccompProfileTypeUnconfined, "")), Want{Refused: true, Messages: "SeccompPolicy cases-enforce: seccomp profile not allowed for container app: Unconfined (allowed: RuntimeDefault, cases-*)", Template: "SeccompPolicy cases-enforce, for the pods of this Deployment: seccomp profile not allowed for container app: Unconfined (allowed: RuntimeDefault, cases-*)"}},
	{"allowed pattern, profile exists", "cases-enforce", containerProfile(field(corev1.SeccompProfileTypeLocalhost, "operator/cases-a.json")), Want{Profiles: "pod=RuntimeDefault app=Localhost:operator/cases-a.json"}},
	{"allowed pattern, profile missing", "cases-enforce", containerProfile(field(corev1.SeccompProfileTypeLocalhost, "operator/cases-zzz.json")), Want{Refused: true, Messages: "SeccompPolicy cases-enforce: container app: localhost/operator/cases-zzz.json: no SeccompProfile cases-zzz exists", Template: "SeccompPolicy cases-enforce, for the pods of this Deployment: container app: localhost/operator/cases-zzz.json: no SeccompProfile cases-zzz exists"}},
	{"path as written is compared", "cases-enforce", containerProfile(field(corev1.SeccompProfileTypeLocalhost, "./operator/cases-a.json")), Want{Refused: true, Messages: "SeccompPolicy cases-enforce: seccomp profile not allowed for container app: localhost/./operator/cases-a.json (allowed: RuntimeDefault, cases-*)", Template: "SeccompPolicy cases-enforce, for the pods of this Deployment: seccomp profile not allowed for container app: localhost/./operator/cases-a.json (allowed: RuntimeDefault, cases-*)"}},
	{"legacy container annotation", "cases-enforce", func(p *corev1.Pod) {
		p.Annotations = map[string]string{"container.seccomp.security.alpha.kubernetes.io/app": "unconfined"}
	}, Want{Refused: true, Messages: "SeccompPolicy cases-enforce: seccomp profile not allowed for container app: Unconfined (allowed: RuntimeDefault, cases-*)", Template: "SeccompPolicy cases-enforce, for the pods of this Deployment: seccomp profile not allowed for container app: Unconfined (allowed: RuntimeDefault, cases-*)"}},
	{"legacy pod annotation becomes the field", "cases-enforce", func(p *corev1.Pod) {
		p.Annotations = map[string]string{"seccomp.security.alpha.kubernetes.io/pod": "localhost/operator/cases-a.json"}
	}, Want{Profiles: "pod=Localhost:operator/cases-a.json app="}},
	{"legacy container annotation becomes the field", "cases-enforce", func(p *corev1.Pod) {
		p.Annotations = map[string]string{"container.seccomp.security.alpha.kubernetes.io/app": "docker/default"}
		p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox"}}
	}, Want{Profiles: "pod=RuntimeDefault init= app=RuntimeDefault"}},
	{"init container", "cases-enforce", func(p *corev1.Pod) {
		p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox", SecurityContext: &corev1.SecurityContext{SeccompProfile: field(corev1.SeccompProfileTypeUnconfined, "")}}}
	}, Want{Refused: true, Messages: "SeccompPolicy cases-enforce: seccomp profile not allowed for init container init: Unconfined (allowed: RuntimeDefault, cases-*)", Template: "SeccompPolicy cases-enforce, for the pods of this Deployment: seccomp profile not allowed for init container init: Unconfined (allowed: RuntimeDefault, cases-*)"}},
	{"exempt runtime class", "cases-enforce", func(p *corev1.Pod) {
		p.Spec.RuntimeClassName = ptrTo(RuntimeClass)
		p.Spec.Containers[0].SecurityContext.SeccompProfile = field(corev1.SeccompProfileTypeUnconfined, "")
	}, Want{Profiles: "pod= app=Unconfined"}},
	// Pods whose every container takes the pod-level profile.
	{"pod-level Unconfined refused", "cases-enforce", func(p *corev1.Pod) {
		p.Spec.SecurityContext.SeccompProfile = field(corev1.SeccompProfileTypeUnconfined, "")
		p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox"}}
	}, Want{Refused: true, Messages: "SeccompPolicy cases-enforce: seccomp profile not allowed for init container init: Unconfined; container app: Unconfined (allowed: RuntimeDefault, cases-*)", Template: "SeccompPolicy cases-enforce, for the pods of this Deployment: seccomp profile not allowed for init container init: Unconfined; container app: Unconfined (allowed: RuntimeDefault, cases-*)"}},
	{"pod-level profile allowed, missing", "cases-enforce", func(p *corev1.Pod) {
		p.Spec.SecurityContext.SeccompProfile = field(corev1.SeccompProfileTypeLocalhost, "operator/cases-zzz.json")
	}, Want{Refused: true, Messages: "SeccompPolicy cases-enforce: container app: localhost/operator/cases-zzz.json: no SeccompProfile cases-zzz exists", Template: "SeccompPolicy cases-enforce, for the pods of this Deployment: container app: localhost/operator/cases-zzz.json: no SeccompProfile cases-zzz exists"}},
	{"pod-level profile allowed, exists", "cases-enforce", func(p *corev1.Pod) {
		p.Spec.SecurityContext.SeccompProfile = field(corev1.SeccompProfileTypeLocalhost, "operator/cases-a.json")
	}, Want{Profiles: "pod=Localhost:operator/cases-a.json app="}},
	{"exempt namespace", "cases-exempt", containerProfile(field(corev1.SeccompProfileTypeUnconfined, "")), Want{Profiles: "pod= app=Unconfined"}},
	{"warn: plain pod gets the localhost default", "cases-warn", nil, Want{Profiles: "pod=Localhost:operator/cases-a.json app="}},
	{"warn: not allowed is a warning", "cases-warn", containerProfile(field(corev1.SeccompProfileTypeRuntimeDefault, "")), Want{Messages: "SeccompPolicy cases-warn: seccomp profile not allowed for container app: RuntimeDefault (allowed: cases-a)", Profiles: "pod=Localhost:operator/cases-a.json app=RuntimeDefault", Template: "SeccompPolicy cases-warn, for the pods of this Deployment: seccomp profile not allowed for container app: RuntimeDefault (allowed: cases-a)"}},
	{"warn: pod-level not allowed is a warning", "cases-warn", func(p *corev1.Pod) {
		p.Spec.SecurityContext.SeccompProfile = field(corev1.SeccompProfileTypeRuntimeDefault, "")
	}, Want{Messages: "SeccompPolicy cases-warn: seccomp profile not allowed for container app: RuntimeDefault (allowed: cases-a)", Profiles: "pod=RuntimeDefault app=", Template: "SeccompPolicy cases-warn, for the pods of this Deployment: seccomp profile not allowed for container app: RuntimeDefault (allowed: cases-a)"}},
	{"precedence: the higher priority's default, which does not exist", "cases-tier", nil, Want{Refused: true, Messages: "SeccompPolicy cases-tier: container app: localhost/operator/cases-b.json: no SeccompProfile cases-b exists", Template: "SeccompPolicy cases-tier, for the pods of this Deployment: container app: localhost/operator/cases-b.json: no SeccompProfile cases-b exists"}},
	{"no policy", "cases-none", containerProfile(field(corev1.SeccompProfileTypeUnconfined, "")), Want{Profiles: "pod= app=Unconfined"}},
	{"binding by image", "cases-bound", func(p *corev1.Pod) {
		p.Spec.Containers[0].SecurityContext.SeccompProfile = nil
		p.Spec.Containers[0].Image = "docker.io/library/nginx:1.25"
		p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "registry.example/nginx-unprivileged:1"}}
	}, Want{Profiles: "pod=RuntimeDefault init=Localhost:operator/cases-a.json app=Localhost:operator/cases-a.json"}},
	{"binding by label wins by priority, profile missing", "cases-bound", func(p *corev1.Pod) {
		p.Labels = map[string]string{"app": "legacy"}
		p.Spec.Containers[0].SecurityContext.SeccompProfile = nil
		p.Spec.Containers[0].Image = "docker.io/library/nginx:1.25"
	}, Want{Refused: true, Messages: "SeccompPolicy cases-enforce: container app: localhost/operator/cases-b.json: no SeccompProfile cases-b exists; container app: ProfileBinding by-label binds SeccompProfile cases-b, which does not exist", Template: "SeccompPolicy cases-enforce, for the pods of this Deployment: container app: localhost/operator/cases-b.json: no SeccompProfile cases-b exists; for the pods of this Deployment: container app: ProfileBinding by-label binds SeccompProfile cases-b, which does not exist"}},
	{"binding by container name and image", "cases-bound", func(p *corev1.Pod) {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "sidecar", Image: "busybox:1.36",
			SecurityContext: p.Spec.Containers[0].SecurityContext.DeepCopy()})
		p.Spec.Containers[1].SecurityContext.SeccompProfile = nil
	}, Want{Profiles: "pod=RuntimeDefault app= sidecar=Localhost:operator/cases-a.json"}},
	{"an explicit container profile beats a binding", "cases-bound", func(p *corev1.Pod) {
		p.Spec.Containers[0].Image = "docker.io/library/nginx:1.25"
		p.Spec.Containers[0].SecurityContext.SeccompProfile = field(corev1.SeccompProfileTypeRuntimeDefault, "")
	}, Want{Profiles: "pod=RuntimeDefault app=RuntimeDefault"}},
	{"no binding matches", "cases-bound", func(p *corev1.Pod) {
		p.Spec.Containers[0].Image = "quay.io/other:1"
	}, Want{Profiles: "pod=RuntimeDefault app="}},
	{"binding to a missing profile, no policy", "cases-bound-free", func(p *corev1.Pod) {
		p.Spec.Containers[0].SecurityContext.SeccompProfile = nil
		p.Spec.Containers[0].Image = "docker.io/library/nginx:1.25"
	}, Want{Refused: true, Messages: "container app: ProfileBinding to-missing binds SeccompProfile cases-b, which does not exist", Template: "for the pods of this Deployment: container app: ProfileBinding to-missing binds SeccompProfile cases-b, which does not exist"}},
	{"no binding matches, no policy", "cases-bound-free", func(p *corev1.Pod) {
		p.Spec.Containers[0].SecurityContext.SeccompProfile = nil
		p.Spec.Containers[0].Image = "quay.io/other:1"
	}, Want{Profiles: "pod= app="}},
}

func ptrTo(s string) *string { return &s }
