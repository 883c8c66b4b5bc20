//go:build ignore

// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
//
// The nscale connect guard: cgroup/connect4 and cgroup/connect6 programs that
// let only allow-listed uids connect to the agent's loopback port.
//
// A connect to a loopback destination (127.0.0.0/8, ::1,
// ::ffff:127.0.0.0/104, and the unspecified addresses 0.0.0.0, :: and
// ::ffff:0.0.0.0, which Linux routes to loopback) on the guarded port is
// allowed when the caller's uid is in `allowed`, and refused otherwise (the
// caller's connect fails with EPERM). Every other destination passes
// untouched and is not counted. Regenerate with `go generate ./agent/ebpf/`.

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

// config[0] is the guarded port in host byte order; 0 guards nothing.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} config SEC(".maps");

// allowed holds the uids that may connect (value 1); the agent edits it.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} allowed SEC(".maps");

struct counts {
	__u64 allowed;
	__u64 denied;
};

// counters counts guarded connects per uid. When it is full, connects of new
// uids are still decided but no longer counted.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct counts);
} counters SEC(".maps");

static __always_inline int guarded_port(__u32 user_port)
{
	__u32 key = 0;
	__u32 *port = bpf_map_lookup_elem(&config, &key);

	if (!port || *port == 0)
		return 0;
	// user_port holds a be16 in its low 16 bits.
	return bpf_ntohs((__u16)user_port) == *port;
}

static __always_inline int decide(void)
{
	__u32 uid = (__u32)(bpf_get_current_uid_gid() & 0xffffffff);
	int ok = bpf_map_lookup_elem(&allowed, &uid) != NULL;
	struct counts *c = bpf_map_lookup_elem(&counters, &uid);

	if (!c) {
		struct counts zero = {};

		// BPF_NOEXIST: a concurrent first connect may have won the race;
		// either way the entry exists afterwards (or the map is full).
		bpf_map_update_elem(&counters, &uid, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&counters, &uid);
	}
	if (c) {
		if (ok)
			__sync_fetch_and_add(&c->allowed, 1);
		else
			__sync_fetch_and_add(&c->denied, 1);
	}
	return ok;
}

// loopback4 reports whether a network-order IPv4 address reaches loopback.
static __always_inline int loopback4(__u32 ip4)
{
	__u32 a = bpf_ntohl(ip4);

	return (a >> 24) == 127 || a == 0;
}

SEC("cgroup/connect4")
int guard_connect4(struct bpf_sock_addr *ctx)
{
	if (!guarded_port(ctx->user_port) || !loopback4(ctx->user_ip4))
		return 1;
	return decide();
}

SEC("cgroup/connect6")
int guard_connect6(struct bpf_sock_addr *ctx)
{
	__u32 w0 = ctx->user_ip6[0];
	__u32 w1 = ctx->user_ip6[1];
	__u32 w2 = ctx->user_ip6[2];
	__u32 w3 = ctx->user_ip6[3];
	int loop = 0;

	if (!guarded_port(ctx->user_port))
		return 1;
	if (w0 == 0 && w1 == 0) {
		if (w2 == 0 && (w3 == 0 || w3 == bpf_htonl(1)))
			loop = 1; // :: or ::1
		else if (w2 == bpf_htonl(0x0000ffff) && loopback4(w3))
			loop = 1; // ::ffff:127.0.0.0/104 or ::ffff:0.0.0.0
	}
	if (!loop)
		return 1;
	return decide();
}

char __license[] SEC("license") = "Dual MIT/GPL";
