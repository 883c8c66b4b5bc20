package storage_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/nscale/nscale/controlplane/storage"
	"github.com/nscale/nscale/internal/s3test"
	"github.com/nscale/nscale/presign"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*storage.Config)
		want   string
	}{
		{"no region", func(c *storage.Config) { c.Region = "" }, "s3.region"},
		{"bad endpoint", func(c *storage.Config) { c.Endpoint = "ftp://x" }, "s3.endpoint"},
		{"ttl too long", func(c *storage.Config) { c.MaxURLTTL = 8 * 24 * time.Hour }, "s3.max_url_ttl"},
		{"ttl zero", func(c *storage.Config) { c.MaxURLTTL = 0 }, "s3.max_url_ttl"},
	}
	for _, tc := range cases {
		c := storage.DefaultConfig()
		tc.mutate(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if err := storage.DefaultConfig().Validate(); err != nil {
		t.Errorf("default: %v", err)
	}
}

// With a static key file, the client lists and the signer signs against a
// real S3-compatible server.
func TestStaticCredentialsAgainstVersitygw(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "lake")
	srv.PutObject(t, "lake", "t/dt=2024-01-01/a.parquet", []byte("PAR1 data"))

	keyFile := filepath.Join(t.TempDir(), "keys.yaml")
	body := "access_key_id: " + srv.AccessKey + "\nsecret_access_key: " + srv.SecretKey + "\n"
	if err := os.WriteFile(keyFile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := storage.New(context.Background(), storage.Config{
		Region: srv.Region, Endpoint: srv.Endpoint, PathStyle: true, CredentialsFile: keyFile, MaxURLTTL: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := st.S3().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("lake")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "t/dt=2024-01-01/a.parquet" {
		t.Fatalf("listing = %+v", out.Contents)
	}
	signed, err := st.Signer().SignGet(context.Background(), presign.Object{Bucket: "lake", Key: "t/dt=2024-01-01/a.parquet"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(signed.Expires); d > time.Minute+time.Second {
		t.Errorf("URL lives %s, more than s3.max_url_ttl", d)
	}
	resp, err := http.Get(signed.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "PAR1 data" {
		t.Fatalf("GET %d %q", resp.StatusCode, b)
	}

	// A world-readable key file is refused.
	_ = os.Chmod(keyFile, 0o644)
	if _, err := storage.New(context.Background(), storage.Config{Region: "us-east-1", CredentialsFile: keyFile, MaxURLTTL: time.Minute}); err == nil {
		t.Error("a world-readable credentials file was accepted")
	}
}
