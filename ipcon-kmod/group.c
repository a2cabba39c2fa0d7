// SPDX-License-Identifier: GPL-2.0-only
/*
 * Groups: named multicast groups, membership, publish fan-out and the
 * retained last message.
 *
 * Registering (IPCON_ACT_OWN) and joining (IPCON_ACT_JOIN) are checked
 * against the policy and counted against the user's limits; the memory a
 * retained message holds is charged to the owner's user (the limit) and,
 * as it is allocated by the publishing task with __GFP_ACCOUNT, to its
 * memory cgroup. Each member sees the sender's pid as its own pid
 * namespace numbers it.
 *
 * Locking: groups are registered, removed, joined and left under
 * ipcon_net.lock; a change to the member list also takes the group's
 * ->lock, briefly. Nothing that registrations or teardown need is held
 * across a fan-out:
 *
 *   - PUBLISH looks the group up under rcu_read_lock(), pins it with
 *     kref_get_unless_zero(), builds the message outside any lock, then
 *     takes the group's ->pub_lock, which orders the publishes and replays
 *     of that group only, and walks the member list under ipcon_srcu.
 *     A member removed meanwhile stays valid until the SRCU grace period
 *     and holds its own reference to its socket; a delivery to a closed
 *     socket is refused, not queued.
 *   - A join that asks for the retained message adds an inactive member
 *     under ipcon_net.lock, then, with that lock dropped, takes ->pub_lock,
 *     replays the retained message and activates the member: the replay
 *     comes before every later publish, and no publish is seen twice.
 *   - The table holds one reference; removing the group marks it dead and
 *     drops it. The last reference (taken under ipcon_net.lock) frees the
 *     retained message and its charge, and the group after a grace period.
 */

#include <linux/kref.h>
#include <linux/pid.h>
#include <linux/rculist.h>
#include <linux/sched.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "ipcon.h"

/* The last reference is gone; called under ipcon_net.lock. */
static void ipcon_group_release(struct kref *ref)
{
	struct ipcon_group *grp = container_of(ref, struct ipcon_group, ref);

	lockdep_assert_held(&grp->ns->lock);
	if (grp->retained_size)
		ipcon_user_charge_retained(grp->user, -grp->retained_size,
					   NULL);
	consume_skb(grp->retained);
	put_pid(grp->retained_pid);
	ipcon_user_release(grp->ns, grp->user);
	mutex_destroy(&grp->lock);
	mutex_destroy(&grp->pub_lock);
	kfree_rcu(grp, rcu);
}

static void ipcon_group_release_unlock(struct kref *ref)
{
	struct ipcon_group *grp = container_of(ref, struct ipcon_group, ref);
	struct ipcon_net *ns = grp->ns;

	ipcon_group_release(ref);
	mutex_unlock(&ns->lock);
}

/* Drops a reference taken without ipcon_net.lock held. */
static void ipcon_group_put(struct ipcon_group *grp)
{
	kref_put_mutex(&grp->ref, ipcon_group_release_unlock, &grp->ns->lock);
}

static struct ipcon_group *ipcon_group_find(struct ipcon_net *ns,
					    const char *name)
{
	struct ipcon_group *grp;

	lockdep_assert_held(&ns->lock);
	hash_for_each_possible(ns->groups, grp, node,
			       ipcon_name_hash(ns, name))
		if (!strcmp(grp->name, name))
			return grp;
	return NULL;
}

static struct ipcon_group *ipcon_group_find_rcu(struct ipcon_net *ns,
						const char *name)
{
	struct ipcon_group *grp;

	hash_for_each_possible_rcu(ns->groups, grp, node,
				   ipcon_name_hash(ns, name))
		if (!strcmp(grp->name, name))
			return grp;
	return NULL;
}

static struct ipcon_group *ipcon_group_find_err(struct ipcon_net *ns,
						const char *name,
						struct netlink_ext_ack *extack)
{
	struct ipcon_group *grp = ipcon_group_find(ns, name);

