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
 * ipcon_net.lock. Each group also has its own mutex, taken after
 * ipcon_net.lock, protecting its member list, the members' lost counters,
 * ->dead and the retained message; membership changes hold both locks.
 *
 * Publishing takes only the group's mutex, so publishes to different groups
 * run in parallel: the group is looked up under rcu_read_lock() and pinned
 * with kref_get_unless_zero(), the message is built outside any lock, then
 * the group's mutex is taken (deliveries may sleep) and ->dead checked. The
 * table holds one reference, dropped when the group is removed; the last
 * reference frees the group after a grace period.
 */

#include <linux/kref.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "ipcon.h"

static void ipcon_group_release(struct kref *ref)
{
	struct ipcon_group *grp = container_of(ref, struct ipcon_group, ref);

	mutex_destroy(&grp->lock);
	kfree_rcu(grp, rcu);
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

/* Frees a membership; under ns->lock and, if the group is live, its lock */
static void ipcon_member_free(struct ipcon_net *ns, struct ipcon_member *m)
{
	hash_del(&m->hnode);
	list_del(&m->peer_node);
	ipcon_user_uncharge(ns, m->peer, IPCON_LIM_MEMBERSHIPS);
	kfree(m);
}

/* Drops the retained message and its charge; under the group's lock */
static void ipcon_group_drop_retained(struct ipcon_group *grp,
				      struct sk_buff **retained,
				      struct pid **pid)
{
	lockdep_assert_held(&grp->lock);
	if (grp->retained_size)
		ipcon_user_charge_retained(grp->owner->user,
					   -grp->retained_size, NULL);
	grp->retained_size = 0;
	*retained = grp->retained;
	grp->retained = NULL;
	*pid = grp->retained_pid;
	grp->retained_pid = NULL;
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
	grp->port = peer->port;
	grp->flags = flags;
	kref_init(&grp->ref);
	mutex_init(&grp->lock);
	INIT_LIST_HEAD(&grp->members);
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
 * Must be called under @ns->lock. A publish in progress finds the group
 * dead and delivers nothing more; the group is freed when the last
 * reference is gone.
 */
void ipcon_group_remove(struct ipcon_net *ns, struct ipcon_group *grp,
			bool notify)
{
	struct ipcon_member *m, *tmp;
	struct sk_buff *retained;
	struct pid *pid;

	lockdep_assert_held(&ns->lock);

	hash_del_rcu(&grp->node);
	list_del(&grp->peer_node);

	mutex_lock(&grp->lock);
	grp->dead = true;
	list_for_each_entry_safe(m, tmp, &grp->members, grp_node) {
		list_del(&m->grp_node);
		ipcon_member_free(ns, m);
	}
	grp->nmembers = 0;
	ipcon_group_drop_retained(grp, &retained, &pid);
	mutex_unlock(&grp->lock);

	consume_skb(retained);
	put_pid(pid);
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

/*
 * Sends the retained message to a new member, flagged as a replay. Called
 * under the group's lock, after the member was added, so the replay is
 * ordered before any later publish.
 */
static void ipcon_group_replay(struct ipcon_net *ns, struct ipcon_group *grp,
			       struct ipcon_member *m)
{
	struct sk_buff *skb;
	struct nlattr *nla;
	u32 pid;

	lockdep_assert_held(&grp->lock);

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
	pid = pid_nr_ns(grp->retained_pid, m->pidns);
	ipcon_msg_deliver(ns->net, m->peer->sk, m->port, skb,
			  grp->retained_pidnr, pid, &m->lost, grp->name);
	consume_skb(skb);
}

/**
 * ipcon_group_join - join a group
 * @ns: the namespace state
 * @peer: the joining peer
 * @name: a valid name
 * @flags: IPCON_JOIN_F_* (already checked)
 * @extack: for the error message
 *
 * Must be called under @ns->lock. With IPCON_JOIN_F_LAST the retained
 * message, if any, is delivered right after the join is recorded.
 *
 * Return: 0, -ENOENT, -EALREADY, -EACCES (policy), -EDQUOT (limit) or
 * -ENOMEM.
 */
int ipcon_group_join(struct ipcon_net *ns, struct ipcon_peer *peer,
		     const char *name, u32 flags,
		     struct netlink_ext_ack *extack)
{
	struct ipcon_group *grp = ipcon_group_find_err(ns, name, extack);
	struct ipcon_member *m;
	int err;

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
	m->group = grp;
	m->peer = peer;
	m->pidns = ipcon_peer_pidns(peer);
	m->port = peer->port;

	mutex_lock(&grp->lock);
	list_add_tail(&m->grp_node, &grp->members);
	grp->nmembers++;
	list_add_tail(&m->peer_node, &peer->memberships);
	hash_add(ns->members, &m->hnode, ipcon_member_hash(ns, grp, peer));
	if ((flags & IPCON_JOIN_F_LAST) && grp->retained)
		ipcon_group_replay(ns, grp, m);
	mutex_unlock(&grp->lock);

	ipcon_gen_bump(&ns->grp_gen);
	return 0;
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
	list_del(&m->grp_node);
	grp->nmembers--;
	mutex_unlock(&grp->lock);
	ipcon_member_free(ns, m);
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
 * Delivers @msg to every member (each sees the sender's pid in its own pid
 * namespace) and keeps it as the retained message if the group retains.
 * Called with the group's lock held and the group live. Returns the
 * message the caller must free (the previous retained one, or @msg).
 */
static struct sk_buff *ipcon_group_fan_out(struct ipcon_net *ns,
					   struct ipcon_group *grp,
					   struct sk_buff *msg,
					   struct pid **spid, u32 pidnr,
					   long charge)
{
	struct ipcon_member *m;

	lockdep_assert_held(&grp->lock);
	list_for_each_entry(m, &grp->members, grp_node)
		ipcon_msg_deliver(ns->net, m->peer->sk, m->port, msg, pidnr,
				  pid_nr_ns(*spid, m->pidns), &m->lost,
				  grp->name);
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
		kref_put(&grp->ref, ipcon_group_release);
		NL_SET_ERR_MSG_MOD(extack, "group belongs to another peer");
		return -EPERM;
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

	mutex_lock(&grp->lock);
	if (grp->dead) {
		mutex_unlock(&grp->lock);
		kfree_skb(msg);
		NL_SET_ERR_MSG_MOD(extack, "no such group");
		err = -ENOENT;
		goto put;
	}
	if (grp->flags & IPCON_GRP_F_RETAIN) {
		/* the group is live, so its owner and the owner's user are */
		charge = msg->truesize - grp->retained_size;
		err = ipcon_user_charge_retained(grp->owner->user, charge,
						 extack);
		if (err) {
			mutex_unlock(&grp->lock);
			kfree_skb(msg);
			goto put;
		}
	}
	msg = ipcon_group_fan_out(ns, grp, msg, &spid, st.pid, charge);
	mutex_unlock(&grp->lock);
	consume_skb(msg);
put:
	put_pid(spid);
	kref_put(&grp->ref, ipcon_group_release);
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
				ipcon_group_fill);
}
