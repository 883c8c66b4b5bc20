package presign

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Local signer URL shape:
//
//	<BaseURL>/blob/<escaped path>?X-Nscale-Expires=<unix seconds>&X-Nscale-Signature=<64 hex>
//
// The signature is HMAC-SHA256, keyed with the 32-byte key file, over
//
//	"nscale-blob-v1\n" + method + "\n" + path + "\n" + expires
//
// where path is the unescaped, slash-separated path below the table root and
// expires the decimal Unix time exactly as in the URL.
const (
	// BlobPrefix is the URL path under which FileServer must be mounted
	// (without http.StripPrefix): mux.Handle("GET /blob/", presign.FileServer(...)).
	BlobPrefix = "/blob/"
	// ParamExpires and ParamSignature are the local signer's query parameters.
	ParamExpires   = "X-Nscale-Expires"
	ParamSignature = "X-Nscale-Signature"
	// KeySize is the length of the local signer's HMAC key.
	KeySize = 32
	// MaxPathLen bounds a local path in bytes.
	MaxPathLen = 4096

	macDomain = "nscale-blob-v1\n"
)

// FileConfig configures a FileSigner.
type FileConfig struct {
	// BaseURL is where the control plane serves FileServer, e.g.
	// "https://cp.example.com:8443". It must be http or https with a host and
	// no query; a path prefix is allowed if a proxy strips it.
	BaseURL string
	// Key is the HMAC key (KeySize bytes), e.g. from LoadOrCreateKeyFile.
	// Every control-plane replica must use the same key.
	Key []byte
	// MaxTTL caps every URL's lifetime; 0 means DefaultMaxTTL (15 min).
	MaxTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// FileSigner signs URLs for files below a local table root, served by
// FileServer. Safe for concurrent use.
type FileSigner struct {
	base   string
	key    []byte
	maxTTL time.Duration
	now    func() time.Time
}

var _ Signer = (*FileSigner)(nil)

// NewFileSigner validates cfg and returns a signer.
func NewFileSigner(cfg FileConfig) (*FileSigner, error) {
	if len(cfg.Key) != KeySize {
		return nil, inputError(ErrInvalidConfig, "presign: local signer key must be "+strconv.Itoa(KeySize)+" bytes, got "+strconv.Itoa(len(cfg.Key)))
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || !endpointPathRE.MatchString(u.Path) {
		return nil, inputError(ErrInvalidEndpoint, "presign: local signer base URL "+strconv.Quote(cfg.BaseURL)+
			" is invalid: want http(s)://host[:port] with an optional plain path and no query")
	}
	maxTTL, err := validateMaxTTL(cfg.MaxTTL)
	if err != nil {
		return nil, err
	}
	s := &FileSigner{
		base:   u.Scheme + "://" + u.Host + strings.TrimSuffix(u.Path, "/"),
		key:    append([]byte(nil), cfg.Key...),
		maxTTL: maxTTL,
		now:    cfg.Now,
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// SignGet signs a GET of the file at obj.Key below the table root;
// obj.Bucket must be empty. See Signer.
func (s *FileSigner) SignGet(_ context.Context, obj Object, ttl time.Duration) (Signed, error) {
	if obj.Bucket != "" {
		return Signed{}, inputError(ErrInvalidBucket, "presign: the local file signer takes no bucket, got "+strconv.Quote(obj.Bucket))
	}
	if err := ValidateLocalPath(obj.Key); err != nil {
		return Signed{}, err
	}
	signedAt := s.now().UTC().Truncate(time.Second)
	secs, err := EffectiveTTL(ttl, s.maxTTL, signedAt, false, time.Time{}, 0)
	if err != nil {
		return Signed{}, err
	}
	exp := signedAt.Unix() + secs
	expStr := strconv.FormatInt(exp, 10)
	var mac [sha256.Size]byte
	blobMAC(&mac, s.key, http.MethodGet, obj.Key, expStr)
	var b strings.Builder
	b.Grow(len(s.base) + len(BlobPrefix) + 3*len(obj.Key) + 1 + len(ParamExpires) + 1 + len(expStr) + 1 + len(ParamSignature) + 1 + 2*len(mac))
	b.WriteString(s.base)
	b.WriteString(BlobPrefix)
	b.Write(appendPathEscape(make([]byte, 0, 3*len(obj.Key)), obj.Key))
	b.WriteString("?" + ParamExpires + "=")
	b.WriteString(expStr)
	b.WriteString("&" + ParamSignature + "=")
	var sig [2 * sha256.Size]byte
	hex.Encode(sig[:], mac[:])
	b.Write(sig[:])
	return Signed{URL: b.String(), Expires: time.Unix(exp, 0).UTC()}, nil
}

func blobMAC(dst *[sha256.Size]byte, key []byte, method, path, expires string) {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(macDomain))
	m.Write([]byte(method))
	m.Write([]byte{'\n'})
	m.Write([]byte(path))
	m.Write([]byte{'\n'})
	m.Write([]byte(expires))
	m.Sum(dst[:0])
}

// ValidateLocalPath checks a path for the local signer: non-empty, at most
// MaxPathLen bytes of UTF-8, relative, slash-separated, and free of empty,
// "." and ".." elements, backslashes and NUL bytes.
func ValidateLocalPath(p string) error {
	bad := func(why string) error {
		return inputError(ErrInvalidKey, "presign: local path "+strconv.Quote(p)+" is invalid: "+why)
	}
	switch {
	case p == "":
		return inputError(ErrInvalidKey, "presign: local path is empty")
	case len(p) > MaxPathLen:
		return inputError(ErrInvalidKey, "presign: local path is "+strconv.Itoa(len(p))+" bytes long: the limit is "+strconv.Itoa(MaxPathLen))
	case !utf8.ValidString(p):
		return inputError(ErrInvalidKey, "presign: local path is not valid UTF-8")
	case strings.ContainsAny(p, "\x00\\"):
		return bad("must not contain NUL or backslash")
	case p == "." || !fs.ValidPath(p):
		return bad(`must be relative and slash-separated without empty, "." or ".." elements`)
	}
	return nil
}

// verifyBlob checks a request for the local signer and returns the path it
// grants. It never says why a request failed: every failure is just false.
func verifyBlob(key []byte, method, urlPath, rawQuery string, now time.Time) (string, bool) {
	if method == http.MethodHead {
		method = http.MethodGet // a GET URL also allows HEAD
	}
	if method != http.MethodGet {
		return "", false
	}
	p, ok := strings.CutPrefix(urlPath, BlobPrefix)
	if !ok || ValidateLocalPath(p) != nil {
		return "", false
	}
	expStr, sigStr, ok := blobParams(rawQuery)
	if !ok {
		return "", false
	}
	exp, err := strconv.ParseInt(expStr, 10, 64)
	if err != nil || exp <= 0 || strconv.FormatInt(exp, 10) != expStr {
		return "", false
	}
	var want [sha256.Size]byte
	blobMAC(&want, key, method, p, expStr)
	var wantHex [2 * sha256.Size]byte
	hex.Encode(wantHex[:], want[:])
	if !hmac.Equal(wantHex[:], []byte(sigStr)) {
		return "", false
	}
	if now.Unix() > exp {
		return "", false
	}
	return p, true
}

// blobParams returns the two parameters of a local-signer query. Anything
// else — a missing, repeated or unknown parameter, or an escaped name —
// fails.
func blobParams(rawQuery string) (expires, sig string, ok bool) {
	var haveExp, haveSig bool
	for part := range strings.SplitSeq(rawQuery, "&") {
		name, value, found := strings.Cut(part, "=")
		if !found {
			return "", "", false
		}
		switch name {
		case ParamExpires:
			if haveExp {
				return "", "", false
			}
			expires, haveExp = value, true
		case ParamSignature:
			if haveSig {
				return "", "", false
			}
			sig, haveSig = value, true
		default:
			return "", "", false
		}
	}
	return expires, sig, haveExp && haveSig
}

// forbiddenBody is the one answer for every bad, tampered or expired URL.
const forbiddenBody = "forbidden: invalid or expired URL\n"

// FileServer returns the handler for local-signer URLs. Mount it at
// BlobPrefix without stripping the prefix. It verifies the signature (in
// constant time) and the expiry, answering 403 with the same body for every
// failure; refuses paths with "..", and symlinks that leave root (files are
// opened through os.Root); serves only regular files; and supports Range
// and HEAD through http.ServeContent. key must be KeySize bytes (it panics
// otherwise: load it with LoadKeyFile). now nil means time.Now.
func FileServer(root string, key []byte, now func() time.Time) http.Handler {
	if len(key) != KeySize {
		panic("presign: FileServer key must be " + strconv.Itoa(KeySize) + " bytes")
	}
	if now == nil {
		now = time.Now
	}
	return &fileServer{root: root, key: append([]byte(nil), key...), now: now}
}

type fileServer struct {
	root string
	key  []byte
	now  func() time.Time
}

func (h *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p, ok := verifyBlob(h.key, r.Method, r.URL.Path, r.URL.RawQuery, h.now())
	if !ok {
		http.Error(w, strings.TrimSuffix(forbiddenBody, "\n"), http.StatusForbidden)
		return
	}
	root, err := os.OpenRoot(h.root)
	if err != nil {
		http.Error(w, "table root unavailable", http.StatusServiceUnavailable)
		return
	}
	defer root.Close()
	// os.Root refuses ".." and any symlink that resolves outside root.
	f, err := root.Open(filepath.FromSlash(p))
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	// The ETag the control plane's listing recorded for the file: a reader
	// sending If-Match with the planned ETag gets 412 once it changed.
	w.Header().Set("ETag", `"`+LocalETag(fi.ModTime(), fi.Size())+`"`)
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// LocalETag is the ETag of a local file (without quotes): its modification
// time in nanoseconds and its size, in hex. Listing and serving use it
// alike, so a file rewritten since it was listed no longer matches.
func LocalETag(mod time.Time, size int64) string {
	return strconv.FormatInt(mod.UnixNano(), 16) + "-" + strconv.FormatInt(size, 16)
}

// GenerateKeyFile creates path (it must not exist) with a new random
// KeySize-byte key written as 64 hex digits and a newline, mode 0600, and
// returns the key.
func GenerateKeyFile(path string) ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("presign: create key file: %w", err)
	}
	_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("presign: write key file: %w", err)
	}
	return key, nil
}

// LoadKeyFile reads a key written by GenerateKeyFile: 64 hex digits
// (surrounding whitespace ignored) in a file not accessible by other users
// nor writable by its group.
func LoadKeyFile(path string) ([]byte, error) {
	data, err := readSecretFile(path, 1024)
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != KeySize {
		return nil, inputError(ErrInvalidConfig, "presign: key file "+path+" is not valid: want "+strconv.Itoa(2*KeySize)+" hex digits")
	}
	return key, nil
}

// LoadOrCreateKeyFile loads the key at path, creating it first if it does
// not exist.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	key, err := GenerateKeyFile(path)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return LoadKeyFile(path)
}
