// Package apiclient is a small client of the REST admin API, used by
// nscalectl and tests. Every failure becomes one *Error whose text is a
// single line fit for a terminal.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nscale/nscale/controlplane/apitypes"
	"github.com/nscale/nscale/internal/tlsfiles"
)

// Client talks to one control plane.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// New parses server (e.g. http://127.0.0.1:7080) and returns a client. An
// https server is verified against the CA bundle in caFile, or the system
// roots when caFile is empty; verification is never skipped.
func New(server, token string, timeout time.Duration, caFile string) (*Client, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid --server %q: want http(s)://host:port", server)
	}
	c := &Client{base: u, token: token, http: &http.Client{Timeout: timeout}}
	if caFile != "" {
		if u.Scheme != "https" {
			return nil, fmt.Errorf("--ca-file is for an https:// --server; %s is plaintext", server)
		}
		tc, err := tlsfiles.ClientConfig(caFile, "")
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tc
		c.http.Transport = tr
	}
	return c, nil
}

// Error is a failed call. Code is the API's error code, or "" when the server
// never gave one (unreachable, not JSON).
type Error struct {
	Code      string
	Message   string
	RequestID string
	Status    int
}

func (e *Error) Error() string {
	s := e.Message
	if e.Code != "" {
		s = e.Code + ": " + s
	}
	if e.RequestID != "" && !strings.Contains(s, e.RequestID) {
		s += " (request id " + e.RequestID + ")"
	}
	return s
}

// Status calls GET /api/v1/status.
func (c *Client) Status(ctx context.Context, detail bool) (*apitypes.Status, error) {
	q := url.Values{}
	if detail {
		q.Set("detail", "true")
	}
	var st apitypes.Status
	if err := c.get(ctx, "/api/v1/status", q, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// SQL runs DDL/DCL statements with POST /api/v1/sql.
func (c *Client) SQL(ctx context.Context, sql string) ([]apitypes.SQLResult, error) {
	var resp apitypes.SQLResponse
	if err := c.do(ctx, http.MethodPost, "/api/v1/sql", nil, apitypes.SQLRequest{SQL: sql}, &resp); err != nil {
		return nil, err
	}
	return resp.Results, nil
}

func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	return c.do(ctx, http.MethodGet, path, q, nil, out)
}

// Do calls any endpoint: in (if not nil) is sent as JSON, the answer is
// decoded into out (if not nil). Path segments must already be escaped.
func (c *Client) Do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	return c.do(ctx, method, path, q, in, out)
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	u := c.base.JoinPath(path)
	u.RawQuery = q.Encode()
	var reqBody io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return &Error{Message: err.Error()}
		}
		reqBody = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), reqBody)
	if err != nil {
		return &Error{Message: err.Error()}
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return &Error{Message: fmt.Sprintf("cannot reach the control plane at %s: %s", c.base, reason(err))}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return &Error{Message: fmt.Sprintf("reading the answer from %s: %s", c.base, reason(err)), Status: resp.StatusCode}
	}
	if resp.StatusCode == http.StatusNoContent {
		return nil
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if ct != "application/json" {
		return &Error{Status: resp.StatusCode, Message: fmt.Sprintf(
			"%s did not answer like an nscale control plane: HTTP %d with content type %q, not JSON", c.base, resp.StatusCode, ct)}
	}
	if resp.StatusCode/100 != 2 {
		var e apitypes.Error
		if err := json.Unmarshal(body, &e); err != nil || e.Code == "" {
			return &Error{Status: resp.StatusCode, Message: fmt.Sprintf("HTTP %d from %s with an unreadable error body", resp.StatusCode, c.base)}
		}
		return &Error{Code: e.Code, Message: e.Message, RequestID: e.RequestID, Status: resp.StatusCode}
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &Error{Status: resp.StatusCode, Message: fmt.Sprintf("%s sent JSON this nscalectl cannot read: %v", c.base, err)}
	}
	return nil
}

// reason shortens a transport error to its cause: url.Error repeats the
// whole URL, which is noise on a terminal.
func reason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var sys *os.SyscallError
	if errors.As(err, &sys) {
		return sys.Err.Error()
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return err.Error()
}
