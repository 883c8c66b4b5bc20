package presign

import (
	"context"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// fixedClockPresigner wraps the SDK's SigV4 presigner and replaces the
// signing time the SDK passes (its internal clock) with a fixed instant, so
// that the SDK and this package sign the same moment.
type fixedClockPresigner struct {
	inner *v4.Signer
	at    time.Time
}

func (p fixedClockPresigner) PresignHTTP(ctx context.Context, c aws.Credentials, r *http.Request, payloadHash, service, region string, _ time.Time, optFns ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return p.inner.PresignHTTP(ctx, c, r, payloadHash, service, region, p.at, optFns...)
}

// sdkCase is one input to both presigners.
type sdkCase struct {
	Region    string
	Endpoint  string
	PathStyle bool
	Creds     aws.Credentials
	Bucket    string
	Key       string
	At        time.Time
	TTL       time.Duration
}

// newSDKPresigner builds the reference: an s3.PresignClient configured like
// the case (region, endpoint, addressing, static credentials, fixed clock).
func newSDKPresigner(c sdkCase) *s3.PresignClient {
	creds := c.Creds
	opts := s3.Options{
		Region:       c.Region,
		UsePathStyle: c.PathStyle,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return creds, nil
		}),
	}
	if c.Endpoint != "" {
		opts.BaseEndpoint = aws.String(c.Endpoint)
	}
	client := s3.New(opts)
	return s3.NewPresignClient(client, func(o *s3.PresignOptions) {
		// The same signer options as s3's default (newDefaultV4Signer).
		o.Presigner = fixedClockPresigner{inner: v4.NewSigner(func(so *v4.SignerOptions) { so.DisableURIPathEscaping = true }), at: c.At}
	})
}

func sdkPresignURL(pc *s3.PresignClient, c sdkCase) (string, error) {
	out, err := pc.PresignGetObject(context.Background(), &s3.GetObjectInput{
		Bucket: aws.String(c.Bucket),
		Key:    aws.String(c.Key),
	}, s3.WithPresignExpires(c.TTL))
	if err != nil {
		return "", err
	}
	return out.URL, nil
}

// ourSigner builds this package's signer for the case (MaxTTL = 7 days so
// the requested TTL passes through unchanged, as in the SDK).
func ourSigner(c sdkCase) (*S3Signer, error) {
	creds := c.Creds
	return NewS3(S3Config{
		Region:    c.Region,
		Endpoint:  c.Endpoint,
		PathStyle: c.PathStyle,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return creds, nil
		}),
		MaxTTL: LimitTTL,
		Now:    func() time.Time { return c.At },
	})
}
