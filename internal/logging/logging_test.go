package logging_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/nscale/nscale/internal/logging"
)

func TestRedactorSeesStringsAndErrors(t *testing.T) {
	var buf bytes.Buffer
	redact := func(s string) string { return strings.ReplaceAll(s, "SECRET", "REDACTED") }
	log, err := logging.New(&buf, logging.Config{Level: "info", Format: "json"}, redact)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("msg", "url", "http://x/?sig=SECRET", logging.KeyError, errors.New("fetch SECRET failed"))
	out := buf.String()
	if strings.Contains(out, "SECRET") {
		t.Fatalf("secret leaked: %s", out)
	}
	if strings.Count(out, "REDACTED") != 2 {
		t.Fatalf("want two redactions: %s", out)
	}
}

func TestLevelsAndFormats(t *testing.T) {
	var buf bytes.Buffer
	log, err := logging.New(&buf, logging.Config{Level: "warn", Format: "text"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown")
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), "shown") {
		t.Fatalf("level filter wrong: %q", buf.String())
	}
	for _, c := range []logging.Config{{Level: "loud", Format: "json"}, {Level: "info", Format: "xml"}} {
		if _, err := logging.New(&buf, c, nil); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
