/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * Request/response, the client: the C twin of the crate's rpc_client
 * example. Sends each argument to "example.sum" and prints the reply;
 * waits up to 5 s for the service to appear and for each reply.
 *
 *   rpc_client_c "1 2 3" "40 2"
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <ipcon.h>

#define SERVICE "example.sum"
#define WAIT_MS 5000

static unsigned char buf[IPCON_RECV_BUFFER_SIZE];

static long elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* The service's owner, waiting for it to register; 0 or a negative errno. */
static int find_service(struct ipcon_peer *peer, struct ipcon_owner *owner)
{
	struct timespec start, pause = { 0, 50 * 1000 * 1000 };
	int err;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while ((err = ipcon_resolve_owner(peer, SERVICE, owner)) == -ENOENT &&
	       elapsed_ms(&start) < WAIT_MS)
		nanosleep(&pause, NULL);
	return err;
}

int main(int argc, char **argv)
{
	struct ipcon_peer *peer;
	struct ipcon_owner server;
	int i, err;

	err = ipcon_open(&peer);
	if (err) {
		fprintf(stderr, "rpc_client_c: %s\n", ipcon_strerror(err));
		return 1;
	}
	err = find_service(peer, &server);
	if (err) {
		fprintf(stderr, "rpc_client_c: no service %s after %ds: is rpc_server_c running? (%s)\n",
			SERVICE, WAIT_MS / 1000, ipcon_strerror(err));
		ipcon_close(peer);
		return 1;
	}
	for (i = 1; i < argc && !err; i++) {
		struct ipcon_message msg;

		/* to the id: the reply can only come from the server we resolved */
		err = ipcon_send_to_id(peer, server.id, argv[i], strlen(argv[i]));
		if (err) {
			fprintf(stderr, "rpc_client_c: sending: %s\n", ipcon_strerror(err));
			break;
		}
		do {
			err = ipcon_recv_timeout(peer, buf, sizeof(buf), WAIT_MS, &msg);
		} while (!err && (msg.kind != IPCON_MSG_UNICAST || msg.u.unicast.sender.id != server.id));
		if (err) {
			fprintf(stderr, "rpc_client_c: no reply: %s\n", ipcon_strerror(err));
			break;
		}
		printf("rpc_client_c: %s = %.*s\n", argv[i], (int)msg.u.unicast.len,
		       (const char *)msg.u.unicast.data);
	}
	ipcon_close(peer);
	return err ? 1 : 0;
}
