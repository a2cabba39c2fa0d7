// SPDX-License-Identifier: GPL-2.0-only
/*
 * Messages: payload and sender stamp, building IPCON_CMD_MSG and
 * IPCON_CMD_GRP_MSG, unicast SEND, and delivery with lost-message
 * accounting for group messages and events; and the resumable table walk
 * behind the service and group list dumps.
 *
 * Locking: ipcon_msg_send() takes no mutex. It resolves the sender and the
 * destination under rcu_read_lock(), checks the policy there, copies what
 * it needs, and allocates, builds and delivers the message after
 * rcu_read_unlock().
 * ipcon_msg_deliver() may sleep (GFP_KERNEL, netlink_unicast()); its caller
 * holds the lock that protects *lost (a group's lock or the events lock)
 * and never calls it under RCU or a spinlock. ipcon_dump_table() holds
 * ipcon_net.lock for one dump call.
 */

#include <linux/cred.h>
#include <linux/limits.h>
#include <linux/minmax.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/skbuff.h>
#include <linux/uidgid.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "ipcon.h"

/**
 * ipcon_msg_data_size - payload size of a request
 * @info: the request's genetlink info
 * @size: the sum of the lengths of all IPCON_A_DATA attributes
 *
 * The policy has validated every attribute, but info->attrs keeps only the
 * last of repeated ones, so the payload chunks are found by walking the
 * message.
 *
 * Return: 0, or -EMSGSIZE if the payload exceeds IPCON_PAYLOAD_MAX.
 */
int ipcon_msg_data_size(const struct genl_info *info, size_t *size)
{
	const struct nlattr *nla;
	size_t total = 0;
	int rem;

	nlmsg_for_each_attr(nla, info->nlhdr, GENL_HDRLEN, rem) {
		if (nla_type(nla) == IPCON_A_DATA)
			total += nla_len(nla);
	}
	if (total > IPCON_PAYLOAD_MAX) {
		NL_SET_ERR_MSG_MOD(info->extack, "payload too large");
		return -EMSGSIZE;
	}
	*size = total;
	return 0;
}

/*
 * The payload is delivered in as few IPCON_A_DATA attributes as possible,
 * each at most IPCON_CHUNK_MAX bytes: the receiver concatenates them, so
 * the sender's chunk boundaries carry no meaning, and re-chunking bounds
 * the message size however the sender split its payload.
 */
static size_t ipcon_msg_data_attr_size(size_t size)
{
	size_t full = size / IPCON_CHUNK_MAX;
	size_t rest = size % IPCON_CHUNK_MAX;

	return full * nla_total_size(IPCON_CHUNK_MAX) +
	       (rest ? nla_total_size(rest) : 0);
}

static int ipcon_msg_put_data(struct sk_buff *skb,
			      const struct genl_info *info, size_t size)
{
	const struct nlattr *nla;
	size_t room = 0;
	u8 *dst = NULL;
	int rem;

	nlmsg_for_each_attr(nla, info->nlhdr, GENL_HDRLEN, rem) {
		const u8 *src = nla_data(nla);
		size_t len = nla_len(nla);

		if (nla_type(nla) != IPCON_A_DATA)
			continue;
		while (len) {
			size_t n;

			if (!room) {
				struct nlattr *out;

				if (!size)
					return -EMSGSIZE;
				room = min_t(size_t, size, IPCON_CHUNK_MAX);
				out = nla_reserve(skb, IPCON_A_DATA, room);
				if (!out)
					return -EMSGSIZE;
				dst = nla_data(out);
				size -= room;
			}
			n = min(len, room);
			memcpy(dst, src, n);
			dst += n;
			src += n;
			len -= n;
			room -= n;
		}
	}
	return 0;
}

/**
 * ipcon_msg_stamp_sender_rcu - stamp the identity of the sending peer
 * @st: the stamp
 * @peer: the sender
 *
 * The identity is the peer's (the credentials its receive socket was
 * opened with), never the task's that happens to write. The pid is set as
 * the sender sees itself; ipcon_msg_pid() translates it per receiver.
 * Must be called under rcu_read_lock().
 */
