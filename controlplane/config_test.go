package controlplane

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/controlplane/auth/oidc"
	"github.com/nscale/nscale/controlplane/enrol/awsiid"
	"github.com/nscale/nscale/controlplane/enrol/k8s"
	"github.com/nscale/nscale/internal/configfile"
)

// The printed default file must decode to exactly DefaultConfig, so the
// commented file an operator starts from never lies.
func TestDefaultConfigYAMLMatchesDefaults(t *testing.T) {
	var fromFile Config
	if err := configfile.Decode("default-config.yaml", DefaultConfigYAML(), &fromFile); err != nil {
		t.Fatal(err)
	}
	if want := DefaultConfig(); !reflect.DeepEqual(fromFile, want) {
		t.Fatalf("default-config.yaml decodes to\n%+v\nwant\n%+v", fromFile, want)
	}
	if err := fromFile.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"unknown dialect", func(c *Config) { c.Store.Dialect = "oracle" }, `store.dialect "oracle"`},
		{"password in dsn url", func(c *Config) { c.Store.Dialect = "postgres"; c.Store.DSN = "postgres://u:pw@h/db" }, "contains a password"},
		{"password in mysql dsn", func(c *Config) { c.Store.Dialect = "mysql"; c.Store.DSN = "root:pw@tcp(h:3306)/db" }, "contains a password"},
		{"password keyword", func(c *Config) { c.Store.Dialect = "postgres"; c.Store.DSN = "host=h password=pw" }, "contains a password"},
		{"dsn and dsn_file", func(c *Config) { c.Store.DSN = "a.db"; c.Store.DSNFile = "/f" }, "both set"},
		{"same listeners", func(c *Config) { c.Ops.Listen = c.API.Listen }, "must be separate"},
		{"zero shutdown", func(c *Config) { c.ShutdownTimeout = 0 }, "shutdown_timeout"},
		{"bad log level", func(c *Config) { c.Log.Level = "loud" }, "log level"},
		{"no conns", func(c *Config) { c.Store.MaxOpenConns = 0 }, "max_open_conns"},
		{"plaintext api off loopback", func(c *Config) { c.API.Listen = "0.0.0.0:7080" }, "api.listen 0.0.0.0:7080 is not a loopback address and api.tls is not set"},
		{"agent ca without files", func(c *Config) { c.AgentCA.KeyFile = "" }, "agent_ca.key_file and agent_ca.cert_file are required"},
		{"revocation too slow", func(c *Config) { c.AgentAPI.RevocationRefresh = time.Minute }, "agent_api.revocation_refresh 1m0s must be between 1s and 10s"},
		{"lost before two heartbeats", func(c *Config) { c.AgentAPI.LostAfter = 20 * time.Second }, "agent_api.lost_after 20s must be at least twice"},
		{"bad server name", func(c *Config) { c.AgentAPI.ServerNames = []string{"a b"} }, `agent_api.server_names: "a b"`},
		{"kubernetes without audience", func(c *Config) { c.Enrolment.Kubernetes = &k8s.Config{} }, "enrolment.kubernetes:"},
		{"aws_iid without accounts", func(c *Config) { c.Enrolment.AWSIID = &awsiid.Config{} }, "enrolment.aws_iid:"},
		{"oidc without issuer", func(c *Config) { c.OIDC = &oidc.Config{} }, "oidc:"},
		{"certificate without key", func(c *Config) { c.API.TLS.CertFile = "/etc/nscale/api.pem" }, "api.tls.cert_file and api.tls.key_file go together"},
		{"per-principal above the limit", func(c *Config) { c.API.MaxConcurrentRequestsPerPrincipal = 65 }, "api.max_concurrent_requests_per_principal 65 must be between 1 and"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// Off loopback, plaintext needs the explicit insecure flag; TLS needs no
// flag.
func TestNonLoopbackListeners(t *testing.T) {
	c := DefaultConfig()
	c.API.Listen, c.API.Insecure = "0.0.0.0:7080", true
	c.AgentAPI.Listen = "10.0.0.5:7081"
	c.AgentAPI.TLS.CertFile, c.AgentAPI.TLS.KeyFile = "/etc/nscale/agent-api.pem", "/etc/nscale/agent-api-key.pem"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestSecretDSNMayHoldPassword(t *testing.T) {
	c := DefaultConfig()
	c.Store.Dialect = "postgres"
	env := map[string]string{EnvStoreDSN: "postgres://u:pw@127.0.0.1/db", EnvAdminToken: "0123456789abcdef0123"}
	if err := c.LoadSecrets(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("a DSN from %s must be allowed a password: %v", EnvStoreDSN, err)
	}
	if string(c.AdminToken) != env[EnvAdminToken] {
		t.Errorf("admin token not taken from env")
	}
}
