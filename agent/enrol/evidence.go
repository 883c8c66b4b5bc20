package enrol

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/nscale/nscale/internal/iidevidence"
)

// maxEvidence matches what the control plane accepts.
const maxEvidence = 64 << 10

// evidenceSource reads the method's evidence afresh on each enrolment
// (the kubelet rotates projected tokens; an operator may replace a join
// token file).
func evidenceSource(c Config) (func(context.Context) ([]byte, error), error) {
	switch c.Method {
	case JoinToken:
		return func(context.Context) ([]byte, error) { return readToken(c.JoinTokenFile, "join token") }, nil
	case Kubernetes:
		return func(context.Context) ([]byte, error) {
			return readToken(c.KubernetesTokenFile, "service-account token")
		}, nil
	case AWSIID:
		client := &http.Client{Timeout: 5 * time.Second}
		return func(ctx context.Context) ([]byte, error) {
			return imdsEvidence(ctx, client, strings.TrimRight(c.IMDSURL, "/"))
		}, nil
	}
	return nil, fmt.Errorf("control_plane.enrolment.method %q: want join_token, kubernetes or aws_iid", c.Method)
}

func readToken(path, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read the %s: %w", what, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxEvidence+1))
	if err != nil {
		return nil, fmt.Errorf("read the %s: %w", what, err)
	}
	if len(b) > maxEvidence {
		return nil, fmt.Errorf("the %s file %s is larger than %d KiB", what, path, maxEvidence>>10)
	}
	// Blank lines and # comments are skipped, so the output of
	// `nscalectl agents join-token create` (the token, then a comment) can
	// be the file as it is.
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	switch len(lines) {
	case 0:
		return nil, fmt.Errorf("the %s file %s is empty", what, path)
	case 1:
		return []byte(lines[0]), nil
	default:
		return nil, fmt.Errorf("the %s file %s holds %d lines; it must hold the token alone (# comments aside)", what, path, len(lines))
	}
}

// imdsEvidence reads the instance identity document and its RSA-2048
// PKCS7 signature with IMDSv2 (a session token first).
func imdsEvidence(ctx context.Context, client *http.Client, base string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+"/latest/api/token", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "60")
	tok, err := imdsDo(client, req)
	if err != nil {
		return nil, fmt.Errorf("IMDSv2 token: %w", err)
	}
	get := func(path string) ([]byte, error) {
		r, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return nil, err
		}
		r.Header.Set("X-aws-ec2-metadata-token", string(tok))
		return imdsDo(client, r)
	}
	doc, err := get("/latest/dynamic/instance-identity/document")
	if err != nil {
		return nil, fmt.Errorf("instance identity document: %w", err)
	}
	sig, err := get("/latest/dynamic/instance-identity/rsa2048")
	if err != nil {
		return nil, fmt.Errorf("instance identity signature: %w", err)
	}
	ev, err := iidevidence.FromIMDS(doc, sig)
	if err != nil {
		return nil, err
	}
	return ev.Marshal()
}

func imdsDo(client *http.Client, req *http.Request) ([]byte, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxEvidence+1))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, resp.Status)
	}
	if len(b) > maxEvidence {
		return nil, errors.New("answer too large")
	}
	return b, nil
}
