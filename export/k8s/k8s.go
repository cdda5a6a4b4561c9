// Package k8s exports a toil.yaml layout as Kubernetes manifests, built
// from the k8s.io/api types so every field is one the API server knows:
// per service a Deployment (replicas = procs, probes on the admin port,
// the stop timeout as the grace period, a rolling update that keeps every
// worker serving), a Service per listening service, an Ingress for the
// proxy routes, and a ConfigMap for each service's config files.
package k8s

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/toilhq/toil/export"
	"github.com/toilhq/toil/layout"
)

const (
	// AdminPort is the port of every toil worker's admin server in a pod
	// (TOIL_ADMIN_ADDR=0.0.0.0:9090): /healthz, /readyz, /metrics.
	AdminPort = 9090
	// AutoPort is the container port of a service with listen: auto,
	// reached only through its Service, so any fixed port does.
	AutoPort = 8080
)

// Options are the export's settings.
type Options struct {
	export.Options
	// Image is the container image holding the service binaries under
	// BinDir ("<layout name>:latest" when "").
	Image string
}

// Export renders the layout as one multi-document YAML file, <name>.yaml.
func Export(l *layout.Layout, o Options) ([]export.File, error) {
	objs, err := Objects(l, o)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(export.Header("# ", "Kubernetes manifests; kubectl apply -f this file", o.Options))
	b.WriteString("# Backing systems are not exported: each is expected as a Service named after\n")
	b.WriteString("# it (redis, nats, ...) on its usual port, as the services' *_URL variables say.\n")
	if l.Proxy != nil {
		b.WriteString("# The proxy's timeouts are your ingress controller's settings; toil.yaml has\n")
		fmt.Fprintf(&b, "# connect %s, read %s, write %s, idle %s.\n", l.Proxy.ConnectTimeout, l.Proxy.ReadTimeout, l.Proxy.WriteTimeout, l.Proxy.IdleTimeout)
	}
	for _, obj := range objs {
		data, err := yaml.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("export k8s: %w", err)
		}
		b.WriteString("---\n")
		b.Write(data)
	}
	return []export.File{{Name: l.Name + ".yaml", Data: b.Bytes(), Mode: 0o644}}, nil
}

// Objects are the manifests in the order to apply them: ConfigMaps,
// Deployments and Services per service in the file's order, then the
// Ingress.
func Objects(l *layout.Layout, o Options) ([]any, error) {
	if o.Image == "" {
		o.Image = l.Name + ":latest"
	}
	backing := export.BackingEnv(l, "{name}")
	var objs []any
	for _, s := range l.Services {
		port, err := servicePort(s)
		if err != nil {
			return nil, err
		}
		name := l.Name + "-" + s.Name
		if len(name)+len("-config") > 63 {
			return nil, &export.Error{Target: "k8s", Service: s.Name, Reason: fmt.Sprintf("%s-config is longer than the 63 characters Kubernetes allows in a name; shorten the layout's or the service's name", name)}
		}
		labels := map[string]string{
			"app.kubernetes.io/part-of":   l.Name,
			"app.kubernetes.io/component": s.Name,
		}
		meta := metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"app.kubernetes.io/part-of":    l.Name,
			"app.kubernetes.io/component":  s.Name,
			"app.kubernetes.io/managed-by": "toil",
		}}

		c := corev1.Container{
			Name:    s.Name,
			Image:   o.Image,
			Command: []string{export.Binary(l, s, o.Options)},
			Args:    s.Args,
		}
		env := layout.Env{}
		for _, kv := range l.Environ(s, backing) {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		env["TOIL_SERVICE"] = s.Name
		env["TOIL_ENV"] = "prod"
		if port != 0 {
			// Without an inherited socket the HTTP mixin, and any main
			// package, binds :$PORT.
			env["PORT"] = strconv.Itoa(port)
			c.Ports = append(c.Ports, corev1.ContainerPort{Name: "http", ContainerPort: int32(port), Protocol: corev1.ProtocolTCP})
		}
		if s.Toil() {
			env["TOIL_ADMIN_ADDR"] = "0.0.0.0:" + strconv.Itoa(AdminPort)
			c.Ports = append(c.Ports, corev1.ContainerPort{Name: "admin", ContainerPort: AdminPort, Protocol: corev1.ProtocolTCP})
			c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromString("admin")}}}
			c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("admin")}}}
		} else if port != 0 {
			// A plain main package has no admin server: it is ready once it
			// accepts connections.
			c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("http")}}}
		}
		for _, k := range env.Keys() {
			c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: env[k]})
		}

		var volumes []corev1.Volume
		if len(s.Config) > 0 {
			cm, vol, err := configMap(l, s, meta)
			if err != nil {
				return nil, err
			}
			objs = append(objs, cm)
			volumes = append(volumes, vol)
			// Config paths are relative to toil.yaml's directory, which is
			// the worker's working directory.
			dir := "/etc/toil/" + s.Name
			c.VolumeMounts = []corev1.VolumeMount{{Name: "config", MountPath: dir, ReadOnly: true}}
			c.WorkingDir = dir
		}

		replicas := int32(s.Procs)
		grace := int64(math.Ceil(s.StopTimeout.Seconds()))
		surge, unavailable := intstr.FromInt32(1), intstr.FromInt32(0)
		objs = append(objs, &appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: meta,
			Spec: appsv1.DeploymentSpec{
				Replicas: &replicas,
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Strategy: appsv1.DeploymentStrategy{
					Type:          appsv1.RollingUpdateDeploymentStrategyType,
					RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable},
				},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{
						TerminationGracePeriodSeconds: &grace,
						Containers:                    []corev1.Container{c},
						Volumes:                       volumes,
					},
				},
			},
		})
		if port != 0 {
			objs = append(objs, &corev1.Service{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
				ObjectMeta: meta,
				Spec: corev1.ServiceSpec{
					Selector: labels,
					Ports:    []corev1.ServicePort{{Name: "http", Port: int32(port), TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
				},
			})
		}
	}
	if l.Proxy != nil {
		ing, err := ingress(l)
		if err != nil {
			return nil, err
		}
		objs = append(objs, ing)
	}
	return objs, nil
}

