/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * ipcon: packet IPC over Generic Netlink -- the wire ABI.
 *
 * This header is the single source of truth for the protocol spoken between
 * the ipcon kernel module and its clients. Everything on the wire is a
 * netlink header, a genetlink header (version IPCON_GENL_VERSION) and
 * netlink attributes; there is no binary struct whose size depends on the
 * architecture, so 32-bit and 64-bit processes and kernels agree byte for
 * byte. Integers are host-endian u32 (u64 for the pairing token and the
 * peer ids, each possibly preceded by an empty IPCON_A_PAD for alignment,
 * in requests and replies alike). Strings are NUL-terminated.
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
 *     reply: IPCON_A_TOKEN u64 (random, single use), IPCON_A_ID u64 (the
 *            peer's id, see Ids)
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
 * Each command accepts only the attributes listed for it here (and
 * IPCON_A_PAD before a u64); any other attribute is EINVAL.
 *   IPCON_CMD_SRV_REG      IPCON_A_NAME              register a service
 *   IPCON_CMD_SRV_UNREG    IPCON_A_NAME              remove own service
 *   IPCON_CMD_SRV_RESOLVE  IPCON_A_NAME
 *     reply: IPCON_CMD_SRV_RESOLVE  IPCON_A_NAME, IPCON_A_PORT, IPCON_A_ID,
 *            IPCON_A_UID, IPCON_A_GID (the owner)
 *   IPCON_CMD_SRV_LIST     (dump, NLM_F_DUMP)
 *     one message per service: IPCON_A_NAME, IPCON_A_PORT, IPCON_A_ID,
 *     IPCON_A_UID, IPCON_A_GID (the owner)
 *   IPCON_CMD_GRP_REG      IPCON_A_NAME, [IPCON_A_FLAGS: IPCON_GRP_F_*]
 *   IPCON_CMD_GRP_UNREG    IPCON_A_NAME              remove own group
 *   IPCON_CMD_GRP_JOIN     IPCON_A_NAME, [IPCON_A_FLAGS: IPCON_JOIN_F_*]
 *   IPCON_CMD_GRP_LEAVE    IPCON_A_NAME
 *   IPCON_CMD_GRP_LIST     (dump, NLM_F_DUMP)
 *     one message per group: IPCON_A_NAME, IPCON_A_PORT, IPCON_A_ID,
 *     IPCON_A_UID, IPCON_A_GID (the owner), IPCON_A_COUNT (members),
 *     IPCON_A_FLAGS (IPCON_GRP_F_*)
 *   IPCON_CMD_SEND         IPCON_A_PORT, IPCON_A_NAME or IPCON_A_ID
 *                          (exactly one), [IPCON_A_SRC_NAME],
 *                          IPCON_A_DATA...
 *   IPCON_CMD_PUBLISH      IPCON_A_NAME (an own group), IPCON_A_DATA...
 *                          (the stamp names the owner's oldest service)
 *   IPCON_CMD_EVENTS_SUB   subscribe to kernel events
 *   IPCON_CMD_EVENTS_UNSUB
 *   IPCON_CMD_POLICY_SET   IPCON_A_POLICY_DEFAULT, IPCON_A_RULE...
 *                          (needs CAP_NET_ADMIN, see Policy)
 *   IPCON_CMD_POLICY_GET   (dump, NLM_F_DUMP; needs CAP_NET_ADMIN)
 *     first message: IPCON_A_POLICY_DEFAULT, IPCON_A_COUNT (rules);
 *     then one message per rule, in order: IPCON_A_RULE
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
 *                      IPCON_A_UID, IPCON_A_GID, IPCON_A_PID,
 *                      IPCON_A_SRC_ID, IPCON_A_DATA...
 *   IPCON_CMD_GRP_MSG  group message: IPCON_A_NAME (group), IPCON_A_SRC_PORT,
 *                      [IPCON_A_SRC_NAME], IPCON_A_UID, IPCON_A_GID,
 *                      IPCON_A_PID, IPCON_A_SRC_ID,
 *                      IPCON_A_FLAGS (IPCON_MSG_F_*), IPCON_A_DATA...
 *   IPCON_CMD_EVENT    IPCON_A_EVENT (IPCON_EV_*), IPCON_A_PORT,
 *                      IPCON_A_ID, IPCON_A_UID, IPCON_A_GID (the peer the
 *                      event is about, or the name's owner), [IPCON_A_NAME]
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
 * The sender stamp is set by the kernel: SRC_PORT is the sending peer,
 * SRC_ID its id, SRC_NAME the service named in the request's
 * IPCON_A_SRC_NAME (which the sender must own) or else the sender's oldest
 * service. UID/GID are the effective ids, in the user namespace owning the
 * network namespace, of the credentials the peer's receive socket was
 * opened with (not of the task that happens to write to a socket, so a
 * socket handed to a more privileged program keeps speaking for its
 * opener). PID is the thread group id of the process that created the peer
 * (sent its first request), as seen from the pid namespace of the process
 * that created the receiving peer; 0 if it has no number there.
 *
 * Ids
 * ---
 * Every peer gets a u64 id when it is created, unique for the life of the
 * network namespace and never reused (a port is reused as soon as a
 * socket is closed). SEND with IPCON_A_ID reaches that peer or fails with
 * ECONNREFUSED; it never reaches a newer socket on the same port. Nothing
 * is delivered to a peer whose receive socket is being closed: its port
 * may already belong to another socket.
 * Deliveries carry IPCON_A_SRC_ID, events, RESOLVE and the list dumps
 * carry IPCON_A_ID. u64 attributes are preceded by IPCON_A_PAD where
 * alignment needs it.
 *
 * Policy
 * ------
 * Each network namespace has one policy: a default (IPCON_POLICY_ALLOW,
 * the initial state, or IPCON_POLICY_DENY) and up to IPCON_POLICY_RULES_MAX
 * rules. A rule (IPCON_A_RULE, nested) is IPCON_RULE_A_ACTION
 * (IPCON_ACT_OWN: register a service or group of that name; IPCON_ACT_SEND:
 * unicast to that service; IPCON_ACT_JOIN: join that group),
 * IPCON_RULE_A_PATTERN (a name, or a prefix of one followed by '*'; "*"
 * alone matches every name) and at most one of IPCON_RULE_A_UID and
 * IPCON_RULE_A_GID (neither: anyone), read in the user namespace that owns
 * the network namespace. A gid matches the effective or any supplementary
 * group. IPCON_A_POLICY_DEFAULT is required in POLICY_SET. For an action
 * on a name, the most specific pattern of that action that matches decides
 * (an exact name over any prefix, a longer prefix over a shorter one): the
 * action is allowed if any rule with that pattern names the peer; if no
 * pattern matches, the default decides. The identity checked is the
 * peer's (see the sender stamp).
 *
 * SEND by port or by id to a peer that owns services is checked as a send
 * to each of them, and must be allowed for all; a peer that owns no service
 * (a client waiting for a reply) can always be sent to. IPCON_CMD_POLICY_SET
 * replaces the whole policy at once (nothing is applied if any rule is
 * invalid) and applies it to what exists: services, groups and memberships
 * the new policy would refuse are removed (with the usual _REMOVED events).
 * A denial is EACCES; with NETLINK_EXT_ACK the ack says whether a rule or
 * the default denied, and its cookie (NLMSGERR_ATTR_COOKIE) is a u64: the
 * number of the first rule with the deciding pattern (1 is the first rule
 * of the policy), 0 when the default denied.
 *
 * Per-user limits
 * ---------------
 * Services, groups, memberships and event subscriptions per user (the
 * peer's effective uid) and network namespace, and the memory (skb
 * truesize) held by a user's retained messages, are capped by module
 * parameters (max_services, max_groups, max_memberships, max_subscriptions,
 * max_retained_bytes; 0 means no limit). Going over fails with EDQUOT, and
 * nothing of the request is applied (a retained publish over the limit is
 * delivered to no one). Retained messages are charged to the memory cgroup
 * of the publishing task.
 *
 * Errors (negative errno in the netlink ack)
 * ------------------------------------------
 *   EINVAL        missing, malformed or oversized attribute; an attribute
 *                 the command does not use; unknown flag bits; invalid
 *                 name (bytes after its NUL included), pattern or rule; a
 *                 uid or gid with no mapping
 *   EOPNOTSUPP    unknown command
 *   EBADR         SEND without exactly one of IPCON_A_PORT, IPCON_A_NAME
 *                 and IPCON_A_ID
 *   EMSGSIZE      payload larger than IPCON_PAYLOAD_MAX
 *   EEXIST        name already registered
 *   ENOENT        no such service or group
 *   EPERM         the name belongs to another peer
 *   EALREADY      already a member / already subscribed
 *   ENOTCONN      not a member / not subscribed; or the other socket of
 *                 the sender's pair was closed (the peer is gone)
 *   ECONNREFUSED  destination port or id is not a live ipcon peer
 *   ENOBUFS       destination receive queue is full; nothing was delivered
 *   EBUSY         pairing a socket that is already paired or has state;
 *                 or the sender's port still belongs to a socket being
 *                 closed (transient, retry)
 *   EACCES        pairing token does not match; denied by the policy
 *   EPERM         POLICY_SET or POLICY_GET without CAP_NET_ADMIN in the
 *                 user namespace that owns the network namespace (also:
 *                 the name belongs to another peer, above)
 *   EDQUOT        a per-user limit is reached
 *   E2BIG         more than IPCON_POLICY_RULES_MAX rules
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
/* Most rules one policy may have. */
#define IPCON_POLICY_RULES_MAX	512

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
	IPCON_CMD_POLICY_SET,
	IPCON_CMD_POLICY_GET,
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
	IPCON_A_ID,		/* u64: peer id */
	IPCON_A_SRC_ID,		/* u64: sending peer's id */
	IPCON_A_POLICY_DEFAULT,	/* u32: IPCON_POLICY_* */
	IPCON_A_RULE,		/* nested: IPCON_RULE_A_* */
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
	/* every event: IPCON_A_PORT, IPCON_A_ID, IPCON_A_UID, IPCON_A_GID */
	IPCON_EV_PEER_GONE,	/* of the peer that is gone */
	IPCON_EV_SRV_ADDED,	/* IPCON_A_NAME; of the owner */
	IPCON_EV_SRV_REMOVED,	/* IPCON_A_NAME; of the owner */
	IPCON_EV_GRP_ADDED,	/* IPCON_A_NAME; of the owner */
	IPCON_EV_GRP_REMOVED,	/* IPCON_A_NAME; of the owner */
	__IPCON_EV_MAX
};

#define IPCON_EV_MAX (__IPCON_EV_MAX - 1)

/* IPCON_A_POLICY_DEFAULT */
enum ipcon_policy_default {
	IPCON_POLICY_ALLOW,	/* names no rule matches: allowed */
	IPCON_POLICY_DENY,	/* names no rule matches: denied */
	__IPCON_POLICY_MAX
};

#define IPCON_POLICY_MAX (__IPCON_POLICY_MAX - 1)

/* IPCON_RULE_A_ACTION */
enum ipcon_action {
	IPCON_ACT_UNSPEC,
	IPCON_ACT_OWN,		/* register a service or group */
	IPCON_ACT_SEND,		/* unicast to a service */
	IPCON_ACT_JOIN,		/* join a group */
	__IPCON_ACT_MAX
};

#define IPCON_ACT_MAX (__IPCON_ACT_MAX - 1)

/* Attributes nested in IPCON_A_RULE */
enum ipcon_rule_attr {
	IPCON_RULE_A_UNSPEC,
	IPCON_RULE_A_ACTION,	/* u32: IPCON_ACT_* */
	IPCON_RULE_A_PATTERN,	/* string: name, or prefix followed by '*' */
	IPCON_RULE_A_UID,	/* u32: the rule is for this uid */
	IPCON_RULE_A_GID,	/* u32: the rule is for this gid */
	__IPCON_RULE_A_MAX
};

#define IPCON_RULE_A_MAX (__IPCON_RULE_A_MAX - 1)

#endif /* _UAPI_LINUX_IPCON_H */
