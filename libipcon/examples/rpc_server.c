/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * Request/response, the server: the C twin of the crate's rpc_server
 * example. Serves "example.sum": a request is integers separated by
 * spaces, the reply their sum (or "error: ..."). Each reply goes to the
 * requester's id, so a newcomer on a reused port never gets it.
 *
 *   rpc_server_c [--count N]     answer N requests, then exit
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipcon.h>

#define SERVICE "example.sum"

static unsigned char buf[IPCON_RECV_BUFFER_SIZE];

/* The reply to one request, in out. */
static void sum(const char *req, size_t len, char *out, size_t outlen)
{
	char text[256], *word, *save = NULL;
	long long total = 0;

	if (len >= sizeof(text)) {
		snprintf(out, outlen, "error: request too long");
		return;
	}
	memcpy(text, req, len);
	text[len] = '\0';
	for (word = strtok_r(text, " ", &save); word; word = strtok_r(NULL, " ", &save)) {
		char *end;
		long long n;

		errno = 0;
		n = strtoll(word, &end, 10);
		if (*end || end == word || errno) {
			snprintf(out, outlen, "error: not an integer: %s", word);
			return;
		}
		if ((n > 0 && total > LLONG_MAX - n) || (n < 0 && total < LLONG_MIN - n)) {
			snprintf(out, outlen, "error: overflow");
			return;
		}
		total += n;
	}
	snprintf(out, outlen, "%lld", total);
}

int main(int argc, char **argv)
{
	struct ipcon_peer *peer;
	long count = -1, answered = 0;
	int err;

	if (argc == 3 && !strcmp(argv[1], "--count")) {
		count = strtol(argv[2], NULL, 10);
	} else if (argc != 1) {
		fprintf(stderr, "usage: rpc_server_c [--count N]\n");
		return 2;
	}
	err = ipcon_open(&peer);
	if (err) {
		fprintf(stderr, "rpc_server_c: %s\n", ipcon_strerror(err));
		return 1;
	}
	err = ipcon_register_service(peer, SERVICE);
	if (err) {
		fprintf(stderr, "rpc_server_c: %s: %s\n", SERVICE, ipcon_strerror(err));
		ipcon_close(peer);
		return 1;
	}
	printf("rpc_server_c: serving %s on port %" PRIu32 "\n", SERVICE, ipcon_port(peer));
	fflush(stdout);
	while (count < 0 || answered < count) {
		struct ipcon_message msg;
		const struct ipcon_unicast *req = &msg.u.unicast;
		char reply[128];

		err = ipcon_recv(peer, buf, sizeof(buf), &msg);
		if (err == -EINTR || err == -ENOSPC || err == -EPROTO)
			continue; /* the peer is still usable */
		if (err) {
			fprintf(stderr, "rpc_server_c: %s\n", ipcon_strerror(err));
			break;
		}
		if (msg.kind != IPCON_MSG_UNICAST)
			continue;
		sum(req->data, req->len, reply, sizeof(reply));
		printf("rpc_server_c: port %" PRIu32 " (pid %" PRIu32 ", uid %" PRIu32 "): \"%.*s\" -> \"%s\"\n",
		       req->sender.port, req->sender.pid, req->sender.uid,
		       (int)req->len, (const char *)req->data, reply);
		fflush(stdout);
		err = ipcon_send_to_id(peer, req->sender.id, reply, strlen(reply));
		if (err) /* a client that has gone away is not the server's problem */
			printf("rpc_server_c: reply to port %" PRIu32 " dropped: %s\n",
			       req->sender.port, ipcon_strerror(err));
		answered++;
	}
	ipcon_close(peer);
	return err ? 1 : 0;
}
