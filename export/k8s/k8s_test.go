package k8s_test

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/toilhq/toil/export"
	"github.com/toilhq/toil/export/k8s"
	"github.com/toilhq/toil/layout"
)

// TestStrictDecode reads the exported manifests back with strict decoding
// into the k8s.io/api types (an unknown or misplaced field fails), and
// checks what a cluster would do with them.
func TestStrictDecode(t *testing.T) {
	t.Parallel()
	l, err := layout.Load("../testdata/full/toil.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range l.Proxy.Routes {
		if r.StripPrefix {
			// A standard Ingress cannot strip; that is an error, tested in
			// package export.
			l.Proxy.Routes[1].StripPrefix = false
		}
	}
	files, err := k8s.Export(l, k8s.Options{Options: export.Options{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Name != "shop.yaml" {
		t.Fatalf("files %v, want shop.yaml", files)
	}
	docs := strings.Split(string(files[0].Data), "\n---\n")[1:]
	deployments := map[string]*appsv1.Deployment{}
	services := map[string]*corev1.Service{}
	var ingress *networkingv1.Ingress
	var configs []*corev1.ConfigMap
	var ds []*appsv1.Deployment
	var ss []*corev1.Service
	for _, doc := range docs {
		var head struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("%v in\n%s", err, doc)
		}
		var obj any
		switch head.Kind {
		case "Deployment":
			d := &appsv1.Deployment{}
			obj = d
			ds = append(ds, d)
		case "Service":
			s := &corev1.Service{}
			obj = s
			ss = append(ss, s)
		case "Ingress":
			ingress = &networkingv1.Ingress{}
			obj = ingress
		case "ConfigMap":
			c := &corev1.ConfigMap{}
			obj = c
			configs = append(configs, c)
		default:
			t.Fatalf("unexpected kind %q in\n%s", head.Kind, doc)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("strict decoding of a %s: %v\n%s", head.Kind, err, doc)
		}
	}
	for _, d := range ds {
		deployments[d.Name] = d
	}
	for _, s := range ss {
		services[s.Name] = s
	}
	if len(deployments) != 4 {
		t.Fatalf("%d deployments, want one per service (4)", len(deployments))
	}
	web := deployments["shop-web"]
	if *web.Spec.Replicas != 3 || *web.Spec.Template.Spec.TerminationGracePeriodSeconds != 20 {
		t.Errorf("shop-web: replicas %d, grace %d; want procs 3 and stop_timeout 20", *web.Spec.Replicas, *web.Spec.Template.Spec.TerminationGracePeriodSeconds)
	}
	ru := web.Spec.Strategy.RollingUpdate
	if ru.MaxSurge.IntValue() != 1 || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("rolling update surge %v unavailable %v, want 1 and 0", ru.MaxSurge, ru.MaxUnavailable)
	}
	c := web.Spec.Template.Spec.Containers[0]
	if c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe.HTTPGet.Port.StrVal != "admin" {
		t.Errorf("probes %+v %+v, want /readyz and /healthz on admin", c.ReadinessProbe, c.LivenessProbe)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	for k, v := range map[string]string{"TOIL_ADMIN_ADDR": "0.0.0.0:9090", "REDIS_URL": "redis://redis:6380", "NATS_URL": "nats://nats:4222", "PORT": "8081", "TOIL_SERVICE": "web", "TOIL_ENV": "prod", "THEME": "dark blue"} {
		if env[k] != v {
			t.Errorf("shop-web env %s=%q, want %q", k, env[k], v)
		}
	}
	if _, ok := services["shop-worker"]; ok || len(services) != 3 {
		t.Errorf("services %v, want one per listening service (web, api, legacy)", services)
	}
	if got := ingress.Spec.Rules[0].HTTP.Paths; len(got) != 3 || got[1].Path != "/api" || got[1].Backend.Service.Name != "shop-api" {
		t.Errorf("ingress paths %+v, want /, /api → shop-api, /old", got)
	}
	if len(configs) != 1 || configs[0].Data["web.yaml"] != "title: Shop\n" {
		t.Errorf("config maps %+v, want shop-web-config with web.yaml", configs)
	}
}
