// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * ipcon-compare: the same workloads over ipcon (through libipcon), AF_UNIX
 * SOCK_DGRAM, AF_UNIX SOCK_SEQPACKET and TIPC RDM, run by `qemu/run bench`
 * inside the VM. One program in C for all four, so that every mechanism
 * gets the same process structure, the same clock and the same loops:
 * client and server (sender and receivers) are always separate processes,
 * forked from this one, and talk only through the mechanism measured (pipes
 * carry the start signal and the acknowledgements that every mechanism's
 * run has in the same places).
 *
 * Each figure is the median of --reps repetitions (5 by default) with their
 * minimum and maximum; a repetition's value is the median of its samples
 * for latencies, its rate for throughputs. The results go to standard output
 * as a table and, with --csv FILE, as "@@ bench " lines:
 *   @@ bench workload,mechanism,unit,median,min,max,reps
 * which the harness turns into the report, the CSV file, the chart and the
 * ratios. Nothing passes or fails on a number: timings under emulation say
 * nothing absolute, only ratios within one boot mean something.
 *
 * Needs root (the TIPC module loaded, ipcon's per-user service limit lifted
 * for the lookup workload and restored, a larger open-file limit).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/tipc.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ipcon.h>

enum mech { M_IPCON, M_UDGRAM, M_USEQ, M_TIPC, M_COUNT };

static const char *const mech_name[M_COUNT] = {
	"ipcon", "unix_dgram", "unix_seqpacket", "tipc_rdm",
};

/* TIPC service type of the benchmark's services (0-63 are reserved). */
#define BENCH_TIPC_TYPE 18888
/* Receive buffers of every receiver, so that a window of messages fits. */
#define BENCH_RCVBUF (1 << 20)
#define MAX_SUBS 64
#define MAX_SEQ_CONNS (MAX_SUBS + 8)

static int reps = 5;
static bool quick;
static FILE *csv;
static bool mech_on[M_COUNT] = { true, true, true, true };

/* The workloads, as --workload names them; all run by default. */
enum workload { W_RTT, W_THROUGHPUT, W_MULTICAST, W_LOOKUP, W_CLIENTS, W_DEATH, W_COUNT };
static const char *const workload_name[W_COUNT] = {
	"rtt", "throughput", "multicast", "lookup", "clients", "peer_death",
};
static bool workload_on[W_COUNT] = { true, true, true, true, true, true };
/* --size: the one round-trip payload to measure (0: all four) */
static size_t only_size;
/* --subscribers: the one multicast fan-out to measure (0: all four) */
static int only_subs;
static bool tipc_ok = true;

static void die(const char *what, int err)
{
	fprintf(stderr, "ipcon-compare: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* report: one figure of one mechanism, from the values of its repetitions */
static void report(const char *workload, enum mech m, const char *unit, double *v, int n)
{
	double med = median(v, n);

	printf("  %-22s %-15s %12.1f %-6s (min %.1f, max %.1f, %d reps)\n",
	       workload, mech_name[m], med, unit, v[0], v[n - 1], n);
	if (csv) {
		fprintf(csv, "@@ bench %s,%s,%s,%.3f,%.3f,%.3f,%d\n",
			workload, mech_name[m], unit, med, v[0], v[n - 1], n);
		fflush(csv);
	}
	fflush(stdout);
}

/* ---- pipes between the processes of a run ---- */

static void xpipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC))
		die("pipe", errno);
}

static void close_pipe(int p[2])
{
	close(p[0]);
	close(p[1]);
}

static void put_byte(int fd, char c)
{
	while (write(fd, &c, 1) != 1)
		if (errno != EINTR)
			die("pipe write", errno);
}

static char get_byte(int fd)
{
	char c;
	ssize_t r;

	while ((r = read(fd, &c, 1)) != 1) {
		if (r == 0)
			die("pipe read", EPIPE);
		if (errno != EINTR)
			die("pipe read", errno);
	}
	return c;
}

static void get_bytes(int fd, int n)
{
	char buf[256];

	while (n > 0) {
		ssize_t r = read(fd, buf, n < (int)sizeof(buf) ? n : (int)sizeof(buf));

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			die("pipe read", r ? errno : EPIPE);
		}
		n -= r;
	}
}

static void reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) < 0)
		die("waitpid", errno);
	if (WIFEXITED(st) && WEXITSTATUS(st)) {
		fprintf(stderr, "ipcon-compare: a child failed (status %d)\n", WEXITSTATUS(st));
		exit(1);
	}
}

/* ---- an endpoint of any mechanism ---- */

struct ep {
	enum mech m;
	int fd;                         /* the socket (ipcon: the peer's) */
	struct ipcon_peer *peer;
	bool listening;                 /* seqpacket server: fd listens */
	int conns[MAX_SEQ_CONNS];       /* seqpacket server: accepted */
	int nconns;
	int from_conn;                  /* seqpacket: where the last came from */
	uint32_t from_port;             /* ipcon: the last sender */
	struct sockaddr_storage from;   /* datagrams: the last sender */
	socklen_t fromlen;
	struct ipcon_message msg;
};

