package schema

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/metadata"

	"github.com/nscale/nscale/internal/apierr"
)

// storedSchemas returns the decoded ARROW:schema values of files written
// with a stored schema.
func storedSchemas(t testing.TB) [][]byte {
	var out [][]byte
	for _, file := range append(fuzzSeeds(t), writeParquet(t, 3, 3, true)) {
		flen := int(binary.LittleEndian.Uint32(file[len(file)-8:]))
		md, err := metadata.NewFileMetaData(file[len(file)-8-flen:len(file)-8], nil)
		if err != nil {
			t.Fatal(err)
		}
		if v := md.KeyValueMetadata().FindValue(arrowSchemaKey); v != nil {
			raw, err := base64.StdEncoding.DecodeString(*v)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, raw)
		}
	}
	if len(out) < 2 {
		t.Fatalf("only %d stored schemas", len(out))
	}
	return out
}

func TestCheckArrowSchema(t *testing.T) {
	for _, raw := range storedSchemas(t) {
		if err := checkArrowSchema(base64.StdEncoding.EncodeToString(raw)); err != nil {
			t.Errorf("valid stored schema refused: %v", err)
		}
		if err := checkArrowSchema(base64.RawStdEncoding.EncodeToString(raw)); err != nil {
			t.Errorf("valid unpadded stored schema refused: %v", err)
		}
		huge := bytes.Clone(raw)
		binary.LittleEndian.PutUint32(huge[4:], 0x7fffffff) // metadata length
		if err := checkArrowSchema(base64.StdEncoding.EncodeToString(huge)); err == nil || !strings.Contains(err.Error(), "does not fit") {
			t.Errorf("2 GiB metadata length: %v", err)
		}
		for i := 8; i < len(raw); i++ { // flip each byte: never a panic
			bad := bytes.Clone(raw)
			bad[i] ^= 0xa5
			_ = checkArrowSchema(base64.StdEncoding.EncodeToString(bad))
		}
		// A huge length anywhere (a vector length, an offset) must be caught
		// before Arrow's reader sees it: for some positions it would
		// allocate hundreds of GB and die with "fatal error: runtime: out of
		// memory", which no recover catches.
		for i := 8; i+4 <= len(raw); i++ {
			for _, v := range []uint32{0x40000000, 0xfffffff0} {
				bad := bytes.Clone(raw)
				binary.LittleEndian.PutUint32(bad[i:], v)
				if checkArrowSchema(base64.StdEncoding.EncodeToString(bad)) != nil {
					continue
				}
				func() {
					defer func() { recover() }()
					flight.DeserializeSchema(bad, memory.NewGoAllocator())
				}()
			}
		}
	}
	for _, s := range []string{"", "!!!", "AAAA", base64.StdEncoding.EncodeToString([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})} {
		if err := checkArrowSchema(s); err == nil {
			t.Errorf("checkArrowSchema(%q) accepted", s)
		}
	}
}

// FuzzArrowSchema: whatever checkArrowSchema accepts, Arrow's IPC reader
// decodes without a panic, within the verifier's bounds. Seeds:
// testdata/fuzz/FuzzArrowSchema and the schemas stored by the test files.
func FuzzArrowSchema(f *testing.F) {
	for _, raw := range storedSchemas(f) {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if checkArrowSchema(base64.StdEncoding.EncodeToString(raw)) != nil {
			return
		}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Logf("Arrow panics on a verified schema (ReadFooter recovers): %v", p)
				}
			}()
			sc, err := flight.DeserializeSchema(raw, mem)
			if err == nil && sc.NumFields() > maxArrowNodes {
				t.Fatalf("%d fields", sc.NumFields())
			}
		}()
	})
}

// TestReadFooterHostileArrowSchema: a Parquet file whose stored Arrow
// schema claims a vector of a billion fields is refused, not decoded.
func TestReadFooterHostileArrowSchema(t *testing.T) {
	file := writeParquet(t, 3, 3, true)
	flen := int(binary.LittleEndian.Uint32(file[len(file)-8:]))
	md, err := metadata.NewFileMetaData(file[len(file)-8-flen:len(file)-8], nil)
	if err != nil {
		t.Fatal(err)
	}
	enc := *md.KeyValueMetadata().FindValue(arrowSchemaKey)
	raw, _ := base64.StdEncoding.DecodeString(enc)
	for i := 8; i+4 <= len(raw); i++ {
		bad := bytes.Clone(raw)
		binary.LittleEndian.PutUint32(bad[i:], 0x40000000)
		err := checkArrowSchema(base64.StdEncoding.EncodeToString(bad))
		if err == nil || !strings.Contains(err.Error(), "vector out of bounds") {
			continue
		}
		hostile := bytes.Replace(file, []byte(enc), []byte(base64.StdEncoding.EncodeToString(bad)), 1)
		if bytes.Equal(hostile, file) {
			t.Fatal("stored schema not found in the file")
		}
		_, err = ReadFooter(bytes.NewReader(hostile), int64(len(hostile)), "s3://b/t/x.parquet", FooterOptions{})
		if !apierr.Is(err, apierr.InvalidArgument) || !strings.Contains(err.Error(), "corrupt ARROW:schema metadata") {
			t.Errorf("hostile stored schema: %v", err)
		}
		return
	}
	t.Fatal("no vector length found to corrupt")
}
