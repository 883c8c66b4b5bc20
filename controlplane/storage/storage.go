// Package storage builds the control plane's access to object stores from
// its configuration: one set of credentials (the AWS default chain or a
// static key file), the S3 client used to list and inspect tables, and the
// signer that turns those credentials into pre-signed URLs. Only the control
// plane holds any of this.
package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/nscale/nscale/presign"
)

// Config is the `s3:` section of the control plane's configuration.
type Config struct {
	// Region signs requests; us-east-1 for most S3-compatible stores.
	Region string `yaml:"region"`
	// Endpoint of an S3-compatible store (http://host:port); empty is AWS.
	Endpoint string `yaml:"endpoint"`
	// PathStyle addresses buckets as host/bucket/key (S3-compatible stores).
	PathStyle bool `yaml:"path_style"`
	// CredentialsFile holds static keys (YAML access_key_id,
	// secret_access_key, session_token; mode 0600). Empty uses the AWS
	// default chain: env, shared files, EKS IRSA/Pod Identity, EC2 profile.
	CredentialsFile string `yaml:"credentials_file"`
	// Profile of the shared AWS config for the default chain.
	Profile string `yaml:"profile"`
	// MaxURLTTL caps every pre-signed URL's lifetime.
	MaxURLTTL time.Duration `yaml:"max_url_ttl"`
}

// DefaultConfig is AWS in us-east-1 with the default credential chain.
func DefaultConfig() Config {
	return Config{Region: "us-east-1", MaxURLTTL: presign.DefaultMaxTTL}
}

// Validate checks what can be checked without touching credentials.
func (c Config) Validate() error {
	var errs []error
	if c.Region == "" {
		errs = append(errs, errors.New("s3.region is required"))
	}
	if c.Endpoint != "" {
		if _, err := presign.ParseEndpoint(c.Endpoint); err != nil {
			errs = append(errs, fmt.Errorf("s3.endpoint: %w", err))
		}
	}
	if c.MaxURLTTL <= 0 || c.MaxURLTTL > presign.LimitTTL {
		errs = append(errs, fmt.Errorf("s3.max_url_ttl %s: want more than 0 and at most %s", c.MaxURLTTL, presign.LimitTTL))
	}
	return errors.Join(errs...)
}

// Storage holds the control plane's object-store access.
type Storage struct {
	cfg    Config
	creds  aws.CredentialsProvider
	client *s3.Client
	signer *presign.S3Signer
}

// New builds credentials, client and signer. Nothing is fetched from a
// credential source until first use, so start-up never waits on IMDS.
func New(ctx context.Context, cfg Config) (*Storage, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var creds aws.CredentialsProvider
	if cfg.CredentialsFile != "" {
		p, err := presign.LoadStaticCredentialsFile(cfg.CredentialsFile)
		if err != nil {
			return nil, fmt.Errorf("s3.credentials_file: %w", err)
		}
		creds = presign.NewCredentialsCache(p, 0, nil)
	} else {
		c, err := presign.LoadDefaultCredentials(ctx, presign.CredentialOptions{Profile: cfg.Profile, Region: cfg.Region})
		if err != nil {
			return nil, fmt.Errorf("s3 credentials: %w", err)
		}
		creds = c
	}
	signer, err := presign.NewS3(presign.S3Config{
		Region: cfg.Region, Endpoint: cfg.Endpoint, PathStyle: cfg.PathStyle,
		Credentials: creds, MaxTTL: cfg.MaxURLTTL,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 signer: %w", err)
	}
	client := s3.New(s3.Options{
		Region:       cfg.Region,
		Credentials:  creds,
		UsePathStyle: cfg.PathStyle,
		BaseEndpoint: optional(strings.TrimRight(cfg.Endpoint, "/")),
	})
	return &Storage{cfg: cfg, creds: creds, client: client, signer: signer}, nil
}

// S3 is the client for listing and ranged reads of table objects.
func (s *Storage) S3() *s3.Client { return s.client }

// Signer signs GET URLs for table objects.
func (s *Storage) Signer() *presign.S3Signer { return s.signer }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
