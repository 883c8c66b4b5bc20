package s3test

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestStartPutGet(t *testing.T) {
	s := Start(t)
	s.CreateBucket(t, "s3test-bucket")
	want := []byte("hello, versitygw")
	s.PutObject(t, "s3test-bucket", "dir/a b+c.txt", want)
	out, err := s.Client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("s3test-bucket"), Key: aws.String("dir/a b+c.txt")})
	if err != nil {
		t.Fatalf("get: %v\n%s", err, s.Log())
	}
	defer out.Body.Close()
	got, err := io.ReadAll(out.Body)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("get = %q, %v; want %q", got, err, want)
	}
}

func TestBinaryPathHonoursEnv(t *testing.T) {
	t.Setenv("NSCALE_VERSITYGW", "")
	t.Setenv("NSCALE_CACHE", "/x/cache")
	if got, want := BinaryPath(), "/x/cache/bin/versitygw"; got != want {
		t.Fatalf("BinaryPath() = %q, want %q", got, want)
	}
	t.Setenv("NSCALE_VERSITYGW", "/opt/vgw")
	if got := BinaryPath(); got != "/opt/vgw" {
		t.Fatalf("BinaryPath() = %q, want /opt/vgw", got)
	}
}

func TestMissingBinary(t *testing.T) {
	missing := t.TempDir() + "/no-versitygw"
	t.Setenv("CI", "")
	msg, fail := missingBinary(missing)
	if fail || !strings.Contains(msg, "make tools") || !strings.Contains(msg, missing) {
		t.Fatalf("outside CI: missingBinary = %q, %v; want a skip message naming the path and `make tools`", msg, fail)
	}
	t.Setenv("CI", "true")
	if _, fail := missingBinary(missing); !fail {
		t.Fatal("under CI=true a missing versitygw must fail the test")
	}
	if msg, _ := missingBinary(os.Args[0]); msg != "" {
		t.Fatalf("existing binary reported missing: %q", msg)
	}
}
