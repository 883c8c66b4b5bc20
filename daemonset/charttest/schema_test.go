package charttest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// A values file with an unknown key, a misspelt one or a value of the wrong
// type is refused before anything renders, and the message names it.
func TestSchemaRefusesBadValues(t *testing.T) {
	for _, tc := range []struct {
		name, values string
		want         []string // each must be in the error
	}{
		{"unknown top-level key", "agents: {enabled: true}\n", []string{"additional properties 'agents' not allowed"}},
		{"misspelt nested key", "agent: {hostNetwrk: true}\n", []string{"/agent", "'hostNetwrk' not allowed"}},
		{"misspelt deep key", "controlPlane: {store: {dsnSecret: {nmae: x}}}\n", []string{"/controlPlane/store/dsnSecret", "'nmae' not allowed"}},
		{"wrong type", "controlPlane: {replicas: three}\n", []string{"/controlPlane/replicas", "got string, want integer"}},
		{"boolean as string", "agent: {hostNetwork: \"yes\"}\n", []string{"/agent/hostNetwork", "want boolean"}},
		{"list as string", "agent: {allowedUIDs: \"185\"}\n", []string{"/agent/allowedUIDs", "want array"}},
		{"dialect", "controlPlane: {store: {dialect: sqlite}}\n", []string{"/controlPlane/store/dialect", "must be one of 'postgres', 'mysql'"}},
		{"port out of range", "agent: {opsPort: 70000}\n", []string{"/agent/opsPort", "maximum"}},
		{"duration without unit", "controlPlane: {shutdownTimeout: \"15\"}\n", []string{"/controlPlane/shutdownTimeout", "does not match pattern"}},
		{"service account without namespace", "controlPlane: {enrolment: {extraAllowedServiceAccounts: [nscale-agent]}}\n", []string{"/controlPlane/enrolment/extraAllowedServiceAccounts/0", "does not match pattern"}},
		{"socket mode", "agent: {socket: {mode: \"777x\"}}\n", []string{"/agent/socket/mode"}},
		{"toleration field", "agent: {tolerations: [{opertor: Exists}]}\n", []string{"/agent/tolerations/0", "'opertor' not allowed"}},
		{"spread field", "controlPlane: {topologySpreadConstraints: [{maxSkew: 1, topologyKey: x, whenUnsatisfiable: ScheduleAnyway, labelSelectr: {}}]}\n", []string{"/controlPlane/topologySpreadConstraints/0", "'labelSelectr' not allowed"}},
		{"label value", "commonLabels: {team: 7}\n", []string{"/commonLabels/team", "want string"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := renderValues(tc.values, DefaultRelease)
			if err == nil {
				t.Fatalf("values %q rendered", tc.values)
			}
			msg := err.Error()
			if !strings.Contains(msg, "values don't meet the specifications of the schema") {
				t.Errorf("not refused by the schema: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not say %q:\n%s", w, msg)
				}
			}
		})
	}
}

// values.yaml: every key has a comment saying what it is, every key is in
// the schema, and the chart's defaults pass the schema (Render would fail).
func TestEveryValueIsDocumented(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(ChartDir(), "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	schema := loadSchema(t)
	// Keys inside a list item are Kubernetes fields the item's comment covers.
	var walk func(n *yaml.Node, path string, s map[string]any, inItem bool)
	walk = func(n *yaml.Node, path string, s map[string]any, inItem bool) {
		switch n.Kind {
		case yaml.MappingNode:
			props, _ := s["properties"].(map[string]any)
			for i := 0; i < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := strings.TrimPrefix(path+"."+k.Value, ".")
				if !inItem && strings.TrimSpace(k.HeadComment) == "" {
					t.Errorf("values.yaml:%d: %s has no comment", k.Line, p)
				}
				sub, ok := props[k.Value].(map[string]any)
				if !ok {
					t.Errorf("values.yaml:%d: %s is not in values.schema.json", k.Line, p)
					continue
				}
				if d, _ := sub["description"].(string); d == "" {
					t.Errorf("values.schema.json: %s has no description", p)
				}
				walk(v, p, sub, inItem)
			}
		case yaml.SequenceNode:
			items, _ := s["items"].(map[string]any)
			for i, c := range n.Content {
				if c.Kind == yaml.MappingNode && strings.TrimSpace(c.HeadComment) == "" && strings.TrimSpace(c.Content[0].HeadComment) == "" {
					t.Errorf("values.yaml:%d: %s[%d] has no comment", c.Line, path, i)
				}
				walk(c, path, items, true)
			}
		}
	}
	walk(doc.Content[0], "", schema, false)
}

// Every object level of the schema refuses unknown keys, so a misspelt
// value fails `helm install`. The only objects without a fixed set of keys
// are maps of strings (labels, annotations, node selectors) and the three
// branches of a Kubernetes Affinity, which the API server checks strictly.
func TestSchemaIsClosed(t *testing.T) {
	schema := loadSchema(t)
	if schema["$schema"] != "http://json-schema.org/draft-07/schema#" {
		t.Errorf("$schema %v, want draft-07", schema["$schema"])
	}
	passThrough := []string{".controlPlane.affinity.nodeAffinity", ".controlPlane.affinity.podAffinity", ".controlPlane.affinity.podAntiAffinity",
		".agent.affinity.nodeAffinity", ".agent.affinity.podAffinity", ".agent.affinity.podAntiAffinity"}
	var open []string
	var walk func(s map[string]any, path string)
	walk = func(s map[string]any, path string) {
		if s["type"] == "object" {
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if ap {
					t.Errorf("%s: additionalProperties true", path)
				}
			case map[string]any:
				if ap["type"] != "string" {
					t.Errorf("%s: a map of %v", path, ap["type"])
				}
			case nil:
				open = append(open, path)
			}
		}
		props, _ := s["properties"].(map[string]any)
		for k, v := range props {
			walk(v.(map[string]any), path+"."+k)
		}
		if items, ok := s["items"].(map[string]any); ok {
			walk(items, path+"[]")
		}
	}
	walk(schema, "")
	sort.Strings(open)
	sort.Strings(passThrough)
	if !slices.Equal(open, passThrough) {
		t.Errorf("objects that accept any key: %v, want only %v", open, passThrough)
	}
}

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(ChartDir(), "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("values.schema.json: %v", err)
	}
	return s
}
