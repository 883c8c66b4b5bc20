package presign

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// benchCase is a typical control-plane signature: path-style custom
// endpoint, temporary credentials, a Hive-partitioned Parquet key.
func benchCase() sdkCase {
	return sdkCase{
		Region:   "us-east-1",
		Endpoint: "http://127.0.0.1:7070",
		Creds: aws.Credentials{
			AccessKeyID:     "ASIAEXAMPLEEXAMPLE12",
			SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			SessionToken:    "IQoJb3JpZ2luX2VjEXAMPLETOKEN+/=" + string(make([]byte, 0)) + "FwoGZXIvYXdzEBYaDHVzLWVhc3QtMSJHMEUCIQD6",
		},
		PathStyle: true,
		Bucket:    "analytics-lake",
		Key:       "warehouse/sales/dt=2024-05-06/region=eu west/part-00042-3f9c.snappy.parquet",
		At:        time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		TTL:       15 * time.Minute,
	}
}

func benchOurs(b *testing.B, c sdkCase) func() {
	s, err := ourSigner(c)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	obj := Object{Bucket: c.Bucket, Key: c.Key}
	return func() {
		if _, err := s.SignGet(ctx, obj, c.TTL); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSDK(b *testing.B, c sdkCase) func() {
	pc := newSDKPresigner(c)
	return func() {
		if _, err := sdkPresignURL(pc, c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignGet measures this package's S3 signer (URLs/s, allocs/op).
func BenchmarkSignGet(b *testing.B) {
	f := benchOurs(b, benchCase())
	b.ReportAllocs()
	for b.Loop() {
		f()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "urls/s")
}

// BenchmarkSignGetParallel is BenchmarkSignGet from GOMAXPROCS goroutines
// sharing one signer.
func BenchmarkSignGetParallel(b *testing.B) {
	f := benchOurs(b, benchCase())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f()
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "urls/s")
}

// BenchmarkSDKPresignGetObject measures aws-sdk-go-v2's s3.PresignClient
// for the same input.
func BenchmarkSDKPresignGetObject(b *testing.B) {
	f := benchSDK(b, benchCase())
	b.ReportAllocs()
	for b.Loop() {
		f()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "urls/s")
}

// BenchmarkVsSDK times both in the same run, alternating batches so that both
// see the same machine state, and reports x_vs_sdk = our URLs/s divided by
// the SDK's.
func BenchmarkVsSDK(b *testing.B) {
	c := benchCase()
	ours, sdk := benchOurs(b, c), benchSDK(b, c)
	const batch = 64
	var tOurs, tSDK time.Duration
	for b.Loop() {
		start := time.Now()
		for range batch {
			ours()
		}
		mid := time.Now()
		for range batch {
			sdk()
		}
		tOurs += mid.Sub(start)
		tSDK += time.Since(mid)
	}
	n := float64(b.N * batch)
	b.ReportMetric(n/tOurs.Seconds(), "urls/s")
	b.ReportMetric(n/tSDK.Seconds(), "sdk_urls/s")
	b.ReportMetric(tSDK.Seconds()/tOurs.Seconds(), "x_vs_sdk")
}
