// Command istio-oracle runs istiod's own config translation (its discovery server, in-process, on fake
// Kubernetes clients) over one cluster's objects and prints, as JSON, the xDS a named proxy would get.
//
// Input (stdin, one JSON document):
//
//	{
//	  "objects":    [ {...}, ... ],   // Kubernetes objects (Service, Pod, Node, EndpointSlice, Namespace ...)
//	                                   // and Istio config (*.istio.io), as JSON objects
//	  "meshConfig": "...",            // optional: MeshConfig YAML (the istio ConfigMap's "mesh" key)
//	  "proxies":    [ { "pod": "ns/name", "type": "sidecar" | "router", "metadata": {...} } ]
//	}
//
// Output (stdout): {"rejected": [...], "warnings": [...], "proxies": [{"pod", "id", "type", "locality", "clusters",
// "listeners", "routes", "endpoints"}]}. Istio config that istiod's validation rejects is listed in
// "rejected" and left out of the store, as the validating webhook would; its warnings are in "warnings". Every resource is protojson,
// sorted by name, keys sorted, so equal inputs give byte-equal output.
//
// Istio config with no metadata.creationTimestamp gets a fixed time plus its position in the input (one
// second apart): earlier in the input means older, which is what istiod's "oldest rule wins" reads.
//
// A bad input is exit code 2 with one line on stderr; nothing is printed on stdout.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/clusters/aggregate/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	meshconfig "istio.io/api/mesh/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pkg/config"
	"istio.io/istio/pkg/config/mesh"
	"istio.io/istio/pkg/config/schema/collections"
	"istio.io/istio/pkg/config/schema/resource"
	"istio.io/istio/pkg/log"
)

type proxyRequest struct {
	Pod          string         `json:"pod"`
	Type         string         `json:"type"`
	Metadata     map[string]any `json:"metadata"`
	IstioVersion string         `json:"istioVersion"`
}

type request struct {
	Objects    []json.RawMessage `json:"objects"`
	MeshConfig string            `json:"meshConfig"`
	Proxies    []proxyRequest    `json:"proxies"`
}

type rejection struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Error     string `json:"error"`
}

type proxyResult struct {
	Pod       string            `json:"pod"`
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	Locality  map[string]string `json:"locality"`
	Clusters  []any             `json:"clusters"`
	Listeners []any             `json:"listeners"`
	Routes    []any             `json:"routes"`
	Endpoints []any             `json:"endpoints"`
}

type response struct {
	Rejected []rejection   `json:"rejected"`
	Warnings []rejection   `json:"warnings"`
	Proxies  []proxyResult `json:"proxies"`
}

const (
	clusterID    = "Kubernetes"
	domainSuffix = "cluster.local"
)

var baseTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func fail(format string, args ...any) {
	msg := strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", " ")
	fmt.Fprintln(os.Stderr, "istio-oracle: "+msg)
	os.Exit(2)
}

