package bootstrap

import (
	"fmt"
	"io/fs"
	"syscall"
)

func ownedBy(fi fs.FileInfo, o owner) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == o.uid && int(st.Gid) == o.gid
}

func ownerOf(fi fs.FileInfo) owner {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return rootOwner
	}
	return owner{int(st.Uid), int(st.Gid), fmtOwner(int(st.Uid), int(st.Gid))}
}

func fmtOwner(uid, gid int) string { return fmt.Sprintf("%d:%d", uid, gid) }
