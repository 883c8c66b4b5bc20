package ebpf

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/nscale/nscale/internal/apierr"
)

func TestInstallOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts InstallOptions
		err  string
	}{
		{"no cgroup", InstallOptions{Port: 7443}, "cgroup v2 path is required"},
		{"relative cgroup", InstallOptions{CgroupPath: "unified", Port: 7443}, "not absolute"},
		{"relative pin dir", InstallOptions{CgroupPath: "/sys/fs/cgroup", PinDir: "bpf", Port: 7443}, "not absolute"},
		{"no port", InstallOptions{CgroupPath: "/sys/fs/cgroup"}, "port must not be 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.opts.validate()
			if !apierr.Is(err, apierr.InvalidArgument) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("validate: %v, want InvalidArgument containing %q", err, tc.err)
			}
			if err := Install(tc.opts); !apierr.Is(err, apierr.InvalidArgument) {
				t.Errorf("Install: %v, want InvalidArgument", err)
			}
		})
	}
	o, err := InstallOptions{CgroupPath: "/sys/fs/cgroup/x/", Port: 1}.validate()
	if err != nil || o.PinDir != DefaultPinDir || o.CgroupPath != "/sys/fs/cgroup/x" {
		t.Errorf("validate defaults: %+v, %v", o, err)
	}
}

func TestEnabledGauge(t *testing.T) {
	on := false
	g := NewEnabledGauge(func() bool { return on })
	if v := testutil.ToFloat64(g); v != 0 {
		t.Errorf("disabled: %v", v)
	}
	on = true
	if v := testutil.ToFloat64(g); v != 1 {
		t.Errorf("enabled: %v", v)
	}
	if v := testutil.ToFloat64(NewEnabledGauge(nil)); v != 0 {
		t.Errorf("nil func: %v", v)
	}
}