void ipcon_msg_stamp_sender_rcu(struct ipcon_stamp *st,
				const struct ipcon_peer *peer)
{
	st->id = peer->id;
	st->port = peer->port;
	st->uid = peer->uid;
	st->gid = peer->gid;
	st->pid = pid_nr_ns(peer->pid, ipcon_peer_pidns(peer));
}

/**
 * ipcon_msg_owner_size - room for ipcon_msg_put_owner()
 *
 * Return: the size of the attributes it adds.
 */
size_t ipcon_msg_owner_size(void)
{
	return 3 * nla_total_size(sizeof(u32)) +
	       nla_total_size_64bit(sizeof(u64));
}

/**
 * ipcon_msg_put_owner - add a peer's port, id, uid and gid to a message
 * @skb: the message
 * @owner: the peer (the owner of a name, or the peer an event is about)
 *
 * Return: 0 or -EMSGSIZE.
 */
int ipcon_msg_put_owner(struct sk_buff *skb, const struct ipcon_peer *owner)
{
	if (nla_put_u32(skb, IPCON_A_PORT, owner->port) ||
	    nla_put_u64_64bit(skb, IPCON_A_ID, owner->id, IPCON_A_PAD) ||
	    nla_put_u32(skb, IPCON_A_UID, owner->uid) ||
	    nla_put_u32(skb, IPCON_A_GID, owner->gid))
		return -EMSGSIZE;
	return 0;
}

/**
 * ipcon_msg_stamp_name_rcu - stamp the sender's oldest service, if any
 * @st: the stamp
 * @peer: the sender
 *
 * Must be called under rcu_read_lock().
 */
void ipcon_msg_stamp_name_rcu(struct ipcon_stamp *st,
			      struct ipcon_peer *peer)
{
	struct ipcon_service *svc;

	svc = list_first_or_null_rcu(&peer->services, struct ipcon_service,
				     peer_node);
	if (svc) {
		strscpy(st->name, svc->name, sizeof(st->name));
		st->has_name = true;
	}
}

/**
 * ipcon_msg_build - build a message for delivery
 * @cmd: IPCON_CMD_MSG or IPCON_CMD_GRP_MSG
 * @st: the sender stamp
 * @name: IPCON_A_NAME (service addressed or group), or NULL
 * @info: the request carrying the payload
 * @size: payload size from ipcon_msg_data_size()
 * @gfp: GFP_KERNEL, or GFP_KERNEL_ACCOUNT for a message that may be kept
 *	(retained) and is charged to the sender's memory cgroup
 *
 * Group messages get IPCON_A_FLAGS 0; a replay of the retained message
 * rewrites it, and deliveries rewrite IPCON_A_PID per receiver. May sleep.
 *
 * Return: the message, or ERR_PTR(-ENOMEM).
 */
struct sk_buff *ipcon_msg_build(u8 cmd, const struct ipcon_stamp *st,
				const char *name, const struct genl_info *info,
				size_t size, gfp_t gfp)
{
	bool grp = cmd == IPCON_CMD_GRP_MSG;
	size_t len = 4 * nla_total_size(sizeof(u32)) +
		     nla_total_size_64bit(sizeof(u64)) +
		     ipcon_msg_data_attr_size(size);
	struct sk_buff *skb;
	void *hdr;

	if (name)
		len += nla_total_size(strlen(name) + 1);
	if (st->has_name)
		len += nla_total_size(strlen(st->name) + 1);
	if (grp)
		len += nla_total_size(sizeof(u32));

	skb = genlmsg_new(len, gfp);
	if (!skb)
		return ERR_PTR(-ENOMEM);
	hdr = genlmsg_put(skb, 0, 0, &ipcon_genl_family, 0, cmd);
	if (!hdr)
		goto nospace;
	if (name && nla_put_string(skb, IPCON_A_NAME, name))
		goto nospace;
	if (nla_put_u32(skb, IPCON_A_SRC_PORT, st->port))
		goto nospace;
	if (st->has_name && nla_put_string(skb, IPCON_A_SRC_NAME, st->name))
		goto nospace;
	if (nla_put_u32(skb, IPCON_A_UID, st->uid) ||
	    nla_put_u32(skb, IPCON_A_GID, st->gid) ||
	    nla_put_u32(skb, IPCON_A_PID, st->pid) ||
	    nla_put_u64_64bit(skb, IPCON_A_SRC_ID, st->id, IPCON_A_PAD))
		goto nospace;
	if (grp && nla_put_u32(skb, IPCON_A_FLAGS, 0))
		goto nospace;
	if (ipcon_msg_put_data(skb, info, size))
		goto nospace;
	genlmsg_end(skb, hdr);
	return skb;

nospace:
	/* The size was computed above; this is a bug, not bad input. */
	nlmsg_free(skb);
	return ERR_PTR(-EMSGSIZE);
}