static void service_name(char *out, size_t len, int k)
{
	snprintf(out, len, "bench.s%d", k);
}

static socklen_t unix_addr(struct sockaddr_un *a, int k)
{
	int n;

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	/* abstract: sun_path[0] is NUL */
	n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "ipcon-bench.s%d", k);
	return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

static void tipc_service(struct sockaddr_tipc *a, int k)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_TIPC;
	a->addrtype = TIPC_SERVICE_ADDR;
	a->scope = TIPC_NODE_SCOPE;
	a->addr.name.name.type = BENCH_TIPC_TYPE;
	a->addr.name.name.instance = k;
}

static void set_rcvbuf(struct ep *e)
{
	int sz = BENCH_RCVBUF;

	if (e->m == M_IPCON) {
		size_t actual;

		ipcon_set_recv_buffer_size(e->peer, BENCH_RCVBUF, &actual);
		return;
	}
	if (setsockopt(e->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
		setsockopt(e->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(e->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
}

/* ep_open: an endpoint with no name yet (unix datagram: autobound, so
 * that it can be replied to) */
static void ep_open(struct ep *e, enum mech m)
{
	int err;

	memset(e, 0, sizeof(*e));
	e->m = m;
	e->from_conn = -1;
	switch (m) {
	case M_IPCON:
		err = ipcon_open(&e->peer);
		if (err)
			die("ipcon_open", err);
		e->fd = ipcon_fd(e->peer);
		return;
	case M_UDGRAM: {
		sa_family_t fam = AF_UNIX;

		e->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (e->fd < 0 || bind(e->fd, (struct sockaddr *)&fam, sizeof(fam)))
			die("AF_UNIX SOCK_DGRAM socket", errno);
		return;
	}
	case M_USEQ:
		e->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (e->fd < 0)
			die("AF_UNIX SOCK_SEQPACKET socket", errno);
		return;
	case M_TIPC:
		e->fd = socket(AF_TIPC, SOCK_RDM | SOCK_CLOEXEC, 0);
		if (e->fd < 0)
			die("AF_TIPC SOCK_RDM socket (is the tipc module loaded?)", errno);
		return;
	default:
		die("ep_open", EINVAL);
	}
}

/* ep_bind: a server endpoint owning service k (seqpacket: listening) */
static void ep_bind(struct ep *e, enum mech m, int k)
{
	char name[IPCON_NAME_SIZE];
	struct sockaddr_un un;
	struct sockaddr_tipc tp;
	socklen_t len;
	int err;

	if (m == M_UDGRAM) {
		memset(e, 0, sizeof(*e));
		e->m = m;
		e->from_conn = -1;
		e->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (e->fd < 0)
			die("AF_UNIX socket", errno);
	} else {
		ep_open(e, m);
	}
	switch (m) {
	case M_IPCON:
		service_name(name, sizeof(name), k);
		err = ipcon_register_service(e->peer, name);
		if (err)
			die("ipcon_register_service", err);
		break;
	case M_UDGRAM:
	case M_USEQ:
		len = unix_addr(&un, k);
		if (bind(e->fd, (struct sockaddr *)&un, len))
			die("AF_UNIX bind", errno);
		if (m == M_USEQ) {
			if (listen(e->fd, MAX_SEQ_CONNS))
				die("listen", errno);
			e->listening = true;
		}
		break;
	case M_TIPC:
		tipc_service(&tp, k);
		tp.addrtype = TIPC_SERVICE_RANGE;
		tp.addr.nameseq.type = BENCH_TIPC_TYPE;
		tp.addr.nameseq.lower = k;
		tp.addr.nameseq.upper = k;
		if (bind(e->fd, (struct sockaddr *)&tp, sizeof(tp)))
			die("AF_TIPC bind", errno);
		break;
	default:
		break;
	}
	set_rcvbuf(e);
}

/* ep_connect: a client of service k (seqpacket: connected; others send
 * by name every time, as their users do) */
static void ep_connect(struct ep *e, int k)
{
	struct sockaddr_un un;
	socklen_t len;

	if (e->m != M_USEQ)
		return;
	len = unix_addr(&un, k);
	if (connect(e->fd, (struct sockaddr *)&un, len))
		die("AF_UNIX SOCK_SEQPACKET connect", errno);
}

static void ep_close(struct ep *e)
{
	int i;

	for (i = 0; i < e->nconns; i++)
		close(e->conns[i]);
	if (e->m == M_IPCON)
		ipcon_close(e->peer);
	else
		close(e->fd);
}

/* check_sent: a send of len bytes went whole */
static void check_sent(ssize_t r, size_t len, const char *what)
{
	if (r < 0)
		die(what, errno);
	if ((size_t)r != len)
		die(what, EMSGSIZE);
}

/* ep_send: one message to service k; ipcon's full queue is retried (and
 * counted by the caller's flow control not to happen) */
static void ep_send(struct ep *e, int k, const void *buf, size_t len)
{
	char name[IPCON_NAME_SIZE];
	struct sockaddr_un un;
	struct sockaddr_tipc tp;
	socklen_t alen;
	int err;

	switch (e->m) {
	case M_IPCON:
		service_name(name, sizeof(name), k);
		while ((err = ipcon_send_to_service(e->peer, name, buf, len)) == -ENOBUFS)
			sched_yield();
		if (err)
			die("ipcon_send_to_service", err);
		return;
	case M_UDGRAM:
		alen = unix_addr(&un, k);
		check_sent(sendto(e->fd, buf, len, 0, (struct sockaddr *)&un, alen), len, "AF_UNIX sendto");
		return;
	case M_USEQ:
		check_sent(send(e->fd, buf, len, 0), len, "AF_UNIX SOCK_SEQPACKET send");
		return;
	case M_TIPC:
		tipc_service(&tp, k);
		check_sent(sendto(e->fd, buf, len, 0, (struct sockaddr *)&tp, sizeof(tp)), len, "AF_TIPC sendto");
		return;
	default:
		return;
	}
}

/* ep_reply: one message back to whoever sent the last one */
static void ep_reply(struct ep *e, const void *buf, size_t len)
{
	int err;

	switch (e->m) {
	case M_IPCON:
		while ((err = ipcon_send_to_port(e->peer, e->from_port, buf, len)) == -ENOBUFS)
			sched_yield();
		if (err)
			die("ipcon_send_to_port", err);
		return;
	case M_USEQ:
		check_sent(send(e->from_conn, buf, len, 0), len, "AF_UNIX SOCK_SEQPACKET send");
		return;
	default:
		check_sent(sendto(e->fd, buf, len, 0, (struct sockaddr *)&e->from, e->fromlen), len, "sendto");
		return;
	}
}

/* seq_recv: a seqpacket server's next message from any of its
 * connections, accepting new ones and closing ended ones on the way */
static ssize_t seq_recv(struct ep *e, void *buf, size_t cap)
{
	struct pollfd pfd[MAX_SEQ_CONNS + 1];
	int i, n;

	for (;;) {
		pfd[0].fd = e->fd;
		pfd[0].events = POLLIN;
		for (i = 0; i < e->nconns; i++) {
			pfd[i + 1].fd = e->conns[i];
			pfd[i + 1].events = POLLIN;
		}
		n = poll(pfd, e->nconns + 1, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("poll", errno);
		}
		for (i = 0; i < e->nconns; i++) {
			ssize_t r;

			if (!pfd[i + 1].revents)
				continue;
			r = recv(e->conns[i], buf, cap, 0);
			if (r > 0) {
				e->from_conn = e->conns[i];
				return r;
			}
			close(e->conns[i]);
			e->conns[i] = e->conns[--e->nconns];
			break;
		}
		if (pfd[0].revents && e->nconns < MAX_SEQ_CONNS) {
			int c = accept4(e->fd, NULL, NULL, SOCK_CLOEXEC);

			if (c < 0)
				die("accept", errno);
			e->conns[e->nconns++] = c;
		}
	}
}

/* ep_recv: the next message into buf (ipcon: the payload stays in buf,
 * *data points at it); returns its length */
static ssize_t ep_recv(struct ep *e, void *buf, size_t cap, const void **data)
{
	ssize_t r;
	int err;

	*data = buf;
	switch (e->m) {
	case M_IPCON:
		for (;;) {
			err = ipcon_recv(e->peer, buf, cap, &e->msg);
			if (err)
				die("ipcon_recv", err);
			if (e->msg.kind == IPCON_MSG_UNICAST) {
				e->from_port = e->msg.u.unicast.sender.port;
				*data = e->msg.u.unicast.data;
				return e->msg.u.unicast.len;
			}
			if (e->msg.kind == IPCON_MSG_GROUP) {
				*data = e->msg.u.group.data;
				return e->msg.u.group.len;
			}
			if (e->msg.kind == IPCON_MSG_LOST)
				die("ipcon: messages lost", ENOBUFS);
		}
	case M_USEQ:
		if (e->listening)
			return seq_recv(e, buf, cap);
		r = recv(e->fd, buf, cap, 0);
		if (r < 0)
			die("AF_UNIX SOCK_SEQPACKET recv", errno);
		return r;
	default:
		e->fromlen = sizeof(e->from);
		r = recvfrom(e->fd, buf, cap, 0, (struct sockaddr *)&e->from, &e->fromlen);
		if (r < 0)
			die("recvfrom", errno);
		return r;
	}
}

/* size_label: 64B, 1KiB, 16KiB, 64KiB */
static const char *size_label(size_t size)
{
	static char label[24];

	if (size < 1024)
		snprintf(label, sizeof(label), "%zuB", size);
	else
		snprintf(label, sizeof(label), "%zuKiB", size / 1024);
	return label;
}

static unsigned char rbuf[IPCON_RECV_BUFFER_SIZE];
static unsigned char sbuf[IPCON_DATA_MAX];

/* ---- workloads ---- */

/* echo_server: replies with each message until a 1-byte one, in a child
 * process */
static pid_t echo_server(enum mech m, int k, int ready)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		struct ep e;
		const void *d;
		ssize_t n;

		ep_bind(&e, m, k);
		put_byte(ready, 'r');
		for (;;) {
			n = ep_recv(&e, rbuf, sizeof(rbuf), &d);
			if (n == 1)
				break;
			ep_reply(&e, d, n);
		}
		ep_close(&e);
		_exit(0);
	}
	return pid;
}

/* round trips of size bytes */
static void w_rtt(enum mech m, size_t size)
{
	int iters = quick ? 50 : (size >= 16384 ? 300 : 1000);
	double *lat = calloc(iters, sizeof(double));
	double vals[16];
	char workload[64];
	int ready[2], r, i;
	const void *d;
	struct ep c;
	pid_t pid;

	if (!lat)
		die("calloc", ENOMEM);
	xpipe(ready);
	pid = echo_server(m, 0, ready[1]);
	get_byte(ready[0]);
	ep_open(&c, m);
	ep_connect(&c, 0);
	memset(sbuf, 0xa5, size);
	for (i = 0; i < 20; i++) {
		ep_send(&c, 0, sbuf, size);
		ep_recv(&c, rbuf, sizeof(rbuf), &d);
	}
	for (r = 0; r < reps; r++) {
		for (i = 0; i < iters; i++) {
			double t = now_us();

			ep_send(&c, 0, sbuf, size);
			if (ep_recv(&c, rbuf, sizeof(rbuf), &d) != (ssize_t)size)
				die("round trip: a reply of the wrong size", EPROTO);
			lat[i] = now_us() - t;
		}
		vals[r] = median(lat, iters);
	}
	ep_send(&c, 0, "q", 1);
	ep_close(&c);
	reap(pid);
	close_pipe(ready);
	free(lat);
	snprintf(workload, sizeof(workload), "rtt_%s", size_label(size));
	report(workload, m, "us", vals, reps);
}

/* one-way throughput, pairs senders each to its own receiver: the
 * receiver acknowledges every `win` messages through a pipe and the sender
 * keeps at most two windows in flight (TIPC's RDM would otherwise reject
 * what overflows the receiver, ipcon refuse it with ENOBUFS) */
static double throughput_once(enum mech m, size_t size, int pairs, int count)
{
	int win = size >= 4096 ? 8 : 64;
	int ready[2], start[2], done[2], ack[2][2];
	pid_t pids[4];
	int p, np = 0;
	double t0;

	xpipe(ready);
	xpipe(start);
	xpipe(done);
	for (p = 0; p < pairs; p++) {
		xpipe(ack[p]);
		pids[np] = fork();
		if (pids[np] < 0)
			die("fork", errno);
		if (pids[np] == 0) {
			struct ep e;
			const void *d;
			int got = 0;

			ep_bind(&e, m, 10 + p);
			put_byte(ready[1], 'r');
			while (got < count) {
				ssize_t n = ep_recv(&e, rbuf, sizeof(rbuf), &d);

				if (n != (ssize_t)size)
					die("throughput: a message of the wrong size", EPROTO);
				if (++got % win == 0)
					put_byte(ack[p][1], 'a');
			}
			put_byte(done[1], 'd');
			ep_close(&e);
			_exit(0);
		}
		np++;
		get_byte(ready[0]);
		pids[np] = fork();
		if (pids[np] < 0)
			die("fork", errno);
		if (pids[np] == 0) {
			struct ep e;
			int sent, acked = 0;

			ep_open(&e, m);
			ep_connect(&e, 10 + p);
			put_byte(ready[1], 'r');
			get_byte(start[0]);
			for (sent = 0; sent < count; sent++) {
				while (sent - acked * win >= 2 * win) {
					get_byte(ack[p][0]);
					acked++;
				}
				ep_send(&e, 10 + p, sbuf, size);
			}
			ep_close(&e);
			_exit(0);
		}
		np++;
		get_byte(ready[0]);
	}
	t0 = now_us();
	for (p = 0; p < pairs; p++)
		put_byte(start[1], 's');
	get_bytes(done[0], pairs);
	t0 = now_us() - t0;
	for (p = 0; p < np; p++)
		reap(pids[p]);
	for (p = 0; p < pairs; p++) {
		close_pipe(ack[p]);
	}
	close_pipe(ready);
	close_pipe(start);
	close_pipe(done);
	return (double)count * pairs / (t0 / 1e6);
}

static void w_throughput(enum mech m, size_t size, int pairs)
{
	int count = quick ? 500 : (size >= 4096 ? 3000 : 20000);
	double vals[16], mb[16];
	char workload[64];
	int r;

	memset(sbuf, 0x5a, size);
	for (r = 0; r < reps; r++) {
		vals[r] = throughput_once(m, size, pairs, count);
		mb[r] = vals[r] * size / 1e6;
	}
	snprintf(workload, sizeof(workload), "oneway_%s_%dpair", size_label(size), pairs);
	report(workload, m, "msg/s", vals, reps);
	snprintf(workload, sizeof(workload), "oneway_%s_%dpair_MB", size_label(size), pairs);
	report(workload, m, "MB/s", mb, reps);
}

/* multicast to subs subscribers: per message, the time until every
 * subscriber has it (each acknowledges through a shared pipe) and the
 * sender's CPU time in the sending calls */
static void w_multicast(enum mech m, int subs)
{
	int count = quick ? 20 : 200;
	double vals[16], cpu[16], *lat = calloc(count, sizeof(double)), *cp = calloc(count, sizeof(double));
	int ready[2], ackp[2], i, r;
	pid_t pids[MAX_SUBS];
	struct ep snd, fan[MAX_SUBS];
	struct sockaddr_tipc mc;
	char workload[64];
	int err;

	if (!lat || !cp)
		die("calloc", ENOMEM);
	xpipe(ready);
	xpipe(ackp);
	memset(sbuf, 0x42, 64);
	if (m == M_IPCON) {
		ep_open(&snd, m);
		err = ipcon_register_group(snd.peer, "bench.g", 0);
		if (err)
			die("ipcon_register_group", err);
	} else if (m == M_USEQ) {
		ep_bind(&snd, m, 99);
	} else if (m == M_TIPC) {
		ep_open(&snd, m);
	}
	for (i = 0; i < subs; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork", errno);
		if (pids[i] == 0) {
			struct ep e;
			const void *d;
			ssize_t n;

			if (m == M_IPCON) {
				ep_open(&e, m);
				err = ipcon_join(e.peer, "bench.g", 0);
				if (err)
					die("ipcon_join", err);
				set_rcvbuf(&e);
			} else if (m == M_USEQ) {
				ep_open(&e, m);
				ep_connect(&e, 99);
			} else {
				ep_bind(&e, m, 100 + i);
			}
			put_byte(ready[1], 'r');
			for (;;) {
				n = ep_recv(&e, rbuf, sizeof(rbuf), &d);
				if (n <= 1)
					break;
				put_byte(ackp[1], 'a');
			}
			ep_close(&e);
			_exit(0);
		}
		get_byte(ready[0]);
	}
	if (m == M_UDGRAM) {
		for (i = 0; i < subs; i++) {
			struct sockaddr_un un;
			socklen_t len = unix_addr(&un, 100 + i);

			fan[i].fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			if (fan[i].fd < 0 || connect(fan[i].fd, (struct sockaddr *)&un, len))
				die("AF_UNIX connect", errno);
		}
	} else if (m == M_USEQ) {
		for (i = 0; i < subs; i++) {
			fan[i].fd = accept4(snd.fd, NULL, NULL, SOCK_CLOEXEC);
			if (fan[i].fd < 0)
				die("accept", errno);
		}
	}
	memset(&mc, 0, sizeof(mc));
	mc.family = AF_TIPC;
	mc.addrtype = TIPC_SERVICE_RANGE;
	mc.scope = TIPC_NODE_SCOPE;
	mc.addr.nameseq.type = BENCH_TIPC_TYPE;
	mc.addr.nameseq.lower = 100;
	mc.addr.nameseq.upper = 100 + subs - 1;
	for (r = 0; r < reps; r++) {
		for (i = 0; i < count; i++) {
			double t = now_us(), c = cpu_us();
			int s;

			switch (m) {
			case M_IPCON:
				err = ipcon_publish(snd.peer, "bench.g", sbuf, 64);
				if (err)
					die("ipcon_publish", err);
				break;
			case M_TIPC:
				check_sent(sendto(snd.fd, sbuf, 64, 0, (struct sockaddr *)&mc, sizeof(mc)), 64,
					   "AF_TIPC multicast");
				break;
			default:
				for (s = 0; s < subs; s++)
					check_sent(send(fan[s].fd, sbuf, 64, 0), 64, "AF_UNIX send");
				break;
			}
			cp[i] = cpu_us() - c;
			get_bytes(ackp[0], subs);
			lat[i] = now_us() - t;
		}
		vals[r] = median(lat, count);
		cpu[r] = median(cp, count);
	}
	/* the end: a 1-byte message (seqpacket: the connections close) */
	switch (m) {
	case M_IPCON:
		ipcon_publish(snd.peer, "bench.g", "q", 1);
		break;
	case M_TIPC:
		sendto(snd.fd, "q", 1, 0, (struct sockaddr *)&mc, sizeof(mc));
		break;
	default:
		for (i = 0; i < subs; i++) {
			if (m == M_UDGRAM)
				send(fan[i].fd, "q", 1, 0);
			close(fan[i].fd);
		}
		break;
	}
	for (i = 0; i < subs; i++)
		reap(pids[i]);
	if (m != M_UDGRAM)
		ep_close(&snd);
	close_pipe(ready);
	close_pipe(ackp);
	free(lat);
	free(cp);
	snprintf(workload, sizeof(workload), "mcast_%d", subs);
	report(workload, m, "us", vals, reps);
	snprintf(workload, sizeof(workload), "mcast_%d_sender_cpu", subs);
	report(workload, m, "us", cpu, reps);
}

/* write_param: a module parameter of ipcon (root) */
static void write_param(const char *name, const char *value, char *old, size_t oldlen)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/ipcon/parameters/%s", name);
	if (old) {
		f = fopen(path, "r");
		if (!f || !fgets(old, oldlen, f))
			die(path, errno);
		fclose(f);
		old[strcspn(old, "\n")] = 0;
	}
	f = fopen(path, "w");
	if (!f || fputs(value, f) < 0 || fclose(f))
		die(path, errno);
}

/* lookup of a name among nsvc registered ones, in one server process:
 * ipcon_resolve, and for AF_UNIX SOCK_DGRAM a connect(2) to the abstract
 * name (the lookup a datagram send by name does). SEQPACKET's connect is a
 * handshake with accept, and TIPC has no lookup call of its own (its
 * sends by name look up inside the send): neither is measured here. */
static void w_lookup(enum mech m, int nsvc)
{
	int iters = quick ? 100 : 2000;
	double vals[16], *lat = calloc(iters, sizeof(double));
	int ready[2], stop[2], r, i;
	char workload[64];
	struct ep c;
	pid_t pid;

	if (!lat)
		die("calloc", ENOMEM);
	xpipe(ready);
	xpipe(stop);
	pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		int *fds = calloc(nsvc, sizeof(int));
		struct ep e;
		char name[IPCON_NAME_SIZE];
		int err;

		if (!fds)
			die("calloc", ENOMEM);
		if (m == M_IPCON) {
			ep_open(&e, m);
			for (i = 0; i < nsvc; i++) {
				service_name(name, sizeof(name), 1000 + i);
				err = ipcon_register_service(e.peer, name);
				if (err)
					die("ipcon_register_service", err);
			}
		} else {
			for (i = 0; i < nsvc; i++) {
				struct sockaddr_un un;
				socklen_t len = unix_addr(&un, 1000 + i);

				fds[i] = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
				if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&un, len))
					die("AF_UNIX bind", errno);
			}
		}
		put_byte(ready[1], 'r');
		get_byte(stop[0]);
		if (m == M_IPCON)
			ep_close(&e);
		for (i = 0; m != M_IPCON && i < nsvc; i++)
			close(fds[i]);
		free(fds);
		_exit(0);
	}
	get_byte(ready[0]);
	ep_open(&c, m);
	srand(1);
	for (r = 0; r < reps; r++) {
		for (i = 0; i < iters; i++) {
			int k = 1000 + rand() % nsvc;
			char name[IPCON_NAME_SIZE];
			struct sockaddr_un un;
			socklen_t len;
			uint32_t port;
			double t;
			int err;

			if (m == M_IPCON) {
				service_name(name, sizeof(name), k);
				t = now_us();
				err = ipcon_resolve(c.peer, name, &port);
				lat[i] = now_us() - t;
				if (err)
					die("ipcon_resolve", err);
			} else {
				struct sockaddr unspec = { .sa_family = AF_UNSPEC };

				len = unix_addr(&un, k);
				t = now_us();
				if (connect(c.fd, (struct sockaddr *)&un, len))
					die("AF_UNIX connect", errno);
				lat[i] = now_us() - t;
				connect(c.fd, &unspec, sizeof(unspec));
			}
		}
		vals[r] = median(lat, iters);
	}
	put_byte(stop[1], 's');
	reap(pid);
	ep_close(&c);
	close_pipe(ready);
	close_pipe(stop);
	free(lat);
	snprintf(workload, sizeof(workload), "lookup_%d", nsvc);
	report(workload, m, "us", vals, reps);
}