	if (!grp)
		NL_SET_ERR_MSG_MOD(extack, "no such group");
	return grp;
}

static u32 ipcon_member_hash(const struct ipcon_net *ns,
			     const struct ipcon_group *grp,
			     const struct ipcon_peer *peer)
{
	return jhash_2words((u32)(uintptr_t)grp, (u32)(uintptr_t)peer,
			    ns->hash_seed);
}

static struct ipcon_member *ipcon_member_find(struct ipcon_net *ns,
					      struct ipcon_peer *peer,
					      struct ipcon_group *grp)
{
	struct ipcon_member *m;

	lockdep_assert_held(&ns->lock);
	hash_for_each_possible(ns->members, m, hnode,
			       ipcon_member_hash(ns, grp, peer))
		if (m->group == grp && m->peer == peer)
			return m;
	return NULL;
}

static void ipcon_member_free_rcu(struct rcu_head *rcu)
{
	struct ipcon_member *m = container_of(rcu, struct ipcon_member, rcu);

	sock_put(m->sk);
	put_pid(m->pid);
	kfree(m);
}

/* A fan-out may still walk past it: free it after an SRCU grace period */
static void ipcon_member_put(struct ipcon_member *m)
{
	if (refcount_dec_and_test(&m->ref))
		call_srcu(&ipcon_srcu, &m->rcu, ipcon_member_free_rcu);
}

/*
 * Ends a membership: under ns->lock and the group's ->lock. A fan-out in
 * progress may still deliver to it; it is freed after that.
 */
static void ipcon_member_unlink(struct ipcon_net *ns, struct ipcon_member *m)
{
	lockdep_assert_held(&ns->lock);
	lockdep_assert_held(&m->group->lock);
	list_del_rcu(&m->grp_node);
	WRITE_ONCE(m->removed, true);
	m->group->nmembers--;
	hash_del(&m->hnode);
	list_del(&m->peer_node);
	ipcon_user_uncharge(ns, m->peer, IPCON_LIM_MEMBERSHIPS);
	ipcon_member_put(m);
}

/**
 * ipcon_group_add - register a group
 * @ns: the namespace state
 * @peer: the owner
 * @name: a valid name
 * @flags: IPCON_GRP_F_* (already checked)
 * @extack: for the error message
 *
 * Must be called under @ns->lock. Emits IPCON_EV_GRP_ADDED.
 *
 * Return: 0, -EEXIST, -EACCES (policy), -EDQUOT (limit) or -ENOMEM.
 */
int ipcon_group_add(struct ipcon_net *ns, struct ipcon_peer *peer,
		    const char *name, u32 flags, struct netlink_ext_ack *extack)
{
	struct ipcon_group *grp;
	int err;

	if (ipcon_group_find(ns, name)) {
		NL_SET_ERR_MSG_MOD(extack, "group name already registered");
		return -EEXIST;
	}
	err = ipcon_policy_check(ns, IPCON_ACT_OWN, name, peer, extack);
	if (err)
		return err;
	err = ipcon_user_charge(ns, peer, IPCON_LIM_GROUPS, extack);
	if (err)
		return err;

	grp = kzalloc(sizeof(*grp), GFP_KERNEL_ACCOUNT);
	if (!grp) {
		ipcon_user_uncharge(ns, peer, IPCON_LIM_GROUPS);
		return -ENOMEM;
	}
	strscpy(grp->name, name, sizeof(grp->name));
	grp->owner = peer;
	grp->ns = ns;
	grp->user = peer->user;
	ipcon_user_hold(grp->user);
	grp->port = peer->port;
	grp->flags = flags;
	kref_init(&grp->ref);
	mutex_init(&grp->lock);
	mutex_init(&grp->pub_lock);
	INIT_LIST_HEAD(&grp->members);
	grp->seq = ++ns->next_seq;
	hash_add_rcu(ns->groups, &grp->node, ipcon_name_hash(ns, grp->name));
	list_add_tail(&grp->peer_node, &peer->groups);
	ipcon_gen_bump(&ns->grp_gen);

	ipcon_event_emit(ns, IPCON_EV_GRP_ADDED, peer, grp->name);
	return 0;
}

