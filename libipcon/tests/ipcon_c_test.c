/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * The C library's test: every function of <ipcon.h>, its errors included,
 * against the real kernel module. Bad input (NULL pointers, short buffers,
 * invalid or unterminated names) must give an error, never a crash.
 *
 * Prints "ok - NAME" or "not ok - NAME: why" per check and a summary;
 * exits 1 if any check failed. Runs as root (the policy checks and a child
 * that drops to uid 1000 need it); a name prefix unique to the process
 * keeps it out of the way of other peers.
 *
 *   ipcon-c-test
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcon.h>

#define WAIT_MS 5000

/*
 * Allocations, counted while `counting` is set: this program's malloc,
 * calloc and realloc stand in front of the C library's (the library's
 * calls reach them, shared or static), to prove that sending and
 * receiving allocate nothing.
 */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
static volatile int counting;
static volatile long allocations;

void *malloc(size_t size)
{
	if (counting)
		allocations++;
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	if (counting)
		allocations++;
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	if (counting)
		allocations++;
	return __libc_realloc(p, size);
}

static int failed, passed;
static unsigned char buf[IPCON_RECV_BUFFER_SIZE];
static unsigned char dump[IPCON_DUMP_BUFFER_SIZE];
static char prefix[32];

static void check(int cond, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (cond) {
		printf("ok - %s\n", name);
		passed++;
		return;
	}
	printf("not ok - %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failed++;
}

/* err == want, saying what came instead. */
static void expect(int err, int want, const char *name)
{
	check(err == want, name, "got %d (%s), want %d (%s)", err, ipcon_strerror(err), want,
	      ipcon_strerror(want));
}

/* A name unique to this process: PREFIX.what */
static const char *uniq(char *out, const char *what)
{
	snprintf(out, IPCON_NAME_SIZE, "%s.%s", prefix, what);
	return out;
}

static struct ipcon_peer *open_peer(void)
{
	struct ipcon_peer *p = NULL;
	int err = ipcon_open(&p);

	if (err) {
		printf("not ok - open: %s\n", ipcon_strerror(err));
		printf("# %d passed, %d failed\n", passed, failed + 1);
		exit(1);
	}
	return p;
}

/* The next message of this kind (others are skipped); 0 or an errno. */
static int next_of(struct ipcon_peer *p, int kind, struct ipcon_message *msg)
{
	int err;

	do {
		err = ipcon_recv_timeout(p, buf, sizeof(buf), WAIT_MS, msg);
	} while (!err && msg->kind != kind);
	return err;
}

static void test_version_and_strerror(void)
{
	const char *v = ipcon_version();
	unsigned int a, b, c;
	char end;

	check(v && sscanf(v, "%u.%u.%u%c", &a, &b, &c, &end) == 3, "version is MAJOR.MINOR.PATCH",
	      "%s", v ? v : "NULL");
	check(!strcmp(ipcon_strerror(0), "success"), "strerror(0)", "%s", ipcon_strerror(0));
	check(strstr(ipcon_strerror(-EPROTONOSUPPORT), "modprobe ipcon") != NULL,
	      "strerror names the fix for a module not loaded", "%s", ipcon_strerror(-EPROTONOSUPPORT));
	check(!strcmp(ipcon_strerror(ENOENT), ipcon_strerror(-ENOENT)),
	      "strerror takes the errno either way", "%s", ipcon_strerror(ENOENT));
	check(strstr(ipcon_strerror(-EXDEV), "strerror(3)") != NULL,
	      "strerror of an errno the library only passes on", "%s", ipcon_strerror(-EXDEV));
	check(ipcon_strerror(INT_MIN) != NULL && ipcon_strerror(INT_MAX) != NULL,
	      "strerror of INT_MIN and INT_MAX", "NULL");
}

static void count_cb(const struct ipcon_service_info *info, void *arg)
{
	(void)info;
	++*(int *)arg;
}

static void test_null_and_bad_input(struct ipcon_peer *p)
{
	char name[IPCON_NAME_SIZE], long_name[200];
	struct ipcon_message msg;
	struct ipcon_owner owner;
	uint32_t port;
	int n = 0;

	expect(ipcon_open(NULL), -EINVAL, "open(NULL)");
	ipcon_close(NULL);
	check(1, "close(NULL) is a no-op", "");
	expect(ipcon_fd(NULL), -EINVAL, "fd(NULL)");
	check(ipcon_port(NULL) == 0 && ipcon_id(NULL) == 0 && ipcon_dropped_foreign(NULL) == 0,
	      "port, id and dropped_foreign of NULL are 0", "");
	expect(ipcon_set_recv_buffer_size(NULL, 4096, NULL), -EINVAL, "set_recv_buffer_size(NULL)");
	expect(ipcon_register_service(NULL, uniq(name, "x")), -EINVAL, "register_service(NULL peer)");
	expect(ipcon_register_service(p, NULL), -EINVAL, "register_service(NULL name)");
	expect(ipcon_register_service(p, ""), -EINVAL, "register_service(\"\")");
	expect(ipcon_register_service(p, "bad name"), -EINVAL, "a name with a space");
	expect(ipcon_register_service(p, "caf\xc3\xa9"), -EINVAL, "a name outside [A-Za-z0-9._:-]");
	expect(ipcon_register_service(p, "\xff\xfe"), -EINVAL, "a name that is not UTF-8");
	memset(long_name, 'a', 64);
	long_name[64] = '\0';
	expect(ipcon_register_service(p, long_name), -EINVAL, "a name of 64 bytes");
	/* no NUL in the first 64 bytes: refused without reading further */
	memset(long_name, 'b', sizeof(long_name));
	expect(ipcon_resolve(p, long_name, &port), -EINVAL, "an unterminated name");
	memset(long_name, 'c', 63);
	long_name[63] = '\0';
	expect(ipcon_register_service(p, long_name), 0, "a name of 63 bytes");
	expect(ipcon_unregister_service(p, long_name), 0, "unregister the name of 63 bytes");
	expect(ipcon_resolve(p, uniq(name, "x"), NULL), -EINVAL, "resolve(NULL port)");
	expect(ipcon_resolve_owner(p, uniq(name, "x"), NULL), -EINVAL, "resolve_owner(NULL owner)");
	expect(ipcon_resolve_owner(NULL, uniq(name, "x"), &owner), -EINVAL, "resolve_owner(NULL peer)");
	expect(ipcon_register_group(p, uniq(name, "g"), 2), -EINVAL, "register_group: unknown flags");
	expect(ipcon_join(p, uniq(name, "g"), 0x80), -EINVAL, "join: unknown flags");
	expect(ipcon_send_to_port(p, ipcon_port(p), NULL, 5), -EINVAL, "send: NULL data, len 5");
	expect(ipcon_send_to_port(NULL, 1, "x", 1), -EINVAL, "send: NULL peer");
	/* the length is refused before a byte is read: "x" is 2 bytes long */
	expect(ipcon_send_to_port(p, ipcon_port(p), "x", (size_t)IPCON_DATA_MAX + 1), -EMSGSIZE,
	       "send: more than IPCON_DATA_MAX");
	expect(ipcon_send_to_service(p, NULL, "x", 1), -EINVAL, "send_to_service(NULL name)");
	expect(ipcon_publish(p, NULL, "x", 1), -EINVAL, "publish(NULL group)");
	expect(ipcon_recv(p, NULL, 100, &msg), -EINVAL, "recv(NULL buffer)");
	expect(ipcon_recv(p, buf, 0, &msg), -EINVAL, "recv(buffer of 0 bytes)");
	expect(ipcon_recv(p, buf, sizeof(buf), NULL), -EINVAL, "recv(NULL message)");
	expect(ipcon_try_recv(NULL, buf, sizeof(buf), &msg), -EINVAL, "try_recv(NULL peer)");
	expect(ipcon_list_services(p, dump, sizeof(dump), NULL, NULL), -EINVAL,
	       "list_services(NULL callback)");
	expect(ipcon_list_services(p, NULL, 100, count_cb, &n), -EINVAL, "list_services(NULL buffer)");
	expect(ipcon_list_groups(NULL, dump, sizeof(dump), NULL, NULL), -EINVAL, "list_groups(NULL peer)");
	expect(ipcon_subscribe_events(NULL), -EINVAL, "subscribe_events(NULL)");
	expect(ipcon_unsubscribe_events(NULL), -EINVAL, "unsubscribe_events(NULL)");
	expect(ipcon_policy_check(NULL, NULL), -EINVAL, "policy_check(NULL)");
	expect(ipcon_policy_load(p, NULL, NULL), -EINVAL, "policy_load(NULL text)");
	expect(ipcon_policy_show(p, NULL, 100), -EINVAL, "policy_show(NULL buffer)");
	expect(ipcon_policy_clear(NULL), -EINVAL, "policy_clear(NULL)");
}

static void test_peer(struct ipcon_peer *p)
{
	struct ipcon_peer *q = open_peer();
	size_t actual = 0;

	check(ipcon_port(p) != 0 && ipcon_id(p) != 0, "a peer has a port and an id", "port %" PRIu32,
	      ipcon_port(p));
	check(ipcon_id(p) != ipcon_id(q) && ipcon_port(p) != ipcon_port(q), "two peers differ", "");
	check(ipcon_fd(p) >= 0, "fd", "%d", ipcon_fd(p));
	expect(ipcon_set_recv_buffer_size(p, 1 << 18, &actual), 0, "set_recv_buffer_size");
	check(actual >= 4096, "set_recv_buffer_size reports the size", "%zu", actual);
	check(ipcon_dropped_foreign(p) == 0, "nothing foreign dropped", "%" PRIu32,
	      ipcon_dropped_foreign(p));
	ipcon_close(q);
}

struct found {
	const char *name;
	uint32_t port;
	int times;
	uint32_t members;
	bool retain;
};

static void find_service_cb(const struct ipcon_service_info *info, void *arg)
{
	struct found *f = arg;

	if (!strcmp(info->name, f->name)) {
		f->times++;
		f->port = info->owner.port;
	}
}

static void find_group_cb(const struct ipcon_group_info *info, void *arg)
{
	struct found *f = arg;

	if (!strcmp(info->name, f->name)) {
		f->times++;
		f->port = info->owner.port;
		f->members = info->members;
		f->retain = info->retain;
	}
}

static void test_services(struct ipcon_peer *a)
{
	struct ipcon_peer *b = open_peer();
	char name[IPCON_NAME_SIZE], other[IPCON_NAME_SIZE];
	struct found f = { .name = uniq(name, "svc") };
	struct ipcon_owner owner;
	uint32_t port = 0;

	expect(ipcon_register_service(a, name), 0, "register_service");
	expect(ipcon_register_service(b, name), -EEXIST, "register_service: taken");
	expect(ipcon_resolve(b, name, &port), 0, "resolve");
	check(port == ipcon_port(a), "resolve gives the owner's port", "%" PRIu32, port);
	expect(ipcon_resolve_owner(b, name, &owner), 0, "resolve_owner");
	check(owner.port == ipcon_port(a) && owner.id == ipcon_id(a) && owner.uid == geteuid() &&
	      owner.gid == getegid(), "resolve_owner gives port, id, uid and gid",
	      "port %" PRIu32 " id %" PRIu64 " uid %" PRIu32, owner.port, owner.id, owner.uid);
	expect(ipcon_resolve(b, uniq(other, "none"), &port), -ENOENT, "resolve: no such service");
	expect(ipcon_unregister_service(b, name), -EPERM, "unregister_service: another's");
	expect(ipcon_unregister_service(b, other), -ENOENT, "unregister_service: unknown");
	expect(ipcon_list_services(b, dump, sizeof(dump), find_service_cb, &f), 0, "list_services");
	check(f.times == 1 && f.port == ipcon_port(a), "list_services lists it once, with its owner",
	      "%d times, port %" PRIu32, f.times, f.port);
	expect(ipcon_list_services(b, dump, 16, find_service_cb, &f), -ENOSPC,
	       "list_services: a buffer of 16 bytes");
	expect(ipcon_unregister_service(a, name), 0, "unregister_service");
	expect(ipcon_resolve(b, name, &port), -ENOENT, "resolve after unregister");
	ipcon_close(b);
}

static void test_unicast(struct ipcon_peer *a)
{
	struct ipcon_peer *b = open_peer(), *gone = open_peer();
	char name[IPCON_NAME_SIZE];
	struct ipcon_message msg;
	const struct ipcon_unicast *u = &msg.u.unicast;
	uint64_t gone_id = ipcon_id(gone);
	uint32_t gone_port = ipcon_port(gone);
	static const char hello[] = "hello from C";

	expect(ipcon_register_service(b, uniq(name, "uni")), 0, "register the destination");
	expect(ipcon_send_to_port(a, ipcon_port(b), hello, sizeof(hello)), 0, "send_to_port");
	expect(next_of(b, IPCON_MSG_UNICAST, &msg), 0, "receive it");
	check(u->len == sizeof(hello) && !memcmp(u->data, hello, sizeof(hello)),
	      "the payload arrives whole", "%zu bytes", u->len);
	check(u->sender.port == ipcon_port(a) && u->sender.id == ipcon_id(a) &&
	      u->sender.uid == geteuid() && u->sender.gid == getegid() &&
	      u->sender.pid == (uint32_t)getpid(), "the kernel-stamped sender",
	      "port %" PRIu32 " id %" PRIu64 " pid %" PRIu32, u->sender.port, u->sender.id,
	      u->sender.pid);
	check(u->service[0] == '\0', "sent to the port: no service", "%s", u->service);
	expect(ipcon_send_to_service(a, name, "s", 1), 0, "send_to_service");
	expect(next_of(b, IPCON_MSG_UNICAST, &msg), 0, "receive it");
	check(!strcmp(u->service, name), "the service it was sent to", "%s", u->service);
	expect(ipcon_send_to_id(a, ipcon_id(b), NULL, 0), 0, "send_to_id, an empty message");
	expect(next_of(b, IPCON_MSG_UNICAST, &msg), 0, "receive it");
	check(u->len == 0, "an empty payload", "%zu bytes", u->len);
	expect(ipcon_send_to_service(a, uniq(name, "none"), "x", 1), -ENOENT,
	       "send_to_service: no such service");
	ipcon_close(gone);
	expect(ipcon_send_to_id(a, gone_id, "x", 1), -ECONNREFUSED, "send_to_id: a closed peer");
	expect(ipcon_send_to_port(a, gone_port, "x", 1), -ECONNREFUSED, "send_to_port: a closed peer");

	/* receive variants and short buffers */
	expect(ipcon_try_recv(b, buf, sizeof(buf), &msg), -EAGAIN, "try_recv: nothing queued");
	expect(ipcon_recv_timeout(b, buf, sizeof(buf), 0, &msg), -EAGAIN, "recv_timeout 0: nothing queued");
	expect(ipcon_recv_timeout(b, buf, sizeof(buf), 50, &msg), -ETIMEDOUT, "recv_timeout 50 ms: nothing");
	expect(ipcon_send_to_port(a, ipcon_port(b), hello, sizeof(hello)), 0, "send again");
	expect(ipcon_recv(b, buf, 8, &msg), -ENOSPC, "recv: a buffer of 8 bytes");
	expect(ipcon_send_to_port(a, ipcon_port(b), "ok", 2), 0, "the peer is still usable");
	expect(ipcon_recv(b, buf, sizeof(buf), &msg), 0, "recv");
	check(msg.kind == IPCON_MSG_UNICAST && u->len == 2, "the message after the discarded one",
	      "kind %d", msg.kind);
	ipcon_close(b);
}

static void test_groups(struct ipcon_peer *owner)
{
	struct ipcon_peer *m = open_peer(), *late = open_peer();
	char name[IPCON_NAME_SIZE], none[IPCON_NAME_SIZE];
	struct found f = { .name = uniq(name, "grp") };
	struct ipcon_message msg;
	const struct ipcon_group_message *g = &msg.u.group;

	expect(ipcon_register_group(owner, name, IPCON_GROUP_RETAIN), 0, "register_group");
	expect(ipcon_register_group(m, name, 0), -EEXIST, "register_group: taken");
	expect(ipcon_join(m, name, 0), 0, "join");
	expect(ipcon_join(m, name, 0), -EALREADY, "join: already a member");
	expect(ipcon_join(m, uniq(none, "none"), 0), -ENOENT, "join: no such group");
	expect(ipcon_list_groups(m, dump, sizeof(dump), find_group_cb, &f), 0, "list_groups");
	check(f.times == 1 && f.port == ipcon_port(owner) && f.members == 1 && f.retain,
	      "list_groups: owner, members, retain", "%d times, %" PRIu32 " members", f.times,
	      f.members);
	expect(ipcon_publish(m, name, "x", 1), -EPERM, "publish: not the owner");
	expect(ipcon_publish(owner, none, "x", 1), -ENOENT, "publish: no such group");
	expect(ipcon_publish(owner, name, "21.5", 4), 0, "publish");
	expect(next_of(m, IPCON_MSG_GROUP, &msg), 0, "the member receives it");
	check(!strcmp(g->group, name) && g->sender.port == ipcon_port(owner) && !g->retained &&
	      g->len == 4 && !memcmp(g->data, "21.5", 4), "group, sender, payload", "%s", g->group);
	expect(ipcon_join(late, name, IPCON_JOIN_LAST), 0, "a late join with IPCON_JOIN_LAST");
	expect(next_of(late, IPCON_MSG_GROUP, &msg), 0, "the late joiner receives");
	check(g->retained && g->len == 4 && !memcmp(g->data, "21.5", 4),
	      "the retained message, flagged", "retained %d", g->retained);
	expect(ipcon_leave(m, name), 0, "leave");
	expect(ipcon_leave(m, name), -ENOTCONN, "leave: not a member");
	expect(ipcon_unregister_group(m, name), -EPERM, "unregister_group: another's");
	expect(ipcon_unregister_group(owner, name), 0, "unregister_group");
	expect(ipcon_unregister_group(owner, name), -ENOENT, "unregister_group: gone");
	ipcon_close(late);
	ipcon_close(m);
}

static void test_lost(struct ipcon_peer *owner)
{
	struct ipcon_peer *slow = open_peer();
	char name[IPCON_NAME_SIZE];
	struct ipcon_message msg;
	static char payload[2048];
	unsigned int got = 0, lost = 0, published = 200, i;
	int err;

	expect(ipcon_register_group(owner, uniq(name, "lost"), 0), 0, "register a group");
	expect(ipcon_join(slow, name, 0), 0, "a member that does not read");
	expect(ipcon_set_recv_buffer_size(slow, 4096, NULL), 0, "with a small queue");
	for (i = 0; i < published; i++)
		if ((err = ipcon_publish(owner, name, payload, sizeof(payload))) != 0)
			break;
	expect(err, 0, "publishing to a full member never fails");
	while ((err = ipcon_try_recv(slow, buf, sizeof(buf), &msg)) == 0) {
		if (msg.kind == IPCON_MSG_GROUP)
			got++;
		else if (msg.kind == IPCON_MSG_LOST && !strcmp(msg.u.lost.group, name))
			lost += msg.u.lost.count;
	}
	/* the notice for the last ones comes before the next message */
	expect(ipcon_publish(owner, name, "end", 3), 0, "one more publish");
	while ((err = ipcon_recv_timeout(slow, buf, sizeof(buf), WAIT_MS, &msg)) == 0 &&
	       msg.kind != IPCON_MSG_GROUP)
		if (msg.kind == IPCON_MSG_LOST && !strcmp(msg.u.lost.group, name))
			lost += msg.u.lost.count;
	check(lost > 0 && got + lost == published, "received plus lost is what was published",
	      "%u received, %u lost, %u published", got, lost, published);
	ipcon_close(slow);
	expect(ipcon_unregister_group(owner, name), 0, "unregister it");
}

static void test_events(struct ipcon_peer *w)
{
	struct ipcon_peer *p = open_peer();
	char name[IPCON_NAME_SIZE];
	struct ipcon_message msg;
	const struct ipcon_event *ev = &msg.u.event;
	uint64_t id = ipcon_id(p);
	int removed = 0, gone = 0, err;

	expect(ipcon_subscribe_events(w), 0, "subscribe_events");
	expect(ipcon_subscribe_events(w), -EALREADY, "subscribe_events: already");
	expect(ipcon_register_service(p, uniq(name, "ev")), 0, "a peer registers a service");
	do {
		err = next_of(w, IPCON_MSG_EVENT, &msg);
	} while (!err && !(ev->kind == IPCON_EVENT_SERVICE_ADDED && !strcmp(ev->name, name)));
	expect(err, 0, "IPCON_EVENT_SERVICE_ADDED");
	check(ev->peer.id == id && ev->peer.port == ipcon_port(p) && ev->peer.uid == geteuid(),
	      "the event names its owner", "id %" PRIu64, ev->peer.id);
	ipcon_close(p);
	while (!(removed && gone) && !(err = next_of(w, IPCON_MSG_EVENT, &msg))) {
		if (ev->kind == IPCON_EVENT_SERVICE_REMOVED && !strcmp(ev->name, name))
			removed = 1;
		if (ev->kind == IPCON_EVENT_PEER_GONE && ev->peer.id == id)
			gone = ev->name[0] == '\0' ? 1 : -1;
	}
	check(removed == 1 && gone == 1, "closing it: SERVICE_REMOVED and PEER_GONE (no name)",
	      "removed %d gone %d (%s)", removed, gone, ipcon_strerror(err));
	expect(ipcon_unsubscribe_events(w), 0, "unsubscribe_events");
	expect(ipcon_unsubscribe_events(w), -ENOTCONN, "unsubscribe_events: not subscribed");
}

/* A steady state of sends and receives of every kind: no allocation. */
static void test_no_allocation(struct ipcon_peer *p)
{
	struct ipcon_peer *q = open_peer();
	char svc[IPCON_NAME_SIZE], grp[IPCON_NAME_SIZE];
	struct ipcon_message msg;
	int i, err = 0, round;

	expect(ipcon_register_service(q, uniq(svc, "alloc")), 0, "a service");
	expect(ipcon_register_group(p, uniq(grp, "alloc"), 0), 0, "a group");
	expect(ipcon_join(q, grp, 0), 0, "joined");
	expect(ipcon_subscribe_events(q), 0, "events");
	for (round = 0; round < 2 && !err; round++) {
		/* round 0 warms up (first use of everything), round 1 counts */
		allocations = 0;
		counting = round == 1;
		for (i = 0; i < 50 && !err; i++) {
			err = ipcon_send_to_port(p, ipcon_port(q), "port", 4) ||
			      ipcon_send_to_id(p, ipcon_id(q), "id", 2) ||
			      ipcon_send_to_service(p, svc, "svc", 3) ||
			      ipcon_publish(p, grp, "grp", 3);
			while (!err && ipcon_try_recv(q, buf, sizeof(buf), &msg) == 0)
				;
			err = err || ipcon_recv_timeout(q, buf, sizeof(buf), 1, &msg) != -ETIMEDOUT ||
			      ipcon_strerror(-ENOENT) == NULL;
		}
		counting = 0;
	}
	check(!err, "sends and receives of every kind", "a call failed");
	check(allocations == 0, "sending and receiving allocate nothing",
	      "%ld allocations in 50 rounds", allocations);
	expect(ipcon_unregister_group(p, grp), 0, "remove the group");
	ipcon_close(q);
}

struct receiver {
	struct ipcon_peer *peer;
	int err;
	size_t len;
};

static void *receive_one(void *arg)
{
	static unsigned char rbuf[IPCON_RECV_BUFFER_SIZE];
	struct receiver *r = arg;
	struct ipcon_message msg;

	r->err = ipcon_recv_timeout(r->peer, rbuf, sizeof(rbuf), WAIT_MS, &msg);
	r->len = r->err ? 0 : msg.u.unicast.len;
	return NULL;
}

static void test_threads(struct ipcon_peer *p)
{
	struct receiver r = { .peer = p };
	pthread_t t;
	struct timespec pause = { 0, 50 * 1000 * 1000 };

	/* one thread receives while another sends on the same peer */
	check(pthread_create(&t, NULL, receive_one, &r) == 0, "start a receiving thread", "");
	nanosleep(&pause, NULL);
	expect(ipcon_send_to_port(p, ipcon_port(p), "self", 4), 0, "send to itself meanwhile");
	pthread_join(t, NULL);
	check(r.err == 0 && r.len == 4, "the receiving thread gets it", "%s", ipcon_strerror(r.err));
}

/* In a child with uid and gid 1000: what an unprivileged peer gets. */
static int as_user(int (*f)(struct ipcon_peer *), const char *name)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct ipcon_peer *p;

		if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
			_exit(100);
		if (ipcon_open(&p))
			_exit(101);
		_exit(f(p));
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		check(0, name, "the child did not exit");
		return -1;
	}
	return WEXITSTATUS(status);
}