/* 8 clients calling one service at once: the service's replies/s */
static void w_many_clients(enum mech m)
{
	enum { CLIENTS = 8 };
	int count = quick ? 50 : 500;
	int ready[2], start[2], sready[2], r, i;
	double vals[16];
	pid_t srv, pids[CLIENTS];

	memset(sbuf, 0x33, 64);
	xpipe(ready);
	xpipe(start);
	xpipe(sready);
	srv = echo_server(m, 1, sready[1]);
	get_byte(sready[0]);
	for (r = 0; r < reps; r++) {
		double t;

		for (i = 0; i < CLIENTS; i++) {
			pids[i] = fork();
			if (pids[i] < 0)
				die("fork", errno);
			if (pids[i] == 0) {
				struct ep c;
				const void *d;
				int n;

				ep_open(&c, m);
				ep_connect(&c, 1);
				put_byte(ready[1], 'r');
				get_byte(start[0]);
				for (n = 0; n < count; n++) {
					ep_send(&c, 1, sbuf, 64);
					if (ep_recv(&c, rbuf, sizeof(rbuf), &d) != 64)
						die("a reply of the wrong size", EPROTO);
				}
				ep_close(&c);
				_exit(0);
			}
		}
		get_bytes(ready[0], CLIENTS);
		t = now_us();
		for (i = 0; i < CLIENTS; i++)
			put_byte(start[1], 's');
		for (i = 0; i < CLIENTS; i++)
			reap(pids[i]);
		t = now_us() - t;
		vals[r] = CLIENTS * count / (t / 1e6);
	}
	{
		struct ep c;

		ep_open(&c, m);
		ep_connect(&c, 1);
		ep_send(&c, 1, "q", 1);
		ep_close(&c);
		reap(srv);
	}
	close_pipe(ready);
	close_pipe(start);
	close_pipe(sready);
	report("clients_8_replies", m, "msg/s", vals, reps);
}

