package presign

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// MaxKeyLen is the longest S3 object key in bytes.
const MaxKeyLen = 1024

// S3Config configures an S3Signer.
type S3Config struct {
	// Region is the signing region, e.g. "us-east-1". Without an Endpoint it
	// must look like an AWS region ("us-east-1", "us-gov-west-1",
	// "cn-north-1"); with an Endpoint any DNS label is accepted ("auto",
	// "garage").
	Region string
	// Endpoint is an S3-compatible server, e.g. "http://127.0.0.1:7070" or
	// "https://minio.example.com/prefix". Empty means AWS:
	// https://s3.<region>.<partition DNS suffix>.
	Endpoint string
	// PathStyle forces path-style URLs (https://host/bucket/key). Otherwise
	// the bucket goes into the host name (https://bucket.host/key) when the
	// AWS SDK would put it there: not for IP endpoints, nor for buckets that
	// are not valid host names (for https, buckets with dots).
	// S3-compatible stores usually need PathStyle.
	PathStyle bool
	// Credentials sign the URLs. A provider that is not a *CredentialsCache
	// is wrapped in one (NewCredentialsCache with DefaultRefreshBefore).
	Credentials aws.CredentialsProvider
	// MaxTTL caps every URL's lifetime; 0 means DefaultMaxTTL (15 min).
	MaxTTL time.Duration
	// CredentialMargin: every URL expires at least this long before the
	// credentials do; 0 means DefaultCredentialMargin (1 min).
	CredentialMargin time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// S3Signer signs SigV4 query ("pre-signed") GetObject URLs, byte-identical
// to aws-sdk-go-v2's s3.PresignClient.PresignGetObject for the same inputs
// and signing time, including its x-id=GetObject parameter. Safe for
// concurrent use.
type S3Signer struct {
	region    string
	regionEsc string // query-escaped region
	scheme    string
	authority string // host[:port] as in the endpoint URL
	sigAuth   string // authority as signed (default port stripped)
	basePath  string // endpoint path without trailing slash ("" or "/p")
	isIP      bool
	custom    bool
	pathStyle bool

	creds  aws.CredentialsProvider
	maxTTL time.Duration
	margin time.Duration
	now    func() time.Time

	key  atomic.Pointer[signingKey]
	pool sync.Pool
}

var _ Signer = (*S3Signer)(nil)

// NewS3 validates cfg and returns a signer.
func NewS3(cfg S3Config) (*S3Signer, error) {
	s := &S3Signer{region: cfg.Region, pathStyle: cfg.PathStyle, now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.Credentials == nil {
		return nil, inputError(ErrInvalidConfig, "presign: S3 signer needs a credentials provider")
	}
	if c, ok := cfg.Credentials.(*CredentialsCache); ok {
		s.creds = c
	} else {
		s.creds = NewCredentialsCache(cfg.Credentials, 0, s.now)
	}
	var err error
	if s.maxTTL, err = validateMaxTTL(cfg.MaxTTL); err != nil {
		return nil, err
	}
	s.margin = cfg.CredentialMargin
	switch {
	case s.margin == 0:
		s.margin = DefaultCredentialMargin
	case s.margin < 0 || s.margin >= LimitTTL:
		return nil, inputError(ErrInvalidConfig, "presign: CredentialMargin "+s.margin.String()+" is invalid: must be positive and below 7 days")
	}
	if cfg.Endpoint == "" {
		if err := validateAWSRegion(cfg.Region); err != nil {
			return nil, err
		}
		s.scheme = "https"
		s.authority = "s3." + cfg.Region + "." + dnsSuffix(cfg.Region)
		s.sigAuth = s.authority
	} else {
		if err := validateCustomRegion(cfg.Region); err != nil {
			return nil, err
		}
		ep, err := ParseEndpoint(cfg.Endpoint)
		if err != nil {
			return nil, err
		}
		s.custom = true
		s.scheme, s.authority, s.basePath, s.isIP = ep.Scheme, ep.Authority, ep.BasePath, ep.IsIP
		s.sigAuth = sanitizeHost(s.scheme, s.authority)
	}
	s.regionEsc = string(appendQueryEscape(nil, cfg.Region))
	s.pool.New = func() any {
		return &scratch{buf: make([]byte, 0, 1024), sts: make([]byte, 0, 256), sha: sha256.New()}
	}
	return s, nil
}

// SignGet signs a GET of s3://obj.Bucket/obj.Key. See Signer.
func (s *S3Signer) SignGet(ctx context.Context, obj Object, ttl time.Duration) (Signed, error) {
	if err := ValidateBucket(obj.Bucket); err != nil {
		return Signed{}, err
	}
	if err := validateKey(obj.Key); err != nil {
		return Signed{}, err
	}
	creds, err := s.creds.Retrieve(ctx)
	if err != nil {
		if errors.Is(err, ErrCredentials) {
			return Signed{}, err
		}
		return Signed{}, credError("presign: retrieve credentials", err)
	}
	signedAt := s.now().UTC().Truncate(time.Second)
	secs, err := EffectiveTTL(ttl, s.maxTTL, signedAt, creds.CanExpire, creds.Expires, s.margin)
	if err != nil {
		return Signed{}, err
	}
	u := s.sign(&creds, obj.Bucket, obj.Key, signedAt, secs)
	return Signed{URL: u, Expires: signedAt.Add(time.Duration(secs) * time.Second)}, nil
}

// scratch is per-call working memory, pooled so that a signature costs no
// allocation besides the returned URL.
type scratch struct {
	buf  []byte // canonical request
	sts  []byte // string to sign
	sum  [sha256.Size]byte
	mac  [sha256.Size]byte
	date [16]byte // X-Amz-Date; the first 8 bytes are the scope date
	sha  hash.Hash
	hm   hash.Hash
	hmOf *signingKey
}

// signingKey is a derived SigV4 key for one (date, region, service, access
// key) — region and service ("s3") are fixed per signer.
type signingKey struct {
	date   [8]byte
	akid   string
	secret string
	key    []byte
}

func (s *S3Signer) signingKeyFor(c *aws.Credentials, date []byte) *signingKey {
	if k := s.key.Load(); k != nil && string(k.date[:]) == string(date) && k.akid == c.AccessKeyID && k.secret == c.SecretAccessKey {
		return k
	}
	k := &signingKey{akid: c.AccessKeyID, secret: c.SecretAccessKey}
	copy(k.date[:], date)
	h := hmacSHA256([]byte("AWS4"+c.SecretAccessKey), date)
	h = hmacSHA256(h, []byte(s.region))
	h = hmacSHA256(h, []byte("s3"))
	k.key = hmacSHA256(h, []byte("aws4_request"))
	s.key.Store(k)
	return k
}

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

const (
	queryHead   = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
	credTail    = "%2Fs3%2Faws4_request&X-Amz-Date="
	queryTail   = "&X-Amz-SignedHeaders=host&x-id=GetObject"
	sigParam    = "&X-Amz-Signature="
	scopeSuffix = "/s3/aws4_request\n"
)

func (s *S3Signer) sign(c *aws.Credentials, bucket, key string, t time.Time, secs int64) string {
	sc := s.pool.Get().(*scratch)
	defer s.pool.Put(sc)

	date := &sc.date
	formatAmzDate(date, t)
	virtual := s.virtualHost(bucket)

	// Canonical request.
	b := append(sc.buf[:0], "GET\n"...)
	uriStart := len(b)
	b = append(b, s.basePath...)
	if !virtual {
		b = append(b, '/')
		b = append(b, bucket...) // valid bucket names need no escaping
	}
	b = append(b, '/')
	b = appendPathEscape(b, key)
	uriEnd := len(b)
	b = append(b, '\n')
	qStart := len(b)
	b = append(b, queryHead...)
	b = appendQueryEscape(b, c.AccessKeyID)
	b = append(b, "%2F"...)
	b = append(b, date[:8]...)
	b = append(b, "%2F"...)
	b = append(b, s.regionEsc...)
	b = append(b, credTail...)
	b = append(b, date[:]...)
	b = append(b, "&X-Amz-Expires="...)
	b = strconv.AppendInt(b, secs, 10)
	if c.SessionToken != "" {
		b = append(b, "&X-Amz-Security-Token="...)
		b = appendQueryEscape(b, c.SessionToken)
	}
	b = append(b, queryTail...)
	qEnd := len(b)
	b = append(b, "\nhost:"...)
	if virtual {
		b = append(b, bucket...)
		b = append(b, '.')
	}
	b = append(b, s.sigAuth...)
	b = append(b, "\n\nhost\nUNSIGNED-PAYLOAD"...)
	sc.buf = b

	sc.sha.Reset()
	sc.sha.Write(b)
	crHash := sc.sha.Sum(sc.sum[:0])

	// String to sign.
	st := append(sc.sts[:0], "AWS4-HMAC-SHA256\n"...)
	st = append(st, date[:]...)
	st = append(st, '\n')
	st = append(st, date[:8]...)
	st = append(st, '/')
	st = append(st, s.region...)
	st = append(st, scopeSuffix...)
	st = hex.AppendEncode(st, crHash)
	sc.sts = st

	k := s.signingKeyFor(c, date[:8])
	if sc.hmOf != k {
		sc.hm = hmac.New(sha256.New, k.key)
		sc.hmOf = k
	}
	sc.hm.Reset()
	sc.hm.Write(st)
	mac := sc.hm.Sum(sc.mac[:0])
	var sig [2 * sha256.Size]byte
	hex.Encode(sig[:], mac)

	// URL: scheme://[bucket.]authority + URI + ? + query + signature.
	var u strings.Builder
	n := len(s.scheme) + 3 + len(s.authority) + (uriEnd - uriStart) + 1 + (qEnd - qStart) + len(sigParam) + len(sig)
	if virtual {
		n += len(bucket) + 1
	}
	u.Grow(n)
	u.WriteString(s.scheme)
	u.WriteString("://")
	if virtual {
		u.WriteString(bucket)
		u.WriteByte('.')
	}
	u.WriteString(s.authority)
	u.Write(b[uriStart:uriEnd])
	u.WriteByte('?')
	u.Write(b[qStart:qEnd])
	u.WriteString(sigParam)
	u.Write(sig[:])
	return u.String()
}

// virtualHost reports whether bucket goes into the host name, following the
// SDK's S3 endpoint rules: a bucket that is a single host label goes into the
// host; a dotted bucket whose labels are all 3-63 characters goes into the
// host only over plain http to a custom endpoint (https certificates do not
// cover nested names).
//
// One deliberate difference: an IP-address endpoint is always path-style.
// The SDK also does that for single-label buckets, but for a dotted bucket
// over http it prepends the bucket to the IP address
// (http://a.b.127.0.0.1:7070/key), a name that never resolves, and for an
// IPv6 endpoint it fails. The golden test pins this difference.
func (s *S3Signer) virtualHost(bucket string) bool {
	if s.pathStyle || s.isIP {
		return false
	}
	if virtualHostable(bucket, false) {
		return true
	}
	return s.custom && s.scheme == "http" && virtualHostable(bucket, true)
}

// virtualHostable mirrors awsrulesfn.IsVirtualHostableS3Bucket for names
// that already passed ValidateBucket (lowercase, no IP).
func virtualHostable(bucket string, allowDots bool) bool {
	if !allowDots {
		return strings.IndexByte(bucket, '.') < 0 // length 3-63 already checked
	}
	for label := range strings.SplitSeq(bucket, ".") {
		if len(label) < 3 || len(label) > 63 {
			return false
		}
	}
	return true
}

func formatAmzDate(d *[16]byte, t time.Time) {
	y, mo, day := t.Date()
	h, mi, sec := t.Clock()
	put := func(i, v, w int) {
		for j := w - 1; j >= 0; j-- {
			d[i+j] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, y, 4)
	put(4, int(mo), 2)
	put(6, day, 2)
	d[8] = 'T'
	put(9, h, 2)
	put(11, mi, 2)
	put(13, sec, 2)
	d[15] = 'Z'
}

const upperHex = "0123456789ABCDEF"

// unreserved reports the RFC 3986 unreserved characters, the only ones
// SigV4 leaves unescaped.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// appendQueryEscape escapes like url.QueryEscape with spaces as %20, which
// is what SigV4 and the SDK use for query values.
func appendQueryEscape(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return b
}

// appendPathEscape escapes an object key for the URI path: like
// appendQueryEscape but keeping '/'.
func appendPathEscape(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || c == '/' {
			b = append(b, c)
		} else {
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return b
}

// ValidateBucket checks an S3 general-purpose bucket name against the AWS
// naming rules and returns an error naming the broken rule.
func ValidateBucket(b string) error {
	bad := func(why string) error {
		return inputError(ErrInvalidBucket, "presign: bucket name "+strconv.Quote(b)+" is invalid: "+why)
	}
	if b == "" {
		return inputError(ErrInvalidBucket, "presign: bucket name is empty")
	}
	if len(b) < 3 || len(b) > 63 {
		return bad("must be 3-63 characters of lowercase letters, digits, dots and hyphens")
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return bad("must be 3-63 characters of lowercase letters, digits, dots and hyphens")
		}
	}
	if alnum := func(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }; !alnum(b[0]) || !alnum(b[len(b)-1]) {
		return bad("must begin and end with a lowercase letter or digit")
	}
	if strings.Contains(b, "..") {
		return bad("must not contain two adjacent dots")
	}
	if looksLikeIPv4(b) {
		return bad("must not be formatted as an IP address")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(b, p) {
			return bad("must not start with the reserved prefix " + strconv.Quote(p))
		}
	}
	for _, sfx := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3", "--op-s3"} {
		if strings.HasSuffix(b, sfx) {
			return bad("must not end with the reserved suffix " + strconv.Quote(sfx))
		}
	}
	return nil
}

// looksLikeIPv4 reports four dot-separated groups of digits (bucket names
// cannot hold the colons of an IPv6 address).
func looksLikeIPv4(b string) bool {
	groups := 0
	for g := range strings.SplitSeq(b, ".") {
		if g == "" || strings.Trim(g, "0123456789") != "" {
			return false
		}
		groups++
	}
	return groups == 4
}

func validateKey(k string) error {
	switch {
	case k == "":
		return inputError(ErrInvalidKey, "presign: object key is empty")
	case len(k) > MaxKeyLen:
		return inputError(ErrInvalidKey, "presign: object key is "+strconv.Itoa(len(k))+" bytes long: the S3 limit is 1024")
	case !utf8.ValidString(k):
		return inputError(ErrInvalidKey, "presign: object key is not valid UTF-8")
	}
	return nil
}

var (
	awsRegionRE    = regexp.MustCompile(`^[a-z]{2,4}(-[a-z]+){1,2}-[0-9]{1,2}$`)
	customRegionRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

func validateAWSRegion(r string) error {
	if r == "" {
		return inputError(ErrInvalidRegion, "presign: region is empty")
	}
	if !awsRegionRE.MatchString(r) {
		return inputError(ErrInvalidRegion, "presign: region "+strconv.Quote(r)+" is invalid: an AWS region looks like us-east-1, eu-central-2 or us-gov-west-1")
	}
	return nil
}

func validateCustomRegion(r string) error {
	if r == "" {
		return inputError(ErrInvalidRegion, "presign: region is empty")
	}
	if !customRegionRE.MatchString(r) {
		return inputError(ErrInvalidRegion, "presign: region "+strconv.Quote(r)+" is invalid: must be 1-63 lowercase letters, digits and hyphens (e.g. us-east-1)")
	}
	return nil
}

// partitions mirrors the AWS SDK's partition table (regex -> DNS suffix),
// checked in the SDK's order; unmatched regions fall back to "aws".
var partitions = []struct {
	re     *regexp.Regexp
	suffix string
}{
	{regexp.MustCompile(`^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$`), "amazonaws.com"},
	{regexp.MustCompile(`^cn\-\w+\-\d+$`), "amazonaws.com.cn"},
	{regexp.MustCompile(`^eusc\-(de)\-\w+\-\d+$`), "amazonaws.eu"},
	{regexp.MustCompile(`^us\-iso\-\w+\-\d+$`), "c2s.ic.gov"},
	{regexp.MustCompile(`^us\-isob\-\w+\-\d+$`), "sc2s.sgov.gov"},
	{regexp.MustCompile(`^eu\-isoe\-\w+\-\d+$`), "cloud.adc-e.uk"},
	{regexp.MustCompile(`^us\-isof\-\w+\-\d+$`), "csp.hci.ic.gov"},
	{regexp.MustCompile(`^us\-gov\-\w+\-\d+$`), "amazonaws.com"},
}

func dnsSuffix(region string) string {
	for _, p := range partitions {
		if p.re.MatchString(region) {
			return p.suffix
		}
	}
	return "amazonaws.com"
}

// Endpoint is a parsed custom S3 endpoint.
type Endpoint struct {
	Scheme    string // "http" or "https"
	Authority string // host[:port] exactly as written
	BasePath  string // "" or "/a/b" (no trailing slash)
	IsIP      bool   // the host is an IP address (forces path-style)
}

var endpointPathRE = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)*/?$`)

// ParseEndpoint validates an S3-compatible endpoint URL: http or https, a
// host (DNS name or IP literal) with an optional port, optionally a path of
// unreserved characters, and nothing else (no user info, query or fragment).
func ParseEndpoint(raw string) (Endpoint, error) {
	bad := func(why string) (Endpoint, error) {
		return Endpoint{}, inputError(ErrInvalidEndpoint, "presign: endpoint "+strconv.Quote(raw)+" is invalid: "+why)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return bad("scheme must be http or https")
	}
	if u.Opaque != "" || u.Host == "" {
		return bad("missing host (want e.g. http://127.0.0.1:7070)")
	}
	if u.User != nil {
		return bad("must not contain user info; use credentials instead")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(raw, "?#") {
		return bad("must not contain a query or fragment")
	}
	if !endpointPathRE.MatchString(u.Path) || u.RawPath != "" {
		return bad("path may only contain letters, digits and -._~ segments")
	}
	host, port := u.Hostname(), u.Port()
	if strings.HasSuffix(u.Host, ":") {
		return bad("empty port")
	}
	if port != "" {
		p, err := strconv.Atoi(port)
		if err != nil || p < 1 || p > 65535 || port[0] == '0' {
			return bad("port must be 1-65535")
		}
	}
	ep := Endpoint{Scheme: u.Scheme, Authority: u.Host, BasePath: strings.TrimSuffix(u.Path, "/")}
	switch {
	case strings.HasPrefix(u.Host, "["):
		ip := net.ParseIP(host)
		if ip == nil || ip.To4() != nil && !strings.Contains(host, ":") || strings.Contains(host, "%") {
			return bad("bad IPv6 literal (zones are not supported)")
		}
		ep.IsIP = true
	case net.ParseIP(host) != nil:
		if strings.Contains(host, ":") {
			return bad("IPv6 addresses must be in brackets")
		}
		ep.IsIP = true
	default:
		if !validHostname(host) {
			return bad("host must be a DNS name of letters, digits, hyphens and dots, or an IP address")
		}
	}
	return ep, nil
}

func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// sanitizeHost mirrors the SDK's SanitizeHostForHeader: the default port of
// the scheme is dropped from the signed host (and IPv6 brackets with it).
func sanitizeHost(scheme, hostport string) string {
	port := portOnly(hostport)
	if port != "" && (scheme == "http" && port == "80" || scheme == "https" && port == "443") {
		colon := strings.IndexByte(hostport, ':')
		if i := strings.IndexByte(hostport, ']'); i != -1 {
			return strings.TrimPrefix(hostport[:i], "[")
		}
		return hostport[:colon]
	}
	return hostport
}

func portOnly(hostport string) string {
	colon := strings.IndexByte(hostport, ':')
	if colon == -1 {
		return ""
	}
	if i := strings.Index(hostport, "]:"); i != -1 {
		return hostport[i+len("]:"):]
	}
	if strings.Contains(hostport, "]") {
		return ""
	}
	return hostport[colon+len(":"):]
}