/**
 * ipcon_group_remove - remove a group and all its memberships
 * @ns: the namespace state
 * @grp: the group
 * @notify: emit IPCON_EV_GRP_REMOVED
 *
 * Must be called under @ns->lock; does not wait for a publish in progress,
 * which delivers to no member removed here once it sees them removed. The
 * group is freed when the last reference is gone.
 */
void ipcon_group_remove(struct ipcon_net *ns, struct ipcon_group *grp,
			bool notify)
{
	struct ipcon_member *m, *tmp;

	lockdep_assert_held(&ns->lock);

	hash_del_rcu(&grp->node);
	list_del(&grp->peer_node);
	WRITE_ONCE(grp->dead, true);

	mutex_lock(&grp->lock);
	list_for_each_entry_safe(m, tmp, &grp->members, grp_node)
		ipcon_member_unlink(ns, m);
	mutex_unlock(&grp->lock);

	ipcon_gen_bump(&ns->grp_gen);
	if (notify)
		ipcon_event_emit(ns, IPCON_EV_GRP_REMOVED, grp->owner,
				 grp->name);
	ipcon_user_uncharge(ns, grp->owner, IPCON_LIM_GROUPS);
	kref_put(&grp->ref, ipcon_group_release);
}

/**
 * ipcon_group_del - unregister one of the caller's groups
 * @ns: the namespace state
 * @peer: the caller
 * @name: a valid name
 * @extack: for the error message
 *
 * Must be called under @ns->lock.
 *
 * Return: 0, -ENOENT or -EPERM.
 */
int ipcon_group_del(struct ipcon_net *ns, struct ipcon_peer *peer,
		    const char *name, struct netlink_ext_ack *extack)
{
	struct ipcon_group *grp = ipcon_group_find_err(ns, name, extack);

	if (!grp)
		return -ENOENT;
	if (grp->owner != peer) {
		NL_SET_ERR_MSG_MOD(extack, "group belongs to another peer");
		return -EPERM;
	}
	ipcon_group_remove(ns, grp, true);
	return 0;
}

/**
 * ipcon_group_join - join a group
 * @ns: the namespace state
 * @peer: the joining peer
 * @name: a valid name
 * @flags: IPCON_JOIN_F_* (already checked)
 * @replay: set if the join waits for the retained message: the caller
 *	passes it to ipcon_group_replay() after dropping @ns->lock
 * @extack: for the error message
 *
 * Must be called under @ns->lock.
 *
 * Return: 0, -ENOENT, -EALREADY, -EACCES (policy), -EDQUOT (limit) or
 * -ENOMEM.
 */
int ipcon_group_join(struct ipcon_net *ns, struct ipcon_peer *peer,
		     const char *name, u32 flags, struct ipcon_replay *replay,
		     struct netlink_ext_ack *extack)
{
	struct ipcon_group *grp = ipcon_group_find_err(ns, name, extack);
	struct ipcon_member *m;
	bool wait;
	int err;

	replay->group = NULL;
	if (!grp)
		return -ENOENT;
	if (ipcon_member_find(ns, peer, grp)) {
		NL_SET_ERR_MSG_MOD(extack, "already a member of the group");
		return -EALREADY;
	}
	err = ipcon_policy_check(ns, IPCON_ACT_JOIN, name, peer, extack);
	if (err)
		return err;
	err = ipcon_user_charge(ns, peer, IPCON_LIM_MEMBERSHIPS, extack);
	if (err)
		return err;

