package store

import (
	"encoding/base64"
	"encoding/json"

	"github.com/nscale/nscale/internal/apierr"
)

// DefaultPageSize is the page size used when Page.PageSize is 0.
const DefaultPageSize = 100

// MaxPageSize is the largest page a List method returns.
const MaxPageSize = 1000

// Page asks a List method for one page. PageToken is empty for the first
// page and otherwise the token the previous page returned. Pages follow a
// key order, so rows added or removed between calls neither repeat nor shift
// the rest.
type Page struct {
	PageSize  int
	PageToken string
}

// limit is the validated page size.
func (p Page) limit() (int, error) {
	switch {
	case p.PageSize < 0:
		return 0, apierr.New(apierr.InvalidArgument, "page size %d is negative", p.PageSize)
	case p.PageSize == 0:
		return DefaultPageSize, nil
	case p.PageSize > MaxPageSize:
		return MaxPageSize, nil
	}
	return p.PageSize, nil
}

// pageToken is the opaque continuation: which list it belongs to and the
// key of the last row returned.
type pageToken struct {
	List string   `json:"l"`
	Key  []string `json:"k"`
}

func encodePageToken(list string, key ...string) string {
	b, _ := json.Marshal(pageToken{List: list, Key: key})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodePageToken returns the key in tok, nil for an empty token.
func decodePageToken(list, tok string, n int) ([]string, error) {
	if tok == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	var pt pageToken
	if err == nil {
		err = json.Unmarshal(b, &pt)
	}
	if err != nil || pt.List != list || len(pt.Key) != n {
		return nil, apierr.New(apierr.InvalidArgument, "invalid page token for the %s list", list)
	}
	return pt.Key, nil
}