func main() {
	opts := log.DefaultOptions()
	opts.OutputPaths = []string{"stderr"}
	opts.ErrorOutputPaths = []string{"stderr"}
	opts.SetDefaultOutputLevel(log.OverrideScopeName, log.NoneLevel)
	if err := log.Configure(opts); err != nil {
		fail("configuring logs: %v", err)
	}

	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail("reading stdin: %v", err)
	}
	var req request
	dec := json.NewDecoder(strings.NewReader(string(in)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		fail("input is not the oracle's JSON request: %v", err)
	}
	if len(req.Proxies) == 0 {
		fail("no proxies requested")
	}

	meshConfig := mesh.DefaultMeshConfig()
	if req.MeshConfig != "" {
		if meshConfig, err = mesh.ApplyMeshConfigDefaults(req.MeshConfig); err != nil {
			fail("meshConfig: %v", err)
		}
	}

	var kubeDocs []string
	var configs []config.Config
	rejected := []rejection{}
	warnings := []rejection{}
	for i, raw := range req.Objects {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := json.Unmarshal(raw, &head); err != nil || head.APIVersion == "" || head.Kind == "" {
			fail("objects[%d]: not a JSON object with apiVersion and kind", i)
		}
		group, _, _ := strings.Cut(head.APIVersion, "/")
		if !strings.HasSuffix(group, "istio.io") {
			kubeDocs = append(kubeDocs, string(raw))
			continue
		}
		var obj crd.IstioKind
		if err := json.Unmarshal(raw, &obj); err != nil {
			fail("objects[%d] (%s): %v", i, head.Kind, err)
		}
		gvk := obj.GroupVersionKind()
		sch, known := collections.PilotGatewayAPI().FindByGroupVersionAliasesKind(resource.FromKubernetesGVK(&gvk))
		if !known {
			rejected = append(rejected, rejection{Kind: head.Kind, Namespace: obj.Namespace, Name: obj.Name, Error: fmt.Sprintf("%s %s is not a kind istiod reads", head.APIVersion, head.Kind)})
			continue
		}
		// The domain suffix istiod resolves short host names with (reviews -> reviews.<ns>.svc.cluster.local).
		parsed, err := crd.ConvertObject(sch, &obj, domainSuffix)
		if err != nil {
			rejected = append(rejected, rejection{Kind: head.Kind, Namespace: obj.Namespace, Name: obj.Name, Error: err.Error()})
			continue
		}
		c := *parsed
		if c.Namespace == "" {
			c.Namespace = "default"
		}
		if c.CreationTimestamp.IsZero() {
			c.CreationTimestamp = baseTime.Add(time.Duration(i) * time.Second)
		}
		warning, reason := validate(c)
		if warning != "" {
			warnings = append(warnings, rejection{Kind: c.GroupVersionKind.Kind, Namespace: c.Namespace, Name: c.Name, Error: warning})
		}
		if reason != "" {
			rejected = append(rejected, rejection{Kind: c.GroupVersionKind.Kind, Namespace: c.Namespace, Name: c.Name, Error: reason})
			continue
		}
		configs = append(configs, c)
	}

	t := newFailer()
	defer t.cleanup()
	s := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{
		DefaultClusterName:     clusterID,
		KubernetesObjectString: strings.Join(kubeDocs, "\n---\n"),
		Configs:                configs,
		MeshConfig:             meshConfig,
	})

	out := response{Rejected: rejected, Warnings: warnings, Proxies: []proxyResult{}}
	for _, pr := range req.Proxies {
		out.Proxies = append(out.Proxies, generate(s, meshConfig, pr))
	}
	b, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		fail("encoding output: %v", err)
	}
	_, _ = os.Stdout.Write(append(b, '\n'))
}

// validate runs the validation istiod's webhook runs: its warning and its reason to reject, "" for none.
func validate(c config.Config) (warning, reason string) {
	s, ok := collections.PilotGatewayAPI().FindByGroupVersionAliasesKind(c.GroupVersionKind)
	if !ok {
		return "", fmt.Sprintf("%s is not a kind istiod serves", c.GroupVersionKind)
	}
	w, err := s.ValidateConfig(c)
	if w != nil {
		warning = w.Error()
	}
	if err != nil {
		reason = err.Error()
	}
	return warning, reason
}