	m = kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!m) {
		ipcon_user_uncharge(ns, peer, IPCON_LIM_MEMBERSHIPS);
		return -ENOMEM;
	}
	wait = (flags & IPCON_JOIN_F_LAST) && (grp->flags & IPCON_GRP_F_RETAIN);
	m->group = grp;
	m->peer = peer;
	sock_hold(peer->sk);
	m->sk = peer->sk;
	m->pid = get_pid(peer->pid);
	m->port = peer->port;
	m->active = !wait;
	refcount_set(&m->ref, wait ? 2 : 1);

	mutex_lock(&grp->lock);
	list_add_tail_rcu(&m->grp_node, &grp->members);
	grp->nmembers++;
	mutex_unlock(&grp->lock);
	list_add_tail(&m->peer_node, &peer->memberships);
	hash_add(ns->members, &m->hnode, ipcon_member_hash(ns, grp, peer));
	ipcon_gen_bump(&ns->grp_gen);

	if (wait) {
		kref_get(&grp->ref);
		replay->group = grp;
		replay->member = m;
	}
	return 0;
}

/*
 * Sends the retained message to a new member, flagged as a replay, as the
 * member's pid namespace sees its sender. Under the group's ->pub_lock.
 */
static void ipcon_group_replay_one(struct ipcon_net *ns,
				   struct ipcon_group *grp,
				   struct ipcon_member *m)
{
	struct sk_buff *skb;
	struct nlattr *nla;
	u32 pid;

	lockdep_assert_held(&grp->pub_lock);

	/* a private copy: the retained data is shared with clones in flight */
	skb = skb_copy(grp->retained, GFP_KERNEL);
	if (!skb) {
		if (m->lost < U32_MAX)
			m->lost++;
		return;
	}
	nla = nlmsg_find_attr(nlmsg_hdr(skb), GENL_HDRLEN, IPCON_A_FLAGS);
	if (nla)
		*(u32 *)nla_data(nla) = IPCON_MSG_F_RETAINED;
	pid = pid_nr_ns(grp->retained_pid, ns_of_pid(m->pid));
	ipcon_msg_deliver(ns->net, m->sk, m->port, skb, grp->retained_pidnr,
			  pid, &m->lost, grp->name);
	consume_skb(skb);
}

/*
 * The owner is the sender of the retained message: while it is replayed
 * the owner counts it as in flight, so its teardown (and IPCON_EV_PEER_GONE)
 * waits for it. False if the owner is already going.
 */
static struct ipcon_peer *ipcon_group_owner_begin(struct ipcon_group *grp)
{
	struct ipcon_peer *owner = NULL;

	rcu_read_lock();
	/* a live group's owner is not torn down yet */
	if (!READ_ONCE(grp->dead) && ipcon_peer_begin_send(grp->owner))
		owner = grp->owner;
	rcu_read_unlock();
	return owner;
}

/**
 * ipcon_group_replay - finish a join that waits for the retained message
 * @ns: the namespace state
 * @replay: from ipcon_group_join()
 *
 * Called without @ns->lock. Waits for a publish of that group in progress,
 * delivers the retained message (if the member is still one and the group
 * still has one) and activates the member, so that every later publish
 * reaches it after the replay.
 */
void ipcon_group_replay(struct ipcon_net *ns, struct ipcon_replay *replay)
{
	struct ipcon_group *grp = replay->group;
	struct ipcon_member *m = replay->member;
	struct ipcon_peer *owner;

	mutex_lock(&grp->pub_lock);
	if (!READ_ONCE(m->removed)) {
		owner = grp->retained ? ipcon_group_owner_begin(grp) : NULL;
		if (owner) {
			ipcon_group_replay_one(ns, grp, m);
			ipcon_peer_end_send(owner);
		}
		WRITE_ONCE(m->active, true);
	}
	mutex_unlock(&grp->pub_lock);
	ipcon_member_put(m);
	ipcon_group_put(grp);
}

/**
 * ipcon_member_remove - end a membership
 * @ns: the namespace state
 * @m: the membership
 *
 * Must be called under @ns->lock.
 */