/*
 * Queues @skb at @port unless @sk, the socket the receiving peer was
 * created for, is being closed: its port may already belong to a newer
 * socket. Nothing that sleeps lies between this check and netlink's port
 * lookup.
 */
static int ipcon_msg_unicast(struct net *net, const struct sock *sk,
			     struct sk_buff *skb, u32 port)
{
	if (sock_flag(sk, SOCK_DEAD)) {
		kfree_skb(skb);
		return -ECONNREFUSED;
	}
	return genlmsg_unicast(net, skb, port);
}

static int ipcon_msg_send_lost(struct net *net, const struct sock *sk,
			       u32 port, u32 count, const char *group)
{
	size_t len = nla_total_size(sizeof(u32));
	struct sk_buff *skb;
	void *hdr;

	if (group)
		len += nla_total_size(strlen(group) + 1);
	skb = genlmsg_new(len, GFP_KERNEL);
	if (!skb)
		return -ENOMEM;
	hdr = genlmsg_put(skb, 0, 0, &ipcon_genl_family, 0, IPCON_CMD_LOST);
	if (!hdr || nla_put_u32(skb, IPCON_A_COUNT, count) ||
	    (group && nla_put_string(skb, IPCON_A_NAME, group))) {
		nlmsg_free(skb);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return ipcon_msg_unicast(net, sk, skb, port);
}

/*
 * A clone of @tmpl for one more receiver. GFP_NOWAIT first, because a
 * GFP_KERNEL allocation is a point of voluntary preemption (might_sleep()):
 * the receiver the previous delivery woke would take the CPU there, and a
 * fan-out would switch to each receiver and back, once per member.
 */
static struct sk_buff *ipcon_msg_clone(struct sk_buff *tmpl)
{
	struct sk_buff *skb = skb_clone(tmpl, GFP_NOWAIT | __GFP_NOWARN);

	return skb ?: skb_clone(tmpl, GFP_KERNEL);
}

/*
 * A private copy of @tmpl whose IPCON_A_PID says @pid: the data of a clone
 * is shared with the other receivers' copies, so it cannot be rewritten.
 */
static struct sk_buff *ipcon_msg_copy_pid(struct sk_buff *tmpl, u32 pid)
{
	struct sk_buff *skb = skb_copy(tmpl, GFP_KERNEL);
	struct nlattr *nla;

	if (!skb)
		return NULL;
	nla = nlmsg_find_attr(nlmsg_hdr(skb), GENL_HDRLEN, IPCON_A_PID);
	if (nla)
		*(u32 *)nla_data(nla) = pid;
	return skb;
}

/**
 * ipcon_msg_deliver - deliver a copy of a message, accounting losses
 * @net: the namespace
 * @sk: the receiving peer's receive socket (referenced by the peer)
 * @port: the receiving peer's port
 * @tmpl: the message, cloned (not consumed)
 * @tmpl_pid: the IPCON_A_PID in @tmpl (0 for messages without one)
 * @pid: the IPCON_A_PID this receiver gets: where it differs from
 *	@tmpl_pid, the receiver gets a rewritten copy
 * @lost: the receiver's lost counter for this kind of message
 * @group: group name for IPCON_CMD_LOST, NULL for events
 *
 * If messages were lost before, an IPCON_CMD_LOST goes first and the
 * counter is reset only if it got through; otherwise this message counts
 * as lost too. -ECONNREFUSED (the socket is gone or being closed, its
 * peer's teardown is pending) is not a loss. Must be called with the lock
 * protecting @lost held, in process context, outside RCU.
 *
 * Return: 0 or the delivery error.
 */
int ipcon_msg_deliver(struct net *net, const struct sock *sk, u32 port,
		      struct sk_buff *tmpl, u32 tmpl_pid, u32 pid, u32 *lost,
		      const char *group)
{
	struct sk_buff *skb;
	int err;

	/*
	 * A receiver whose queue is over its limit refuses the lost notice
	 * and the message alike (netlink_attachskb() tests the same): count
	 * the loss without allocating either, so a member that does not read
	 * costs no allocation per publish. A closing socket is not a loss.
	 */
	if (atomic_read(&sk->sk_rmem_alloc) > READ_ONCE(sk->sk_rcvbuf)) {
		if (sock_flag(sk, SOCK_DEAD))
			return -ECONNREFUSED;
		err = -EAGAIN;
		goto lost;
	}

	if (*lost) {
		err = ipcon_msg_send_lost(net, sk, port, *lost, group);
		if (err == -ECONNREFUSED)
			return err;
		if (err)
			goto lost;
		*lost = 0;
	}

	if (pid == tmpl_pid)
		skb = ipcon_msg_clone(tmpl);
	else
		skb = ipcon_msg_copy_pid(tmpl, pid);
	if (!skb) {
		err = -ENOMEM;
		goto lost;
	}
	err = ipcon_msg_unicast(net, sk, skb, port);
	if (!err || err == -ECONNREFUSED)
		return err;
lost:
	if (*lost < U32_MAX)
		(*lost)++;
	return err;
}

/*
 * The live destination of a SEND, under RCU, with the policy checked: a
 * service by name is checked as a send to that name, a peer by port or id
 * as a send to every service it owns.
 */
static struct ipcon_peer *ipcon_msg_dest_rcu(struct ipcon_net *ns,
					     const struct ipcon_peer *sender,
					     const struct ipcon_dest *dest,
					     struct netlink_ext_ack *extack)
{
	struct ipcon_service *svc;
	struct ipcon_peer *to;
	int err;

	if (dest->name) {
		svc = ipcon_service_find_rcu(ns, dest->name);
		to = svc ? svc->owner : NULL;
		if (!to || READ_ONCE(to->dead) || ipcon_peer_closing(to)) {
			NL_SET_ERR_MSG_MOD(extack, "no such service");
			return ERR_PTR(-ENOENT);
		}
		err = ipcon_policy_check(ns, IPCON_ACT_SEND, dest->name, sender,
					 extack);
		return err ? ERR_PTR(err) : to;
	}

	if (dest->by_id)
		to = ipcon_peer_find_id_rcu(ns, dest->id);
	else
		to = ipcon_peer_find_live_rcu(ns, dest->port);
	if (!to || ipcon_peer_closing(to)) {
		NL_SET_ERR_MSG_MOD(extack, "destination is not an ipcon peer");
		return ERR_PTR(-ECONNREFUSED);
	}
	err = ipcon_policy_check_peer_rcu(ns, sender, to, extack);
	return err ? ERR_PTR(err) : to;
}

/**
 * ipcon_msg_send - relay a unicast message (IPCON_CMD_SEND)
 * @ns: the namespace state
 * @skb: the request
 * @info: the request's genetlink info
 * @dest: the destination: a service, a port or an id
 * @src_name: service to stamp as sender (must be the sender's), or NULL
 * @size: payload size from ipcon_msg_data_size()
 *
 * Return: 0 once the message is queued at the destination, -ENOENT (no
 * such service), -ECONNREFUSED (not a live peer), -EPERM (@src_name is not
 * the sender's), -EACCES (the policy denies it), -ENOBUFS (destination
 * queue full, nothing delivered), -ENOMEM, or an error from
 * ipcon_peer_get().
 */
int ipcon_msg_send(struct ipcon_net *ns, const struct sk_buff *skb,
		   const struct genl_info *info, const struct ipcon_dest *dest,
		   const char *src_name, size_t size)
{
	struct netlink_ext_ack *extack = info->extack;
	struct ipcon_peer *peer, *to;
	struct ipcon_stamp st = {};
	struct ipcon_service *svc;
	struct sk_buff *msg;
	struct sock *sk;
	u32 port;
	int err;

	err = ipcon_peer_ensure(ns, skb, info);
	if (err)
		return err;

	rcu_read_lock();
	peer = ipcon_peer_lookup_rcu(ns, skb, info);
	if (IS_ERR_OR_NULL(peer)) {
		/* NULL: the peer died since ipcon_peer_ensure() */
		err = peer ? PTR_ERR(peer) : -ENOTCONN;
		goto unlock;
	}
	ipcon_msg_stamp_sender_rcu(&st, peer);

	if (src_name) {
		svc = ipcon_service_find_rcu(ns, src_name);
		if (!svc || svc->owner != peer) {
			NL_SET_ERR_MSG_MOD(extack,
					   "source name is not a service of the sender");
			err = -EPERM;
			goto unlock;
		}
		strscpy(st.name, svc->name, sizeof(st.name));
		st.has_name = true;
	} else {
		ipcon_msg_stamp_name_rcu(&st, peer);
	}

	to = ipcon_msg_dest_rcu(ns, peer, dest, extack);
	if (IS_ERR(to)) {
		err = PTR_ERR(to);
		goto unlock;
	}
	if (!ipcon_peer_begin_send(peer)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "peer is gone: its other socket was closed");
		err = -ENOTCONN;
		goto unlock;
	}
	port = to->port;
	st.pid = pid_nr_ns(peer->pid, ipcon_peer_pidns(to));
	/* the peer holds it until a grace period after its teardown */
	sk = to->sk;
	sock_hold(sk);
	rcu_read_unlock();

	msg = ipcon_msg_build(IPCON_CMD_MSG, &st, dest->name, info, size,
			      GFP_KERNEL);
	if (IS_ERR(msg))
		err = PTR_ERR(msg);
	else	/* may sleep (netlink_trim), consumes msg */
		err = ipcon_msg_unicast(ns->net, sk, msg, port);
	/* the sender's teardown waits for this, so @peer is still valid */
	ipcon_peer_end_send(peer);
	sock_put(sk);
	if (err == -EAGAIN) {
		NL_SET_ERR_MSG_MOD(extack, "destination receive queue is full");
		return -ENOBUFS;
	}
	if (err == -ECONNREFUSED)
		NL_SET_ERR_MSG_MOD(extack, "destination is gone");
	return err;

unlock:
	rcu_read_unlock();
	return err;
}

