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
		return nil, cursor{list: list}.invalid()
	}
	return pt.Key, nil
}

// cursor is one List call's place in its list: how many rows it returns
// and the key of the previous page's last row (nil on the first page).
// Every List method pages the same way: open a cursor, query fetch() rows
// after the key in key order, and end the page, which drops the extra row
// and makes the next page's token from the last row's key.
type cursor struct {
	list  string
	limit int
	after []string
}

// open checks p for the list whose keys have n parts.
func (p Page) open(list string, n int) (cursor, error) {
	limit, err := p.limit()
	if err != nil {
		return cursor{}, err
	}
	after, err := decodePageToken(list, p.PageToken, n)
	if err != nil {
		return cursor{}, err
	}
	return cursor{list: list, limit: limit, after: after}, nil
}

// fetch is the LIMIT to query: one row more than the page tells whether
// another page follows.
func (c cursor) fetch() int { return c.limit + 1 }

// invalid is the error of a token whose key does not fit the list.
func (c cursor) invalid() error {
	return apierr.New(apierr.InvalidArgument, "invalid page token for the %s list", c.list)
}

// endPage trims rows fetched with c.fetch() to the page and returns the
// next page's token ("" after the last page).
func endPage[T any](c cursor, rows []T, key func(T) []string) ([]T, string) {
	if len(rows) <= c.limit {
		return rows, ""
	}
	rows = rows[:c.limit]
	return rows, encodePageToken(c.list, key(rows[c.limit-1])...)
}