/* tipc_top_wait: the next event of the topology subscription on fd */
static uint32_t tipc_top_wait(int fd)
{
	struct tipc_event ev;

	if (recv(fd, &ev, sizeof(ev), 0) != sizeof(ev))
		die("TIPC topology recv", errno);
	return ev.event;
}

/* peer death: from kill(SIGKILL) of a peer until a watcher learns it
 * (ipcon: PEER_GONE; SEQPACKET: EOF; TIPC: WITHDRAWN from the topology
 * service). AF_UNIX datagrams have no such notice. */
/* ipcon_wait_event: read e's deliveries until an event of this kind */
static void ipcon_wait_event(struct ep *e, unsigned int kind)
{
	int err;

	for (;;) {
		err = ipcon_recv(e->peer, rbuf, sizeof(rbuf), &e->msg);
		if (err)
			die("ipcon_recv", err);
		if (e->msg.kind == IPCON_MSG_EVENT && e->msg.u.event.kind == kind)
			return;
	}
}

static void w_death(enum mech m)
{
	int iters = quick ? 3 : 15;
	double vals[16], *lat = calloc(iters, sizeof(double));
	struct ep w;
	int r, i, top = -1, err;

	if (!lat)
		die("calloc", ENOMEM);
	if (m == M_IPCON) {
		ep_open(&w, m);
		err = ipcon_subscribe_events(w.peer);
		if (err)
			die("ipcon_subscribe_events", err);
	} else if (m == M_USEQ) {
		ep_bind(&w, m, 200);
	} else {
		struct sockaddr_tipc top_addr = {
			.family = AF_TIPC,
			.addrtype = TIPC_SERVICE_ADDR,
			.addr.name.name.type = TIPC_TOP_SRV,
			.addr.name.name.instance = TIPC_TOP_SRV,
			.addr.name.domain = 0,
		};
		struct tipc_subscr sub = {
			.seq.type = BENCH_TIPC_TYPE,
			.seq.lower = 300,
			.seq.upper = 300,
			.timeout = TIPC_WAIT_FOREVER,
			.filter = TIPC_SUB_PORTS,
		};

		top = socket(AF_TIPC, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (top < 0 || connect(top, (struct sockaddr *)&top_addr, sizeof(top_addr)))
			die("TIPC topology service connect", errno);
		if (send(top, &sub, sizeof(sub), 0) != sizeof(sub))
			die("TIPC topology subscribe", errno);
	}
	for (r = 0; r < reps; r++) {
		for (i = 0; i < iters; i++) {
			int ready[2];
			pid_t pid;
			double t;
			int conn = -1;

			xpipe(ready);
			pid = fork();
			if (pid < 0)
				die("fork", errno);
			if (pid == 0) {
				struct ep v;

				if (m == M_USEQ) {
					ep_open(&v, m);
					ep_connect(&v, 200);
				} else {
					ep_bind(&v, m, 300);
				}
				put_byte(ready[1], 'r');
				pause();
				_exit(0);
			}
			get_byte(ready[0]);
			if (m == M_USEQ) {
				conn = accept4(w.fd, NULL, NULL, SOCK_CLOEXEC);
				if (conn < 0)
					die("accept", errno);
			} else if (m == M_TIPC) {
				if (tipc_top_wait(top) != TIPC_PUBLISHED)
					die("TIPC topology: no PUBLISHED event", EPROTO);
			} else {
				/* its SERVICE_ADDED, as TIPC's PUBLISHED above: read
				 * before the clock starts, not counted in the death */
				ipcon_wait_event(&w, IPCON_EVENT_SERVICE_ADDED);
			}
			t = now_us();
			kill(pid, SIGKILL);
			if (m == M_IPCON) {
				ipcon_wait_event(&w, IPCON_EVENT_PEER_GONE);
			} else if (m == M_USEQ) {
				if (recv(conn, rbuf, sizeof(rbuf), 0) != 0)
					die("SEQPACKET: no EOF", EPROTO);
			} else {
				if (tipc_top_wait(top) != TIPC_WITHDRAWN)
					die("TIPC topology: no WITHDRAWN event", EPROTO);
			}
			lat[i] = now_us() - t;
			waitpid(pid, NULL, 0);
			if (conn >= 0)
				close(conn);
			close_pipe(ready);
		}
		vals[r] = median(lat, iters);
	}
	if (top >= 0)
		close(top);
	else
		ep_close(&w);
	free(lat);
	report("peer_death", m, "us", vals, reps);
}

static bool on(enum mech m)
{
	return mech_on[m] && (m != M_TIPC || tipc_ok);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: ipcon-compare [OPTION]...\n"
		"\n"
		"Runs the same workloads over ipcon, AF_UNIX SOCK_DGRAM, AF_UNIX\n"
		"SOCK_SEQPACKET and TIPC RDM (client and server in separate processes)\n"
		"and prints, for each, the median of N repetitions (default 5) with their\n"
		"minimum and maximum. Needs root, the ipcon module and the tipc module.\n"
		"\n"
		"  --quick      few iterations and repetitions: proves it works\n"
		"  --reps N     repetitions per figure (1-15)\n"
		"  --csv FILE   also append '@@ bench' lines: workload,mechanism,unit,median,min,max,reps\n"
		"  --only LIST  mechanisms to run: ipcon,unix_dgram,unix_seqpacket,tipc_rdm\n"
		"  --workload LIST  workloads to run: rtt,throughput,multicast,lookup,clients,peer_death\n"
		"  --size BYTES round trips with this payload only: 64, 1024, 16384 or 65536\n"
		"  --subscribers N  multicast to this many subscribers only: 1, 4, 16 or 64\n");
}

