/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * ipcon: packet IPC over Generic Netlink -- the wire ABI.
 *
 * This header is the single source of truth for the protocol spoken between
 * the ipcon kernel module and its clients. Everything on the wire is a
 * netlink header, a genetlink header (version IPCON_GENL_VERSION) and
 * netlink attributes; there is no binary struct whose size depends on the
 * architecture, so 32-bit and 64-bit processes and kernels agree byte for
 * byte. Integers are host-endian u32 (u64 only for the pairing token, padded
 * with IPCON_A_PAD). Strings are NUL-terminated.
 *
 * Family name: "IPCON" (IPCON_GENL_NAME), resolved through nlctrl.
 *
 * Peers
 * -----
 * Every netlink socket that sends a command to the family is a peer,
 * identified by its netlink port id, within its network namespace. A client
 * that wants synchronous requests and asynchronous messages on separate
 * sockets pairs two sockets into one peer:
 *
 *   IPCON_CMD_PAIR_START   sent on the receive socket R
 *     reply: IPCON_A_TOKEN u64 (random, single use)
 *   IPCON_CMD_PAIR         sent on the control socket C
 *     IPCON_A_PORT u32     port of R
 *     IPCON_A_TOKEN u64    the token R received
 *
 * After pairing, commands sent on C act for the peer whose port is R: the
 * peer's address, the sender stamped on its messages and the destination of
 * everything the kernel delivers to it is R. A socket that never pairs is a
 * peer of its own (commands and deliveries on one socket). Closing either
 * socket of a pair ends the peer; commands on the socket left open then
 * fail with ENOTCONN. PAIR_START should be R's first command: R is a live
 * peer (it can receive) from its first command on. C must not have sent
 * commands that created state of its own (EBUSY); if it only sent e.g. a
 * resolve, that stateless peer ends (IPCON_EV_PEER_GONE) when C pairs.
 * IPCON_A_PAD may precede IPCON_A_TOKEN; it must be empty.
 *
 * Names
 * -----
 * Service and group names are 1 to IPCON_NAME_MAX bytes from the set
 * [A-Za-z0-9._:-], sent NUL-terminated. Services and groups live in separate
 * name spaces, each unique per network namespace.
 *
 * Requests (client to kernel; NLM_F_REQUEST, NLM_F_ACK expected)
 * ---------------------------------------------------------------
 *   IPCON_CMD_SRV_REG      IPCON_A_NAME              register a service
 *   IPCON_CMD_SRV_UNREG    IPCON_A_NAME              remove own service
 *   IPCON_CMD_SRV_RESOLVE  IPCON_A_NAME
 *     reply: IPCON_CMD_SRV_RESOLVE  IPCON_A_NAME, IPCON_A_PORT
 *   IPCON_CMD_SRV_LIST     (dump, NLM_F_DUMP)
 *     one message per service: IPCON_A_NAME, IPCON_A_PORT
 *   IPCON_CMD_GRP_REG      IPCON_A_NAME, [IPCON_A_FLAGS: IPCON_GRP_F_*]
 *   IPCON_CMD_GRP_UNREG    IPCON_A_NAME              remove own group
 *   IPCON_CMD_GRP_JOIN     IPCON_A_NAME, [IPCON_A_FLAGS: IPCON_JOIN_F_*]
 *   IPCON_CMD_GRP_LEAVE    IPCON_A_NAME
 *   IPCON_CMD_GRP_LIST     (dump, NLM_F_DUMP)
 *     one message per group: IPCON_A_NAME, IPCON_A_PORT (owner),
 *     IPCON_A_COUNT (members), IPCON_A_FLAGS (IPCON_GRP_F_*)
 *   IPCON_CMD_SEND         IPCON_A_PORT or IPCON_A_NAME (exactly one),
 *                          [IPCON_A_SRC_NAME], IPCON_A_DATA...
 *   IPCON_CMD_PUBLISH      IPCON_A_NAME (an own group), IPCON_A_DATA...
 *   IPCON_CMD_EVENTS_SUB   subscribe to kernel events
 *   IPCON_CMD_EVENTS_UNSUB
 *
 * Payloads: zero or more IPCON_A_DATA attributes, each at most
 * IPCON_CHUNK_MAX bytes, concatenated in order, IPCON_PAYLOAD_MAX bytes in
 * total (a netlink attribute cannot exceed 65535 bytes, hence the chunks).
 * Chunk boundaries carry no meaning: the kernel delivers the payload in as
 * few IPCON_A_DATA attributes as possible.
 *
 * The genetlink header's reserved field must be 0 and nlmsg_flags may only
 * hold NLM_F_REQUEST, NLM_F_ACK, NLM_F_ECHO and NLM_F_DUMP (else EINVAL).
 *
 * Deliveries (kernel to peer, netlink source port 0, never acknowledged)
 * ---------------------------------------------------------------------
 *   IPCON_CMD_MSG      unicast: IPCON_A_SRC_PORT, [IPCON_A_SRC_NAME],
 *                      [IPCON_A_NAME: the service it was addressed to],
 *                      IPCON_A_UID, IPCON_A_GID, IPCON_A_PID, IPCON_A_DATA...
 *   IPCON_CMD_GRP_MSG  group message: IPCON_A_NAME (group), IPCON_A_SRC_PORT,
 *                      [IPCON_A_SRC_NAME], IPCON_A_UID, IPCON_A_GID,
 *                      IPCON_A_PID, IPCON_A_FLAGS (IPCON_MSG_F_*),
 *                      IPCON_A_DATA...
 *   IPCON_CMD_EVENT    IPCON_A_EVENT (IPCON_EV_*), IPCON_A_PORT,
 *                      [IPCON_A_NAME]
 *   IPCON_CMD_LOST     IPCON_A_COUNT messages were dropped because the
 *                      peer's receive queue was full; with IPCON_A_NAME they
 *                      were messages of that group, without it events.
 *                      Sent before the next message that does get through.
 *
 * A delivery that finds the receive queue full is dropped, and netlink marks
 * the socket: its next recv() fails once with ENOBUFS (unless the socket set
 * NETLINK_NO_ENOBUFS) and further deliveries are dropped until the queue has
 * been read empty. IPCON_CMD_LOST then says what was lost. Receive sockets
 * must not connect(2) to a port, or deliveries are refused.
 *
 * The sender stamp is set by the kernel: SRC_PORT is the sending peer, SRC_NAME
 * the service named in the request's IPCON_A_SRC_NAME (which the sender must
 * own) or else the sender's oldest service, UID/GID the sender's effective
 * ids in the user namespace owning the network namespace, PID its thread
 * group id in its own pid namespace.
 *
 * Errors (negative errno in the netlink ack)
 * ------------------------------------------
 *   EINVAL        missing, malformed or oversized attribute; invalid name
 *   EOPNOTSUPP    unknown command or unknown flag bits
 *   EBADR         SEND with both or neither of IPCON_A_PORT and IPCON_A_NAME
 *   EMSGSIZE      payload larger than IPCON_PAYLOAD_MAX
 *   EEXIST        name already registered
 *   ENOENT        no such service or group
 *   EPERM         the name belongs to another peer
 *   EALREADY      already a member / already subscribed
 *   ENOTCONN      not a member / not subscribed; or the other socket of
 *                 the sender's pair was closed (the peer is gone)
 *   ECONNREFUSED  destination port is not a live ipcon peer
 *   ENOBUFS       destination receive queue is full; nothing was delivered
 *   EBUSY         pairing a socket that is already paired or has state;
 *                 or the sender's port still belongs to a socket being
 *                 closed (transient, retry)
 *   EACCES        pairing token does not match
 *   ENOMEM        out of memory
 */
