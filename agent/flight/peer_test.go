package flight

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/nscale/nscale/agent/peer"
)

// A local caller outside the allow-list is refused before its token is
// looked at, over TCP and the unix socket, named by its uid and counted;
// an allowed one reads, and its uid reaches the task report.
func TestPeerAllowList(t *testing.T) {
	me := os.Getuid()
	other, err := peer.NewPolicy([]int{me + 4242}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{socket: true, peers: other})
	for _, addr := range []string{e.addr, "unix://" + e.sock} {
		cl := dial(t, addr)
		_, err := cl.Execute(as(t, "alice-token"), queryAll)
		if status.Code(err) != codes.Unauthenticated || !strings.Contains(status.Convert(err).Message(), "does not serve uid "+strconv.Itoa(me)) {
			t.Fatalf("%s: a caller outside the allow-list: %v", addr, err)
		}
		// A bad token gets the same answer: the token is not looked at.
		if _, err := cl.Execute(as(t, "nope"), queryAll); !strings.Contains(status.Convert(err).Message(), "does not serve uid") {
			t.Fatalf("%s: bad token outside the allow-list: %v", addr, err)
		}
	}
	if n := testutil.ToFloat64(e.srv.m.peerRefused.WithLabelValues(strconv.Itoa(me))); n != 4 {
		t.Fatalf("refusals counted for uid %d: %v, want 4", me, n)
	}

	mine, err := peer.NewPolicy([]int{me}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ok := newEnv(t, envOptions{socket: true, peers: mine})
	for _, addr := range []string{ok.addr, "unix://" + ok.sock} {
		cl := dial(t, addr)
		ctx := as(t, "alice-token")
		info, err := cl.Execute(ctx, queryAll)
		if err != nil {
			t.Fatalf("%s: an allowed caller: %v", addr, err)
		}
		if rows := readAll(t, ctx, cl, info, infoSchema(t, info)); len(rows) == 0 {
			t.Fatalf("%s: no rows", addr)
		}
		for range info.Endpoint {
			if r := <-ok.cp.reports; r.CallerUid != int64(me) {
				t.Fatalf("%s: report names caller uid %d, want %d", addr, r.CallerUid, me)
			}
		}
	}
}
