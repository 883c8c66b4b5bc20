package configfile_test

import (
	"testing"

	"github.com/nscale/nscale/internal/configfile"
)

// FuzzDecode checks that no input panics the strict decoder and that every
// rejection is a located *configfile.Error.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"", "name: a\n", "server:\n  listen: 127.0.0.1:1\n  timeout: 3s\n", "tags: [a, b]\n", "labels: {a: b}\n", "&a x: *a\n", "server: [1, 2]\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c cfg
		err := configfile.Decode("f.yaml", data, &c)
		if err == nil {
			return
		}
		if _, ok := err.(*configfile.Error); !ok {
			t.Fatalf("error of type %T: %v", err, err)
		}
	})
}
