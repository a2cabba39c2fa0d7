/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * Publish/subscribe with a late joiner: a publisher registers a group
 * that retains its last message and publishes three readings; a
 * subscriber that joins afterwards with IPCON_JOIN_LAST still gets the
 * latest one first, then every later one.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <ipcon.h>

#define GROUP "example.c.readings"

static unsigned char buf[IPCON_RECV_BUFFER_SIZE];

static int check(int err, const char *what)
{
	if (err)
		fprintf(stderr, "pubsub_c: %s: %s\n", what, ipcon_strerror(err));
	return err;
}

static int publish(struct ipcon_peer *pub, const char *text)
{
	return check(ipcon_publish(pub, GROUP, text, strlen(text)), "publish");
}

/* Receive one group message and print it; 0 or a negative errno. */
static int show_next(struct ipcon_peer *sub)
{
	struct ipcon_message msg;
	int err;

	do {
		err = ipcon_recv_timeout(sub, buf, sizeof(buf), 5000, &msg);
	} while (!err && msg.kind != IPCON_MSG_GROUP);
	if (check(err, "receive"))
		return err;
	printf("pubsub_c: %s from port %" PRIu32 "%s: %.*s\n", msg.u.group.group,
	       msg.u.group.sender.port, msg.u.group.retained ? " (retained)" : "",
	       (int)msg.u.group.len, (const char *)msg.u.group.data);
	return 0;
}

int main(void)
{
	struct ipcon_peer *pub = NULL, *sub = NULL;
	int err = 0;

	if (check(ipcon_open(&pub), "open") || check(ipcon_open(&sub), "open") ||
	    check(ipcon_register_group(pub, GROUP, IPCON_GROUP_RETAIN), GROUP) ||
	    publish(pub, "21.0") || publish(pub, "21.5") || publish(pub, "22.0") ||
	    /* the late joiner gets the latest reading first */
	    check(ipcon_join(sub, GROUP, IPCON_JOIN_LAST), "join") || show_next(sub) ||
	    publish(pub, "22.5") || show_next(sub))
		err = 1;
	ipcon_close(sub);
	ipcon_close(pub);
	return err ? 1 : 0;
}