// servicePort is the port s's containers listen on, 0 for none.
func servicePort(s *layout.Service) (int, error) {
	switch {
	case s.Listen.IsZero():
		return 0, nil
	case s.Listen.Auto:
		return AutoPort, nil
	case s.Listen.Network == "unix":
		return 0, &export.Error{Target: "k8s", Service: s.Name, Reason: fmt.Sprintf("listen %s: a pod is reached over TCP; give it a host:port (or auto)", s.Listen)}
	}
	return s.Listen.Port(), nil
}

// configKey is what a ConfigMap key may be.
var configKey = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

func configMap(l *layout.Layout, s *layout.Service, meta metav1.ObjectMeta) (*corev1.ConfigMap, corev1.Volume, error) {
	meta.Name += "-config"
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: meta,
		Data:       map[string]string{},
	}
	src := &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: meta.Name}}
	for _, p := range s.Config {
		rel := path.Clean(p)
		if path.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, "../") {
			return nil, corev1.Volume{}, &export.Error{Target: "k8s", Service: s.Name, Reason: fmt.Sprintf("config %s is outside toil.yaml's directory, where the pod's ConfigMap is mounted; move it under that directory", p)}
		}
		key := strings.ReplaceAll(rel, "/", "__")
		if !configKey.MatchString(key) {
			return nil, corev1.Volume{}, &export.Error{Target: "k8s", Service: s.Name, Reason: fmt.Sprintf("config %s: a ConfigMap key may hold only letters, digits, '-', '_' and '.'; rename the file", p)}
		}
		data, err := os.ReadFile(l.Path(p))
		if err != nil {
			return nil, corev1.Volume{}, &export.Error{Target: "k8s", Service: s.Name, Reason: fmt.Sprintf("config %s goes into a ConfigMap, but it cannot be read: %v", p, err)}
		}
		cm.Data[key] = string(data)
		src.Items = append(src.Items, corev1.KeyToPath{Key: key, Path: rel})
	}
	return cm, corev1.Volume{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: src}}, nil
}

func ingress(l *layout.Layout) (*networkingv1.Ingress, error) {
	prefix := networkingv1.PathTypePrefix
	var paths []networkingv1.HTTPIngressPath
	for _, r := range l.Proxy.Routes {
		s := l.Service(r.To)
		if s == nil || s.Listen.IsZero() {
			return nil, &export.Error{Target: "k8s", Service: r.To, Reason: fmt.Sprintf("the route %s goes to it, but it has no listen address; give it one", r.Path)}
		}
		if r.StripPrefix && r.Path != "/" {
			return nil, &export.Error{Target: "k8s", Service: r.To, Reason: fmt.Sprintf("the route %s strips its prefix, which a standard Ingress cannot do (it takes a controller's annotation); drop strip_prefix and serve the service under %s", r.Path, r.Path)}
		}
		// A Prefix path matches whole segments and the longest wins, as in
		// the dev proxy.
		paths = append(paths, networkingv1.HTTPIngressPath{
			Path:     r.Path,
			PathType: &prefix,
			Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
				Name: l.Name + "-" + s.Name,
				Port: networkingv1.ServiceBackendPort{Name: "http"},
			}},
		})
	}
	return &networkingv1.Ingress{
		TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: metav1.ObjectMeta{Name: l.Name, Labels: map[string]string{
			"app.kubernetes.io/part-of":    l.Name,
			"app.kubernetes.io/managed-by": "toil",
		}},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths}},
		}}},
	}, nil
}