void ipcon_member_remove(struct ipcon_net *ns, struct ipcon_member *m)
{
	struct ipcon_group *grp = m->group;

	lockdep_assert_held(&ns->lock);

	mutex_lock(&grp->lock);
	ipcon_member_unlink(ns, m);
	mutex_unlock(&grp->lock);
	ipcon_gen_bump(&ns->grp_gen);
}

/**
 * ipcon_group_leave - leave a group
 * @ns: the namespace state
 * @peer: the leaving peer
 * @name: a valid name
 * @extack: for the error message
 *
 * Must be called under @ns->lock.
 *
 * Return: 0, -ENOENT or -ENOTCONN.
 */
int ipcon_group_leave(struct ipcon_net *ns, struct ipcon_peer *peer,
		      const char *name, struct netlink_ext_ack *extack)
{
	struct ipcon_group *grp = ipcon_group_find_err(ns, name, extack);
	struct ipcon_member *m;

	if (!grp)
		return -ENOENT;
	m = ipcon_member_find(ns, peer, grp);
	if (!m) {
		NL_SET_ERR_MSG_MOD(extack, "not a member of the group");
		return -ENOTCONN;
	}
	ipcon_member_remove(ns, m);
	return 0;
}

/*
 * Delivers @msg to every active member (each sees the sender's pid in its
 * own pid namespace) and keeps it as the retained message if the group
 * retains. Called under the group's ->pub_lock, with no other lock held.
 * Returns the message the caller must free (the previous retained one, or
 * @msg).
 */
static struct sk_buff *ipcon_group_fan_out(struct ipcon_net *ns,
					   struct ipcon_group *grp,
					   struct sk_buff *msg,
					   struct pid **spid, u32 pidnr,
					   long charge)
{
	struct ipcon_member *m;
	unsigned int n = 0;
	int idx;

	lockdep_assert_held(&grp->pub_lock);
	idx = srcu_read_lock(&ipcon_srcu);
	list_for_each_entry_srcu(m, &grp->members, grp_node,
				 srcu_read_lock_held(&ipcon_srcu)) {
		if (READ_ONCE(m->active) && !READ_ONCE(m->removed))
			ipcon_msg_deliver(ns->net, m->sk, m->port, msg, pidnr,
					  pid_nr_ns(*spid, ns_of_pid(m->pid)),
					  &m->lost, grp->name);
		ipcon_fan_out_step(&n);
	}
	srcu_read_unlock(&ipcon_srcu, idx);
	if (!(grp->flags & IPCON_GRP_F_RETAIN))
		return msg;
	grp->retained_size += charge;
	grp->retained_pidnr = pidnr;
	swap(grp->retained_pid, *spid);
	swap(grp->retained, msg);
	return msg;
}

/**
 * ipcon_group_publish - send a message to every member of a group
 * @ns: the namespace state
 * @skb: the request
 * @info: the request's genetlink info
 * @name: a valid group name
 * @size: payload size from ipcon_msg_data_size()
 *
 * The caller must own the group. Called without @ns->lock. Succeeds even
 * if some members lost the message (they get IPCON_CMD_LOST later). A
 * message a retaining group would keep beyond the owner's
 * max_retained_bytes is refused before anyone gets it.
 *
 * Return: 0, -ENOENT, -EPERM, -EDQUOT, -ENOMEM, or an error from
 * ipcon_peer_get().
 */