// generate builds the proxy a pod's sidecar (or gateway) would connect as, the way istiod initialises a
// new connection (workload labels from the registry, locality from them), and collects its xDS.
func generate(s *xds.FakeDiscoveryServer, m *meshconfig.MeshConfig, pr proxyRequest) proxyResult {
	ns, name, ok := strings.Cut(pr.Pod, "/")
	if !ok || ns == "" || name == "" {
		fail("proxy pod %q: want namespace/name", pr.Pod)
	}
	pod, err := s.KubeClient().Kube().CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		fail("proxy pod %s: no such Pod among the objects", pr.Pod)
	}
	if pod.Status.PodIP == "" {
		fail("proxy pod %s has no status.podIP", pr.Pod)
	}
	var typ model.NodeType
	switch pr.Type {
	case "", "sidecar":
		typ = model.SidecarProxy
	case "router":
		typ = model.Router
	default:
		fail("proxy pod %s: type %q is neither sidecar nor router", pr.Pod, pr.Type)
	}

	// Node metadata as pilot-agent sends it: the mesh's proxyMetadata ISTIO_META_* entries, then the request's.
	raw := map[string]any{}
	for k, v := range m.GetDefaultConfig().GetProxyMetadata() {
		if key, ok := strings.CutPrefix(k, "ISTIO_META_"); ok {
			raw[key] = v
		}
	}
	for k, v := range pr.Metadata {
		raw[k] = v
	}
	var md model.NodeMetadata
	if b, err := json.Marshal(raw); err != nil || json.Unmarshal(b, &md) != nil {
		fail("proxy pod %s: metadata is not Istio node metadata", pr.Pod)
	}
	version := pr.IstioVersion
	if version == "" {
		version = defaultProxyVersion
	}
	md.IstioVersion = version
	md.Namespace = ns
	md.ClusterID = clusterID
	md.Labels = pod.Labels
	md.NodeName = pod.Spec.NodeName
	md.InstanceIPs = []string{pod.Status.PodIP}
	p := &model.Proxy{
		Type:            typ,
		ID:              name + "." + ns,
		ConfigNamespace: ns,
		DNSDomain:       ns + ".svc.cluster.local",
		IPAddresses:     []string{pod.Status.PodIP},
		Metadata:        &md,
		IstioVersion:    model.ParseIstioVersion(version),
	}
	p.SetWorkloadLabels(s.Env())
	p.Locality = &core.Locality{
		Region:  p.Labels["topology.kubernetes.io/region"],
		Zone:    p.Labels["topology.kubernetes.io/zone"],
		SubZone: p.Labels["topology.istio.io/subzone"],
	}
	p = s.SetupProxy(p)

	res := proxyResult{
		Pod:      pr.Pod,
		ID:       p.ID,
		Type:     string(p.Type),
		Locality: map[string]string{"region": p.Locality.Region, "zone": p.Locality.Zone, "subZone": p.Locality.SubZone},
	}
	for _, c := range sorted(s.Clusters(p), func(c *cluster.Cluster) string { return c.Name }) {
		res.Clusters = append(res.Clusters, toJSON(c))
	}
	listeners := s.Listeners(p)
	for _, l := range sorted(listeners, func(l *listener.Listener) string { return l.Name }) {
		res.Listeners = append(res.Listeners, toJSON(l))
	}
	for _, r := range sorted(s.RoutesFromListeners(p, listeners), func(r *route.RouteConfiguration) string { return r.Name }) {
		res.Routes = append(res.Routes, toJSON(r))
	}
	for _, e := range sorted(s.Endpoints(p), func(e *endpoint.ClusterLoadAssignment) string { return e.ClusterName }) {
		res.Endpoints = append(res.Endpoints, toJSON(e))
	}
	for _, list := range []*[]any{&res.Clusters, &res.Listeners, &res.Routes, &res.Endpoints} {
		if *list == nil {
			*list = []any{}
		}
	}
	return res
}

const defaultProxyVersion = "1.30.0"

func sorted[T any](items []T, key func(T) string) []T {
	out := append([]T(nil), items...)
	sort.SliceStable(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

// toJSON renders a proto as protojson re-read into plain values, so the final encoding sorts keys and
// never carries protojson's deliberately unstable whitespace.
func toJSON(m proto.Message) any {
	b, err := protojson.Marshal(m)
	if err != nil {
		fail("encoding %T: %v", m, err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		fail("re-reading %T: %v", m, err)
	}
	return v
}
