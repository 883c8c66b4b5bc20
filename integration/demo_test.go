//go:build integration

package integration

import (
	"context"
	"crypto/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freeAddr is a free port on a loopback address of its own (127.a.b.c):
// a port the kernel hands out now may be taken as the source port of an
// outgoing connection before the demo binds it, but not on an address
// nothing else uses.
func freeAddr(t *testing.T) string {
	t.Helper()
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	ip := net.IPv4(127, 100+b[0]%100, b[1], 1+b[2]%254)
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// make demo's script, end to end on a small data set: the admin sees every
// country and clear values, the analyst EU rows with masked emails and
// tokenized cards; nothing is left running.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	addrs := map[string]string{}
	for _, k := range []string{"API", "AGENT_API", "OPS", "FLIGHT", "AGENT_OPS"} {
		addrs[k] = freeAddr(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "../scripts/demo.sh", filepath.Join(dir, "demo"))
	cmd.Env = append(os.Environ(), "NSCALE_BIN="+binDir, "NSCALE_DEMO_CUSTOMERS=20000")
	for k, v := range addrs {
		cmd.Env = append(cmd.Env, "NSCALE_DEMO_"+k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	text := string(out)
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, text)
	}
	ada := between(text, "-- as ada (catalog admin)", "-- as ann")
	ann := between(text, "-- as ann (eu_analyst)", "==")
	if !strings.Contains(ada, "@example.") || strings.Contains(ada, "xxxx@") || strings.Contains(ada, "tok_") {
		t.Errorf("admin view should show clear emails and cards:\n%s", ada)
	}
	if strings.Count(ann, "xxxx@example.") < 3 || strings.Count(ann, "tok_") < 3 {
		t.Errorf("analyst view should mask emails and tokenize cards:\n%s", ann)
	}
	for _, c := range []string{" US ", " JP ", " BR ", " CA ", " IN "} {
		if strings.Contains(ann, c) {
			t.Errorf("analyst view shows a non-EU row (%s):\n%s", c, ann)
		}
	}
	if !strings.Contains(text, "PERMISSION_DENIED: column nope is not available in demo.customers") {
		t.Errorf("the refused column is not shown:\n%s", text)
	}
	// Nothing is left listening.
	for k, a := range addrs {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s (%s) still accepts connections after the demo", k, a)
		}
	}
}
