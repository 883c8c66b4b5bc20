// Package s3test starts a real S3-compatible server (versitygw over a
// temporary directory) for tests, and puts buckets and objects into it with
// the AWS SDK.
//
// The binary is looked up at $NSCALE_VERSITYGW, else
// ${NSCALE_CACHE:-$HOME/.cache/nscale}/bin/versitygw (`make tools` builds
// it). When it is missing the test is skipped — unless CI=true, where that
// is a failure.
package s3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Credentials and region every Server uses.
const (
	AccessKey = "nscaletestaccess"
	SecretKey = "nscale/test+secret/0123456789abcdefABCDEF"
	Region    = "us-east-1"
	// Version is the versitygw release the project pins.
	Version = "v1.8.0"
)

// Server is a running versitygw.
type Server struct {
	// Endpoint is "http://127.0.0.1:PORT". A pre-signed URL is bound to this
	// exact host:port; sign path-style URLs with Region.
	Endpoint  string
	AccessKey string
	SecretKey string
	Region    string
	// Dir is the directory the gateway serves (one sub-directory per bucket).
	Dir string
	// Client is an S3 client for the server (path-style, static credentials).
	Client *s3.Client

	log *syncBuffer
}

// BinaryPath returns where the versitygw binary is expected.
func BinaryPath() string {
	if p := os.Getenv("NSCALE_VERSITYGW"); p != "" {
		return p
	}
	cache := os.Getenv("NSCALE_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		cache = filepath.Join(home, ".cache", "nscale")
	}
	return filepath.Join(cache, "bin", "versitygw")
}

// Start starts versitygw on a free loopback port over a new temporary
// directory and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := BinaryPath()
	if msg, fail := missingBinary(bin); msg != "" {
		if fail {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	args := []string{"posix"}
	if !userXattrs(dir) {
		args = append(args, "--nometa")
	}
	var lastErr error
	for range 3 { // the free port can be taken between probe and bind
		s, err := start(t, bin, append(args, dir))
		if err == nil {
			s.Dir = dir
			return s
		}
		lastErr = err
	}
	t.Fatalf("s3test: start versitygw: %v", lastErr)
	return nil
}

// missingBinary explains a missing versitygw binary; fail is true under
// CI=true, where tests must not be skipped.
func missingBinary(bin string) (msg string, fail bool) {
	_, err := os.Stat(bin)
	if err == nil {
		return "", false
	}
	msg = fmt.Sprintf("s3test: versitygw not found at %s (%v); `make tools` builds it (go install github.com/versity/versitygw/cmd/versitygw@%s)", bin, err, Version)
	return msg, os.Getenv("CI") == "true"
}

func start(t testing.TB, bin string, backend []string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := append([]string{"--port", addr, "--access", AccessKey, "--secret", SecretKey, "--region", Region, "--quiet"}, backend...)
	cmd := exec.Command(bin, args...)
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	endpoint := "http://" + addr
	if err := waitReady(endpoint, exited); err != nil {
		stop()
		return nil, fmt.Errorf("%w; output: %s", err, log.String())
	}
	t.Cleanup(stop)
	s := &Server{Endpoint: endpoint, AccessKey: AccessKey, SecretKey: SecretKey, Region: Region, log: log}
	s.Client = NewClient(endpoint, AccessKey, SecretKey)
	return s, nil
}

// NewClient returns a path-style S3 client with static credentials for an
// S3-compatible endpoint.
func NewClient(endpoint, accessKey, secretKey string) *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		HTTPClient:   &http.Client{Timeout: 30 * time.Second},
	})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls until "/" answers (versitygw says 403 to an unsigned
// request) or the process exits; it gives up after 20s.
func waitReady(endpoint string, exited <-chan error) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("versitygw exited early: %v", err)
		default:
		}
		resp, err := client.Get(endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return errors.New("versitygw did not answer within 20s")
}

// Log returns what the server printed so far (for failure messages).
func (s *Server) Log() string { return s.log.String() }

// CreateBucket creates a bucket or fails the test.
func (s *Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("s3test: create bucket %q: %v", name, err)
	}
}

// PutObject stores data at bucket/key or fails the test.
func (s *Server) PutObject(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket),
		Key:    aws.String(key),
		Body:   bytes.NewReader(data),
	})
	if err != nil {
		t.Fatalf("s3test: put %s/%q: %v", bucket, key, err)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 1<<20 {
		return len(p), nil // keep at most ~1 MiB
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