#ifndef _UAPI_LINUX_IPCON_H
#define _UAPI_LINUX_IPCON_H

#define IPCON_GENL_NAME		"IPCON"
#define IPCON_GENL_VERSION	1

/* Longest service or group name, in bytes, without the terminating NUL. */
#define IPCON_NAME_MAX		63
/* Largest payload of one message, in bytes. */
#define IPCON_PAYLOAD_MAX	65536
/* Largest single IPCON_A_DATA attribute, in bytes. */
#define IPCON_CHUNK_MAX		32768

enum ipcon_cmd {
	IPCON_CMD_UNSPEC,
	IPCON_CMD_PAIR_START,
	IPCON_CMD_PAIR,
	IPCON_CMD_SRV_REG,
	IPCON_CMD_SRV_UNREG,
	IPCON_CMD_SRV_RESOLVE,
	IPCON_CMD_SRV_LIST,
	IPCON_CMD_GRP_REG,
	IPCON_CMD_GRP_UNREG,
	IPCON_CMD_GRP_JOIN,
	IPCON_CMD_GRP_LEAVE,
	IPCON_CMD_GRP_LIST,
	IPCON_CMD_SEND,
	IPCON_CMD_PUBLISH,
	IPCON_CMD_EVENTS_SUB,
	IPCON_CMD_EVENTS_UNSUB,
	IPCON_CMD_MSG,
	IPCON_CMD_GRP_MSG,
	IPCON_CMD_EVENT,
	IPCON_CMD_LOST,
	__IPCON_CMD_MAX
};

