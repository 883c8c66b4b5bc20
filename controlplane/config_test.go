package controlplane

import (
	"reflect"
	"strings"
	"testing"

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