int ipcon_group_publish(struct ipcon_net *ns, const struct sk_buff *skb,
			const struct genl_info *info, const char *name,
			size_t size)
{
	struct netlink_ext_ack *extack = info->extack;
	struct ipcon_stamp st = {};
	struct ipcon_group *grp;
	struct ipcon_peer *peer;
	struct pid *spid;
	struct sk_buff *msg;
	long charge = 0;
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
	grp = ipcon_group_find_rcu(ns, name);
	if (!grp || !kref_get_unless_zero(&grp->ref)) {
		NL_SET_ERR_MSG_MOD(extack, "no such group");
		err = -ENOENT;
		goto unlock;
	}
	if (grp->owner != peer) {
		rcu_read_unlock();
		ipcon_group_put(grp);
		NL_SET_ERR_MSG_MOD(extack, "group belongs to another peer");
		return -EPERM;
	}
	if (!ipcon_peer_begin_send(peer)) {
		rcu_read_unlock();
		ipcon_group_put(grp);
		NL_SET_ERR_MSG_MOD(extack, "peer is gone: its other socket was closed");
		return -ENOTCONN;
	}
	ipcon_msg_stamp_sender_rcu(&st, peer);
	ipcon_msg_stamp_name_rcu(&st, peer);
	spid = get_pid(peer->pid);
	rcu_read_unlock();

	/* a message the group keeps is charged to the publisher's memcg */
	msg = ipcon_msg_build(IPCON_CMD_GRP_MSG, &st, grp->name, info, size,
			      grp->flags & IPCON_GRP_F_RETAIN ?
			      GFP_KERNEL_ACCOUNT : GFP_KERNEL);
	if (IS_ERR(msg)) {
		err = PTR_ERR(msg);
		goto put;
	}

	mutex_lock(&grp->pub_lock);
	if (READ_ONCE(grp->dead)) {
		mutex_unlock(&grp->pub_lock);
		kfree_skb(msg);
		NL_SET_ERR_MSG_MOD(extack, "no such group");
		err = -ENOENT;
		goto put;
	}
	if (grp->flags & IPCON_GRP_F_RETAIN) {
		charge = msg->truesize - grp->retained_size;
		err = ipcon_user_charge_retained(grp->user, charge, extack);
		if (err) {
			mutex_unlock(&grp->pub_lock);
			kfree_skb(msg);
			goto put;
		}
	}
	msg = ipcon_group_fan_out(ns, grp, msg, &spid, st.pid, charge);
	mutex_unlock(&grp->pub_lock);
	consume_skb(msg);
put:
	put_pid(spid);
	ipcon_peer_end_send(peer);
	ipcon_group_put(grp);
	return err;

unlock:
	rcu_read_unlock();
	return err;
}

static int ipcon_group_fill(struct sk_buff *skb, struct netlink_callback *cb,
			    const struct hlist_node *node)
{
	const struct ipcon_group *grp =
		hlist_entry(node, struct ipcon_group, node);
	void *hdr;

	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
			  cb->nlh->nlmsg_seq, &ipcon_genl_family, NLM_F_MULTI,
			  IPCON_CMD_GRP_LIST);
	if (!hdr)
		return -EMSGSIZE;
	genl_dump_check_consistent(cb, hdr);
	if (nla_put_string(skb, IPCON_A_NAME, grp->name) ||
	    ipcon_msg_put_owner(skb, grp->owner) ||
	    nla_put_u32(skb, IPCON_A_COUNT, grp->nmembers) ||
	    nla_put_u32(skb, IPCON_A_FLAGS, grp->flags)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static u64 ipcon_group_seq(const struct hlist_node *node)
{
	return hlist_entry(node, struct ipcon_group, node)->seq;
}

static const struct ipcon_dump_ops ipcon_group_dump_ops = {
	.seq	= ipcon_group_seq,
	.fill	= ipcon_group_fill,
};

/**
 * ipcon_group_dump - IPCON_CMD_GRP_LIST dump callback
 * @skb: the dump buffer
 * @cb: the dump state, see ipcon_dump_table()
 *
 * Return: the dump buffer length (0 when done) or a negative errno.
 */
int ipcon_group_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct ipcon_net *ns = ipcon_net(sock_net(skb->sk));

	return ipcon_dump_table(skb, cb, ns, ns->groups,
				HASH_SIZE(ns->groups), &ns->grp_gen,
				&ipcon_group_dump_ops);
}