/**
 * ipcon_dump_table - walk a name table for a netlink dump, resumably
 * @skb: the dump buffer
 * @cb: the dump state; args[0] is the hash bucket where the previous call
 *	stopped, args[1] and args[2] the low and high half of the insertion
 *	number just above the entry it could not fit (0: the bucket's head)
 * @ns: the namespace state; its lock is taken for the walk
 * @table: the hash table's buckets
 * @size: the number of buckets
 * @gen: the table's generation (read under the lock), so that
 *	genl_dump_check_consistent() can flag a dump interrupted by a change
 * @ops: the entries' insertion number and message
 *
 * Entries are added at the head of their bucket with a larger insertion
 * number than any before them, so every bucket lists them newest first.
 * A dump therefore resumes by insertion number, not by position: entries
 * added to the bucket since the previous call (which would shift every
 * position) are above it and skipped, and removed ones simply are not
 * there. An entry present for the whole dump is listed exactly once; one
 * added or removed meanwhile may or may not be, and NLM_F_DUMP_INTR says
 * the table changed.
 *
 * Return: the dump buffer length (0 when done) or a negative errno.
 */
int ipcon_dump_table(struct sk_buff *skb, struct netlink_callback *cb,
		     struct ipcon_net *ns, struct hlist_head *table,
		     unsigned long size, const unsigned int *gen,
		     const struct ipcon_dump_ops *ops)
{
	unsigned long bkt = cb->args[0];
	u64 below = (u64)(u32)cb->args[2] << 32 | (u32)cb->args[1];
	const struct hlist_node *node;
	int err = 0;

	mutex_lock(&ns->lock);
	cb->seq = *gen;
	for (; bkt < size; bkt++, below = 0) {
		hlist_for_each(node, &table[bkt]) {
			u64 seq = ops->seq(node);

			if (below && seq >= below)
				continue;
			err = ops->fill(skb, cb, node);
			if (err) {
				below = seq + 1;
				goto out;
			}
		}
	}
out:
	mutex_unlock(&ns->lock);
	cb->args[0] = bkt;
	cb->args[1] = lower_32_bits(below);
	cb->args[2] = upper_32_bits(below);
	/* a message that does not fit an empty buffer would loop forever */
	if (err && !skb->len)
		return err;
	return skb->len;
}
