package agent

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/internal/configfile"
)

func validConfig() Config { return DefaultConfig() }

func TestNonLoopbackRefused(t *testing.T) {
	cases := []struct {
		listen string
		allow  bool
		ok     bool
	}{
		{"127.0.0.1:7443", false, true},
		{"[::1]:7443", false, true},
		{"localhost:7443", false, true},
		{"127.0.0.2:0", false, true},
		{"0.0.0.0:7443", false, false},
		{":7443", false, false},
		{"[::]:7443", false, false},
		{"10.0.0.5:7443", false, false},
		{"node1.internal:7443", false, false},
		{"0.0.0.0:7443", true, true},
		{"10.0.0.5:7443", true, true},
	}
	for _, tc := range cases {
		cfg := validConfig()
		cfg.Flight.Listen = OptionalHostPort(tc.listen)
		cfg.AllowNonLoopback = tc.allow
		err := cfg.Validate()
		if tc.ok != (err == nil) {
			t.Errorf("listen %s allow=%v: err = %v", tc.listen, tc.allow, err)
			continue
		}
		if err != nil && (!strings.Contains(err.Error(), "not a loopback address") || !strings.Contains(err.Error(), "--allow-non-loopback")) {
			t.Errorf("listen %s: error does not say why and what to do: %v", tc.listen, err)
		}
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		msg  string
	}{
		{"nothing to serve", func(c *Config) { c.Flight.Listen, c.Flight.Socket = "", "" }, "both empty"},
		{"no streams", func(c *Config) { c.Flight.MaxStreams = 0 }, "max_streams"},
		{"user quota above the limit", func(c *Config) { c.Flight.MaxStreamsPerUser = c.Flight.MaxStreams + 1 }, "flight.max_streams_per_user 17 must be between"},
		{"stall timeout too short", func(c *Config) { c.Flight.StallTimeout = 100 * time.Millisecond }, "flight.stall_timeout 100ms must be at least 1s"},
		{"no CA", func(c *Config) { c.ControlPlane.TLS.CAFile = "" }, "control_plane.tls.ca_file is required"},
		{"unknown enrolment method", func(c *Config) { c.ControlPlane.Enrolment.Method = "psk" }, `control_plane.enrolment.method "psk"`},
		{"join token without file", func(c *Config) { c.ControlPlane.Enrolment.JoinTokenFile = "" }, "join_token_file is required"},
		{"kubernetes without token file", func(c *Config) {
			c.ControlPlane.Enrolment.Method, c.ControlPlane.Enrolment.KubernetesTokenFile = "kubernetes", ""
		}, "kubernetes_token_file is required"},
		{"no timeout", func(c *Config) { c.ControlPlane.Timeout = 0 }, "control_plane.timeout"},
		{"no control plane", func(c *Config) { c.ControlPlane.Address = "" }, "control_plane.address"},
	}
	for _, tc := range cases {
		cfg := validConfig()
		tc.edit(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err = %v, want mention of %q", tc.name, err, tc.msg)
		}
	}
	cfg := validConfig()
	cfg.Flight.Listen = "" // socket only is fine
	if err := cfg.Validate(); err != nil {
		t.Errorf("socket only: %v", err)
	}
}

func TestDecodeFlightConfig(t *testing.T) {
	cfg := DefaultConfig()
	err := configfile.Decode("a.yaml", []byte(`
flight:
  listen: ""
  socket: /run/x/agent.sock
  socket_mode: "0600"
  max_streams: 4
  max_streams_per_user: 3
  stall_timeout: 90s
  admit_wait: 5s
control_plane:
  address: 10.1.2.3:7081
  timeout: 3s
  tls:
    ca_file: /etc/x/ca.crt
  enrolment:
    method: kubernetes
    kubernetes_token_file: /var/run/x/token
    state_dir: ""
`), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := FlightConfig{Listen: "", Socket: "/run/x/agent.sock", SocketMode: 0o600, MaxStreams: 4, MaxStreamsPerUser: 3, StallTimeout: 90 * time.Second, AdmitWait: 5 * time.Second, MemoryBudget: 512 << 20}
	if !reflect.DeepEqual(cfg.Flight, want) {
		t.Errorf("flight = %+v, want %+v", cfg.Flight, want)
	}
	def := DefaultConfig().ControlPlane.Enrolment
	def.Method, def.KubernetesTokenFile, def.StateDir = "kubernetes", "/var/run/x/token", ""
	if cfg.ControlPlane != (ControlPlaneConfig{Address: "10.1.2.3:7081", Timeout: 3 * time.Second, TLS: ClientTLS{CAFile: "/etc/x/ca.crt"}, Enrolment: def}) {
		t.Errorf("control_plane = %+v", cfg.ControlPlane)
	}

	bad := []struct{ yaml, key string }{
		{"flight:\n  socket_mode: \"999\"\n", "flight.socket_mode"},
		{"flight:\n  socket_mode: \"01777\"\n", "flight.socket_mode"},
		{"flight:\n  listen: nope\n", "flight.listen"},
		{"flight:\n  max_stream: 3\n", "flight.max_stream"},
		{"control_plane:\n  token_file: abc\n", "control_plane.token_file"},
		{"control_plane:\n  enrolment:\n    join_token: abc\n", "control_plane.enrolment.join_token"},
	}
	for _, b := range bad {
		cfg := DefaultConfig()
		err := configfile.Decode("a.yaml", []byte(b.yaml), &cfg)
		if err == nil || !strings.Contains(err.Error(), `"`+b.key+`"`) {
			t.Errorf("%q: err = %v, want one naming %s", b.yaml, err, b.key)
		}
	}
}