/*
 * parse_list - turn on the n entries of names that the comma-separated
 * list names, the others off; exit 2 naming an unknown entry.
 */
static void parse_list(const char *opt, const char *list, const char *const *names,
		       bool *enabled, int n)
{
	char *copy = strdup(list), *tok, *save;
	int i;

	if (!copy)
		die("strdup", ENOMEM);
	for (i = 0; i < n; i++)
		enabled[i] = false;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < n && strcmp(tok, names[i]); i++)
			;
		if (i == n) {
			fprintf(stderr, "ipcon-compare: %s: unknown name '%s'\n", opt, tok);
			exit(2);
		}
		enabled[i] = true;
	}
	free(copy);
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 64, 1024, 16384, 65536 };
	static const int fans[] = { 1, 4, 16, 64 };
	static const int lookups[] = { 10, 1000, 10000 };
	struct rlimit nofile = { 20000, 20000 };
	char old_max[32];
	struct utsname u;
	int i, m, s;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			quick = true;
		} else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
			reps = atoi(argv[++i]);
			if (reps < 1 || reps > 15) {
				fprintf(stderr, "ipcon-compare: --reps: 1 to 15\n");
				return 2;
			}
		} else if (!strcmp(argv[i], "--csv") && i + 1 < argc) {
			csv = fopen(argv[++i], "a");
			if (!csv)
				die(argv[i], errno);
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			parse_list("--only", argv[++i], mech_name, mech_on, M_COUNT);
		} else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
			only_size = strtoul(argv[++i], NULL, 10);
			for (s = 0; s < 4 && sizes[s] != only_size; s++)
				;
			if (s == 4) {
				fprintf(stderr, "ipcon-compare: --size: 64, 1024, 16384 or 65536\n");
				return 2;
			}
		} else if (!strcmp(argv[i], "--subscribers") && i + 1 < argc) {
			only_subs = atoi(argv[++i]);
			for (s = 0; s < 4 && fans[s] != only_subs; s++)
				;
			if (s == 4) {
				fprintf(stderr, "ipcon-compare: --subscribers: 1, 4, 16 or 64\n");
				return 2;
			}
		} else if (!strcmp(argv[i], "--workload") && i + 1 < argc) {
			parse_list("--workload", argv[++i], workload_name, workload_on, W_COUNT);
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (quick && reps == 5)
		reps = 2;
	signal(SIGPIPE, SIG_IGN);
	if (setrlimit(RLIMIT_NOFILE, &nofile))
		die("setrlimit(RLIMIT_NOFILE, 20000)", errno);
	s = socket(AF_TIPC, SOCK_RDM, 0);
	if (s < 0) {
		fprintf(stderr, "ipcon-compare: no TIPC (%s): load the tipc module; going on without it\n",
			strerror(errno));
		tipc_ok = false;
	} else {
		close(s);
	}
	uname(&u);
	printf("ipcon-compare: %s %s, libipcon %s, %d repetitions per figure%s\n",
	       u.release, u.machine, ipcon_version(), reps, quick ? " (quick)" : "");
	printf("  (client and server in separate processes; latencies are medians of each repetition's samples)\n");
	if (csv)
		fprintf(csv, "@@ bench-info kernel=%s machine=%s reps=%d quick=%d\n",
			u.release, u.machine, reps, quick);
	for (s = 0; s < 4 && workload_on[W_RTT]; s++)
		for (m = 0; m < M_COUNT; m++)
			if (on(m) && (!only_size || sizes[s] == only_size))
				w_rtt(m, sizes[s]);
	for (s = 1; s <= 2 && workload_on[W_THROUGHPUT]; s++)
		for (m = 0; m < M_COUNT; m++)
			if (on(m)) {
				w_throughput(m, 64, s);
				w_throughput(m, 16384, s);
			}
	for (s = 0; s < 4 && workload_on[W_MULTICAST]; s++)
		for (m = 0; m < M_COUNT; m++)
			if (on(m) && (only_subs ? fans[s] == only_subs : !quick || fans[s] <= 16))
				w_multicast(m, fans[s]);
	write_param("max_services", "0", old_max, sizeof(old_max));
	for (s = 0; s < 3 && workload_on[W_LOOKUP]; s++)
		for (m = 0; m < M_COUNT; m++)
			if ((m == M_IPCON || m == M_UDGRAM) && on(m) && (!quick || lookups[s] <= 1000))
				w_lookup(m, lookups[s]);
	write_param("max_services", old_max, NULL, 0);
	for (m = 0; m < M_COUNT; m++)
		if (on(m) && workload_on[W_CLIENTS])
			w_many_clients(m);
	for (m = 0; m < M_COUNT; m++)
		if (m != M_UDGRAM && on(m) && workload_on[W_DEATH])
			w_death(m);
	if (csv)
		fclose(csv);
	return 0;
}
