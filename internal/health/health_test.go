package health_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/internal/health"
)

func fixed(code health.Code, msg string) health.CheckFunc {
	return func(context.Context) health.Result { return health.Result{Code: code, Message: msg} }
}

func TestOverallIsWorstComponent(t *testing.T) {
	cases := []struct {
		name  string
		codes []health.Code
		want  health.Code
	}{
		{"all ready", []health.Code{health.Ready, health.Ready}, health.Ready},
		{"one degraded", []health.Code{health.Ready, health.Degraded}, health.Degraded},
		{"one not ready", []health.Code{health.Degraded, health.NotReady, health.Ready}, health.NotReady},
		{"empty code counts as not ready", []health.Code{health.Ready, ""}, health.NotReady},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := health.New(time.Second)
			for i, code := range tc.codes {
				c.Register(string(rune('a'+i)), fixed(code, "m"))
			}
			rep := c.Check(context.Background())
			if rep.Code != tc.want {
				t.Fatalf("overall %s, want %s", rep.Code, tc.want)
			}
			if len(rep.Components) != len(tc.codes) {
				t.Fatalf("%d components", len(rep.Components))
			}
		})
	}
}

func TestSlowAndPanickingChecksAreNotReady(t *testing.T) {
	c := health.New(50 * time.Millisecond)
	c.Register("slow", func(ctx context.Context) health.Result {
		select {
		case <-time.After(10 * time.Second):
		case <-ctx.Done():
		}
		time.Sleep(100 * time.Millisecond) // ignores its deadline a while longer
		return health.Result{Code: health.Ready}
	})
	c.Register("panics", func(context.Context) health.Result { panic("boom") })
	start := time.Now()
	rep := c.Check(context.Background())
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Check took %s despite a 50ms timeout", d)
	}
	for _, comp := range rep.Components {
		if comp.Code != health.NotReady {
			t.Errorf("%s: %s, want NOT_READY", comp.Name, comp.Code)
		}
	}
	if !strings.Contains(rep.Message, "panics") || !strings.Contains(rep.Message, "slow") {
		t.Errorf("message %q should name both components", rep.Message)
	}
}

func TestOpsHandler(t *testing.T) {
	c := health.New(time.Second)
	c.Register("store", fixed(health.Ready, "ok"))
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("m 1\n")) })
	srv := httptest.NewServer(c.OpsHandler(metrics))
	defer srv.Close()

	get := func(path string) (*http.Response, map[string]any) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp, body
	}
	if resp, body := get("/livez"); resp.StatusCode != 200 || body["status"] != "ok" {
		t.Errorf("livez: %d %v", resp.StatusCode, body)
	}
	resp, body := get("/readyz")
	if resp.StatusCode != 200 || body["code"] != "READY" {
		t.Errorf("readyz: %d %v", resp.StatusCode, body)
	}
	comps, _ := body["components"].([]any)
	if len(comps) != 1 || comps[0].(map[string]any)["name"] != "store" {
		t.Errorf("components = %v", comps)
	}
	for _, k := range []string{"timestamp", "elapsed_ms", "message"} {
		if _, ok := comps[0].(map[string]any)[k]; !ok {
			t.Errorf("component lacks %q", k)
		}
	}
	c.Register("store", fixed(health.NotReady, "down"))
	if resp, body := get("/readyz"); resp.StatusCode != 503 || body["code"] != "NOT_READY" {
		t.Errorf("readyz when down: %d %v", resp.StatusCode, body)
	}
	c.Register("store", fixed(health.Degraded, "slow"))
	if resp, _ := get("/readyz"); resp.StatusCode != 200 {
		t.Errorf("degraded should still serve traffic, got %d", resp.StatusCode)
	}
	if resp, _ := get("/metrics"); resp.StatusCode != 200 {
		t.Errorf("metrics: %d", resp.StatusCode)
	}
}
