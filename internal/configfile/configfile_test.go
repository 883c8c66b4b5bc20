package configfile_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/internal/configfile"
)

type inner struct {
	Listen  configfile.HostPort `yaml:"listen"`
	Timeout time.Duration       `yaml:"timeout"`
}

type cfg struct {
	Name   string            `yaml:"name"`
	On     bool              `yaml:"on"`
	Count  int               `yaml:"count"`
	Server inner             `yaml:"server"`
	Tags   []string          `yaml:"tags"`
	Labels map[string]string `yaml:"labels"`
}

func TestDecodeValid(t *testing.T) {
	c := cfg{Name: "default", Count: 7, Server: inner{Timeout: time.Second}}
	src := "on: true\nserver:\n  listen: 127.0.0.1:9000\n  timeout: 2m\ntags: [a, b]\nlabels:\n  x: y\n"
	if err := configfile.Decode("c.yaml", []byte(src), &c); err != nil {
		t.Fatal(err)
	}
	want := cfg{Name: "default", On: true, Count: 7, Server: inner{Listen: "127.0.0.1:9000", Timeout: 2 * time.Minute},
		Tags: []string{"a", "b"}, Labels: map[string]string{"x": "y"}}
	if c.Name != want.Name || c.On != want.On || c.Count != want.Count || c.Server != want.Server ||
		strings.Join(c.Tags, ",") != "a,b" || c.Labels["x"] != "y" {
		t.Fatalf("got %+v, want %+v", c, want)
	}
}

func TestDecodeEmptyKeepsDefaults(t *testing.T) {
	c := cfg{Name: "default"}
	for _, src := range []string{"", "# only a comment\n", "name:\n"} {
		if err := configfile.Decode("c.yaml", []byte(src), &c); err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if c.Name != "default" {
			t.Fatalf("%q changed the default to %q", src, c.Name)
		}
	}
}

func TestDecodeErrorsNameKeyAndLine(t *testing.T) {
	cases := []struct {
		name, src string
		line      int
		key       string
		msg       string
	}{
		{"unknown top key", "name: a\nnmae: b\n", 2, "nmae", "unknown key"},
		{"unknown nested key", "server:\n  listen: 127.0.0.1:1\n  tmeout: 3s\n", 3, "server.tmeout", "known keys under server: listen, timeout"},
		{"bad duration", "server:\n  timeout: 5 minutes\n", 2, "server.timeout", `invalid duration "5 minutes"`},
		{"duration without unit", "server:\n  timeout: 30\n", 2, "server.timeout", "invalid duration"},
		{"negative duration", "server:\n  timeout: -1s\n", 2, "server.timeout", "must not be negative"},
		{"bad address", "server:\n  listen: localhost\n", 2, "server.listen", "want host:port"},
		{"bad port", "server:\n  listen: 127.0.0.1:99999\n", 2, "server.listen", "port"},
		{"bad host", "server:\n  listen: 'exa mple:80'\n", 2, "server.listen", "neither an IP"},
		{"bad bool", "on: yes please\n", 1, "on", "invalid boolean"},
		{"quoted bool", "on: 'true'\n", 1, "on", "invalid boolean"},
		{"bad int", "count: many\n", 1, "count", "invalid integer"},
		{"list for scalar", "name: [a]\n", 1, "name", "want a single value"},
		{"scalar for struct", "server: 1\n", 1, "server", "want a mapping"},
		{"duplicate key", "name: a\nname: b\n", 2, "name", "duplicate key"},
		{"bad list item", "tags: [a, [b]]\n", 1, "tags[1]", "want a single value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c cfg
			err := configfile.Decode("nscale.yaml", []byte(tc.src), &c)
			var ce *configfile.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *configfile.Error", err)
			}
			if ce.Line != tc.line || ce.Key != tc.key || !strings.Contains(ce.Msg, tc.msg) {
				t.Fatalf("got line %d key %q msg %q; want line %d key %q msg containing %q", ce.Line, ce.Key, ce.Msg, tc.line, tc.key, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "nscale.yaml:") {
				t.Errorf("error %q does not start with the file name", err)
			}
		})
	}
}

func TestDecodeInvalidYAML(t *testing.T) {
	var c cfg
	err := configfile.Decode("x.yaml", []byte("a: [unclosed\n"), &c)
	if err == nil || !strings.Contains(err.Error(), "x.yaml") || !strings.Contains(err.Error(), "not valid YAML") {
		t.Fatalf("err = %v", err)
	}
}
