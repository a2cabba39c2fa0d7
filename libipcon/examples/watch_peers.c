/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * Watch services, groups and peers come and go: subscribe to the kernel's
 * events and print them, with the owner's credentials, until N events
 * (or forever). Uses poll(2) on the peer's descriptor, as an event loop
 * with other descriptors would.
 *
 *   watch_peers_c [--count N]
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipcon.h>

static unsigned char buf[IPCON_RECV_BUFFER_SIZE];

static const char *kind_name(unsigned int kind)
{
	switch (kind) {
	case IPCON_EVENT_PEER_GONE: return "peer-gone";
	case IPCON_EVENT_SERVICE_ADDED: return "service-added";
	case IPCON_EVENT_SERVICE_REMOVED: return "service-removed";
	case IPCON_EVENT_GROUP_ADDED: return "group-added";
	case IPCON_EVENT_GROUP_REMOVED: return "group-removed";
	default: return "unknown";
	}
}

int main(int argc, char **argv)
{
	struct ipcon_peer *peer;
	struct pollfd pfd;
	long count = -1, seen = 0;
	int err;

	if (argc == 3 && !strcmp(argv[1], "--count")) {
		count = strtol(argv[2], NULL, 10);
	} else if (argc != 1) {
		fprintf(stderr, "usage: watch_peers_c [--count N]\n");
		return 2;
	}
	err = ipcon_open(&peer);
	if (!err)
		err = ipcon_subscribe_events(peer);
	if (err) {
		fprintf(stderr, "watch_peers_c: %s\n", ipcon_strerror(err));
		return 1;
	}
	printf("watch_peers_c: watching as port %" PRIu32 "\n", ipcon_port(peer));
	fflush(stdout);
	pfd.fd = ipcon_fd(peer);
	pfd.events = POLLIN;
	while (count < 0 || seen < count) {
		struct ipcon_message msg;

		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("watch_peers_c: poll");
			break;
		}
		/* drain: every message queued, until -EAGAIN */
		while ((count < 0 || seen < count) &&
		       (err = ipcon_try_recv(peer, buf, sizeof(buf), &msg)) != -EAGAIN) {
			if (err) {
				fprintf(stderr, "watch_peers_c: %s\n", ipcon_strerror(err));
				continue;
			}
			if (msg.kind == IPCON_MSG_LOST && !msg.u.lost.group[0]) {
				printf("watch_peers_c: %" PRIu32 " events lost\n", msg.u.lost.count);
			} else if (msg.kind == IPCON_MSG_EVENT) {
				const struct ipcon_event *ev = &msg.u.event;

				printf("watch_peers_c: %s %s port %" PRIu32 " id %" PRIu64 " uid %" PRIu32 "\n",
				       kind_name(ev->kind), ev->name[0] ? ev->name : "-", ev->peer.port,
				       ev->peer.id, ev->peer.uid);
				seen++;
			}
			fflush(stdout);
		}
	}
	ipcon_close(peer);
	return 0;
}
