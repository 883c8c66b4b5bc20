// Package charttest renders the nscale Helm chart (daemonset/chart/nscale)
// with Helm's Go SDK, the way `helm install` does (values coalesced with the
// chart's defaults and checked against values.schema.json, then the
// templates executed), and decodes every rendered object strictly into its
// Kubernetes API type: an unknown or misspelt field is an error. The chart's
// own tests and the integration test that runs an agent with the rendered
// configuration share it.
package charttest

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// KubeVersion is the cluster version renderings are made for; the chart
// needs 1.29 or later (native sidecars).
const KubeVersion = "v1.31.0"

// ChartDir is the chart's directory, found from this file's location so
// that tests in any package reach it.
func ChartDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "chart", "nscale")
}

// Release is the release a rendering is for.
type Release struct {
	Name, Namespace string
}

// DefaultRelease is `helm install nscale ... --namespace nscale`.
var DefaultRelease = Release{Name: "nscale", Namespace: "nscale"}

// Object is one rendered Kubernetes object.
type Object struct {
	// Template is the file it came from, e.g. nscale/templates/agent-daemonset.yaml.
	Template   string
	APIVersion string
	Kind       string
	Name       string
	// Namespace is as rendered (empty for cluster-scoped objects).
	Namespace string
	// YAML is the document exactly as rendered.
	YAML []byte
	// Typed is the strictly decoded object: a pointer to its k8s.io/api
	// type, or to ServiceMonitor.
	Typed any
}

// Rendering is every object of one `helm install`, in template order.
type Rendering struct {
	Objects []Object
	// Notes is the rendered NOTES.txt.
	Notes string
}

// Render renders the chart for values (nil: the defaults) as release rel.
// Values that fail the schema, and templates that fail, are errors with
// Helm's own message.
func Render(values map[string]any, rel Release) (*Rendering, error) {
	ch, err := loader.LoadDir(ChartDir())
	if err != nil {
		return nil, fmt.Errorf("load chart: %w", err)
	}
	return RenderChart(ch, values, rel)
}

// RenderChart is Render for a chart already loaded.
func RenderChart(ch *chart.Chart, values map[string]any, rel Release) (*Rendering, error) {
	if values == nil {
		values = map[string]any{}
	}
	caps := common.DefaultCapabilities.Copy()
	kv, err := common.ParseKubeVersion(KubeVersion)
	if err != nil {
		return nil, err
	}
	caps.KubeVersion = *kv
	top, err := util.ToRenderValues(ch, values, common.ReleaseOptions{Name: rel.Name, Namespace: rel.Namespace, IsInstall: true, Revision: 1}, caps)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(ch, top)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	r := &Rendering{}
	for _, n := range names {
		switch {
		case strings.HasSuffix(n, "NOTES.txt"):
			r.Notes = files[n]
			continue
		case strings.HasPrefix(path.Base(n), "_"):
			continue
		}
		objs, err := decodeAll(n, files[n])
		if err != nil {
			return nil, err
		}
		r.Objects = append(r.Objects, objs...)
	}
	return r, nil
}

// strict decodes YAML into the client-go scheme's types, refusing unknown
// and duplicate fields.
var strict = json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme.Scheme, scheme.Scheme, json.SerializerOptions{Yaml: true, Strict: true})

func decodeAll(template, text string) ([]Object, error) {
	var out []Object
	for i, doc := range splitDocuments(text) {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return nil, fmt.Errorf("%s document %d: not YAML: %w", template, i, err)
		}
		if head.Kind == "" || head.APIVersion == "" {
			return nil, fmt.Errorf("%s document %d: no apiVersion or kind", template, i)
		}
		o := Object{Template: template, APIVersion: head.APIVersion, Kind: head.Kind, Name: head.Metadata.Name, Namespace: head.Metadata.Namespace, YAML: doc}
		typed, err := DecodeStrict(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: %s %s: %w", template, o.Kind, o.Name, err)
		}
		o.Typed = typed
		out = append(out, o)
	}
	return out, nil
}

// DecodeStrict decodes one Kubernetes object into its typed form; any field
// the type does not have is an error.
func DecodeStrict(doc []byte) (any, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return nil, err
	}
	gv, err := schema.ParseGroupVersion(head.APIVersion)
	if err != nil {
		return nil, err
	}
	if gv.Group == serviceMonitorGroup {
		if gv.Version != "v1" || head.Kind != "ServiceMonitor" {
			return nil, fmt.Errorf("%s %s: not a kind this package decodes", head.APIVersion, head.Kind)
		}
		var sm ServiceMonitor
		if err := yaml.UnmarshalStrict(doc, &sm); err != nil {
			return nil, err
		}
		return &sm, nil
	}
	obj, _, err := strict.Decode(doc, nil, nil)
	if err != nil {
		return nil, err
	}
	return obj, nil
}

// splitDocuments splits a multi-document YAML file on its "---" lines and
// drops documents that hold only comments or whitespace.
func splitDocuments(text string) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	flush := func() {
		if hasContent(cur.String()) {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
		}
		cur.Reset()
	}
	for _, line := range strings.SplitAfter(text, "\n") {
		if strings.TrimRight(line, " \t\r\n") == "---" {
			flush()
			continue
		}
		cur.WriteString(line)
	}
	flush()
	return docs
}

func hasContent(doc string) bool {
	for _, l := range strings.Split(doc, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			return true
		}
	}
	return false
}

// Find returns the object of kind and name.
func (r *Rendering) Find(kind, name string) (Object, bool) {
	for _, o := range r.Objects {
		if o.Kind == kind && o.Name == name {
			return o, true
		}
	}
	return Object{}, false
}

// Kinds counts the rendered objects by kind.
func (r *Rendering) Kinds() map[string]int {
	m := map[string]int{}
	for _, o := range r.Objects {
		m[o.Kind]++
	}
	return m
}

// Get returns the typed object of kind and name.
func Get[T any](r *Rendering, kind, name string) (T, error) {
	var zero T
	o, ok := r.Find(kind, name)
	if !ok {
		return zero, fmt.Errorf("no %s %s in the rendering", kind, name)
	}
	t, ok := o.Typed.(T)
	if !ok {
		return zero, fmt.Errorf("%s %s decoded as %T", kind, name, o.Typed)
	}
	return t, nil
}

// ValuesYAML parses a values file the way `helm install -f` does.
func ValuesYAML(text string) (map[string]any, error) {
	v, err := loader.LoadValues(strings.NewReader(text))
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, errors.New("empty values")
	}
	return v, nil
}
