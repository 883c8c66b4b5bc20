package charttest

import (
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
)

// Helm's linter (what `helm lint` runs) finds no error and no warning in
// the chart, with the default values and with each rendering's; and it does
// flag a broken values file, so a clean result means something.
func TestHelmLint(t *testing.T) {
	kv, err := common.ParseKubeVersion(KubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	for _, rd := range renderings {
		t.Run(rd.name, func(t *testing.T) {
			var values map[string]any
			if rd.values != "" {
				if values, err = ValuesYAML(rd.values); err != nil {
					t.Fatal(err)
				}
			}
			res := lint.RunAll(ChartDir(), values, rd.release().Namespace, lint.WithKubeVersion(kv))
			for _, m := range res.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %v", m)
				} else {
					t.Logf("helm lint: %v", m)
				}
			}
		})
	}
	t.Run("a misspelt value is a lint error", func(t *testing.T) {
		values, err := ValuesYAML("agent: {hostNetwrk: true}\n")
		if err != nil {
			t.Fatal(err)
		}
		res := lint.RunAll(ChartDir(), values, "nscale", lint.WithKubeVersion(kv))
		if res.HighestSeverity != support.ErrorSev {
			t.Fatalf("lint of a misspelt value: highest severity %d, messages %v", res.HighestSeverity, res.Messages)
		}
	})
}