static int user_policy_show(struct ipcon_peer *p)
{
	char text[64];

	return ipcon_policy_show(p, text, sizeof(text)) == -EPERM ? 0 : 1;
}

static int user_register_locked(struct ipcon_peer *p)
{
	char name[IPCON_NAME_SIZE];

	return ipcon_register_service(p, uniq(name, "locked")) == -EACCES ? 0 : 1;
}

static void test_policy(struct ipcon_peer *p)
{
	static char saved[65536], text[65536], policy[256];
	char name[IPCON_NAME_SIZE];
	unsigned int line = 99;
	int n;

	expect(ipcon_policy_check("default deny\nown a.b uid 1\n", &line), 0, "policy_check: valid");
	expect(ipcon_policy_check("default deny\nown a.b uid\n", &line), -EINVAL, "policy_check: bad rule");
	check(line == 2, "policy_check: the bad line", "line %u", line);
	expect(ipcon_policy_check("own a.b uid 1\n", &line), -EINVAL, "policy_check: no default");
	check(line == 0, "policy_check: line 0 for no default", "line %u", line);
	expect(ipcon_policy_check("default deny\n", NULL), 0, "policy_check: NULL bad_line");

	n = ipcon_policy_show(p, saved, sizeof(saved));
	check(n > 0 && !strncmp(saved, "default ", 8) && (size_t)n == strlen(saved),
	      "policy_show: the policy in force, its length", "%d: %s", n, n > 0 ? saved : "");
	if (n <= 0)
		return;
	expect(ipcon_policy_show(p, text, 4), -ENOSPC, "policy_show: a buffer of 4 bytes");
	expect(as_user(user_policy_show, "policy_show as uid 1000"), 0,
	       "policy_show as uid 1000: -EPERM");
	/* the saved policy with one more rule: own PREFIX.locked only as uid 4242 */
	snprintf(policy, sizeof(policy), "own %s uid 4242\n", uniq(name, "locked"));
	snprintf(text, sizeof(text), "%s%s", saved, policy);
	expect(ipcon_policy_load(p, text, &line), 0, "policy_load");
	n = ipcon_policy_show(p, text, sizeof(text));
	check(n > 0 && strstr(text, policy) != NULL, "policy_show: the loaded rule", "%s", text);
	expect(as_user(user_register_locked, "register as uid 1000"), 0,
	       "a denied registration as uid 1000: -EACCES");
	expect(ipcon_policy_load(p, "default allow\nown x uid\n", &line), -EINVAL,
	       "policy_load: a bad policy");
	expect(ipcon_policy_clear(p), 0, "policy_clear");
	n = ipcon_policy_show(p, text, sizeof(text));
	check(n > 0 && !strcmp(text, "default allow\n"), "policy_clear: default allow, no rules",
	      "%s", text);
	expect(ipcon_policy_load(p, saved, &line), 0, "restore the policy");
}

int main(void)
{
	struct ipcon_peer *p;

	snprintf(prefix, sizeof(prefix), "ctest%ld", (long)getpid());
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_version_and_strerror();
	p = open_peer();
	test_null_and_bad_input(p);
	test_peer(p);
	test_services(p);
	test_unicast(p);
	test_groups(p);
	test_lost(p);
	test_events(p);
	test_threads(p);
	test_no_allocation(p);
	if (geteuid() == 0)
		test_policy(p);
	else
		printf("# not root: the policy checks are skipped\n");
	ipcon_close(p);
	printf("# %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
