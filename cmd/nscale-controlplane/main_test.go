package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func noenv(string) string { return "" }

func TestFlagsBeatFileWhateverTheOrder(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "cp.yaml")
	if err := os.WriteFile(file, []byte("api:\n  listen: 127.0.0.1:1111\nshutdown_timeout: 3s\nlog:\n  level: debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--api-listen", "127.0.0.1:2222", "--config", file},
		{"--config", file, "--api-listen", "127.0.0.1:2222"},
	} {
		cfg, action, err := loadConfig(args, noenv)
		if err != nil || action != "" {
			t.Fatalf("%v: %v %q", args, err, action)
		}
		if cfg.API.Listen != "127.0.0.1:2222" {
			t.Errorf("%v: api.listen = %s, want the flag's", args, cfg.API.Listen)
		}
		if cfg.ShutdownTimeout != 3*time.Second || cfg.Log.Level != "debug" {
			t.Errorf("%v: file values lost: %+v", args, cfg)
		}
		if cfg.Ops.Listen != "127.0.0.1:7090" {
			t.Errorf("%v: default lost: %s", args, cfg.Ops.Listen)
		}
	}
}

func TestMainExitStatuses(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"--help"}, 0, "Usage:"},
		{"version", []string{"--version"}, 0, ""},
		{"print default", []string{"--print-default-config"}, 0, "api:"},
		{"unknown flag", []string{"--frobnicate"}, 2, "frobnicate"},
		{"bad duration flag", []string{"--shutdown-timeout", "soon"}, 2, "shutdown-timeout"},
		{"missing config file", []string{"--config", "/nonexistent/cp.yaml"}, 2, "/nonexistent/cp.yaml"},
		{"stray argument", []string{"serve"}, 2, `unexpected argument "serve"`},
		{"invalid combination", []string{"--store-dialect", "db2"}, 2, `store.dialect "db2"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(context.Background(), tc.args, &out, &errb, noenv)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, errb.String())
			}
			if !strings.Contains(out.String()+errb.String(), tc.want) {
				t.Errorf("output lacks %q: %s%s", tc.want, out.String(), errb.String())
			}
		})
	}
}