#define IPCON_CMD_MAX (__IPCON_CMD_MAX - 1)

enum ipcon_attr {
	IPCON_A_UNSPEC,
	IPCON_A_PAD,		/* alignment padding for u64 */
	IPCON_A_NAME,		/* string: service or group name */
	IPCON_A_PORT,		/* u32: peer port */
	IPCON_A_FLAGS,		/* u32: IPCON_GRP_F_, IPCON_JOIN_F_, IPCON_MSG_F_ */
	IPCON_A_DATA,		/* binary: payload chunk, repeated */
	IPCON_A_SRC_PORT,	/* u32: sending peer */
	IPCON_A_SRC_NAME,	/* string: sending peer's service */
	IPCON_A_UID,		/* u32 */
	IPCON_A_GID,		/* u32 */
	IPCON_A_PID,		/* u32 */
	IPCON_A_EVENT,		/* u32: IPCON_EV_* */
	IPCON_A_COUNT,		/* u32: members, or messages lost */
	IPCON_A_TOKEN,		/* u64: pairing token */
	__IPCON_A_MAX
};

#define IPCON_A_MAX (__IPCON_A_MAX - 1)

/* IPCON_CMD_GRP_REG flags */
#define IPCON_GRP_F_RETAIN	(1U << 0)	/* keep the last message */
#define __IPCON_GRP_F_ALL	(IPCON_GRP_F_RETAIN)

/* IPCON_CMD_GRP_JOIN flags */
#define IPCON_JOIN_F_LAST	(1U << 0)	/* deliver the retained message */
#define __IPCON_JOIN_F_ALL	(IPCON_JOIN_F_LAST)

/* IPCON_CMD_GRP_MSG flags */
#define IPCON_MSG_F_RETAINED	(1U << 0)	/* replay of the retained message */

enum ipcon_event {
	IPCON_EV_UNSPEC,
	IPCON_EV_PEER_GONE,	/* IPCON_A_PORT */
	IPCON_EV_SRV_ADDED,	/* IPCON_A_NAME, IPCON_A_PORT (owner) */
	IPCON_EV_SRV_REMOVED,	/* IPCON_A_NAME, IPCON_A_PORT (owner) */
	IPCON_EV_GRP_ADDED,	/* IPCON_A_NAME, IPCON_A_PORT (owner) */
	IPCON_EV_GRP_REMOVED,	/* IPCON_A_NAME, IPCON_A_PORT (owner) */
	__IPCON_EV_MAX
};

#define IPCON_EV_MAX (__IPCON_EV_MAX - 1)

#endif /* _UAPI_LINUX_IPCON_H */
