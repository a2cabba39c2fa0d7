// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-user limits: how many services, groups, memberships and event
 * subscriptions one user (the effective uid of a peer's credentials) holds
 * in a network namespace, and how much memory its retained messages pin.
 * Going over a limit fails with EDQUOT and an extended-ack message naming
 * the module parameter; a count goes down when its object goes away.
 *
 * The defaults suit a device whose daemons register a handful of names
 * each: far above what a real daemon needs, low enough that one
 * misbehaving or hostile user cannot fill kernel memory (each object is a
 * few hundred bytes, memcg-charged; a retained message pins up to ~128 KiB
 * that no socket buffer limit covers). 0 disables a limit. The parameters
 * may be changed at run time; a lower value applies to new objects only.
 *
 * Locking: users are looked up, created, counted and freed under
 * ipcon_net.lock. The retained bytes are an atomic, changed under the
 * publish lock of the group that retains; each group holds a reference to
 * its owner's user until its retained message is freed.
 */

#include <linux/hashtable.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/uidgid.h>
#include <net/genetlink.h>

#include "ipcon.h"

static unsigned int max_services = 256;
module_param(max_services, uint, 0644);
MODULE_PARM_DESC(max_services, "services one user may register per network namespace (0: no limit)");

static unsigned int max_groups = 256;
module_param(max_groups, uint, 0644);
MODULE_PARM_DESC(max_groups, "groups one user may register per network namespace (0: no limit)");

static unsigned int max_memberships = 1024;
module_param(max_memberships, uint, 0644);
MODULE_PARM_DESC(max_memberships, "group memberships one user may hold per network namespace (0: no limit)");

static unsigned int max_subscriptions = 64;
module_param(max_subscriptions, uint, 0644);
MODULE_PARM_DESC(max_subscriptions, "event subscriptions (peers subscribed) per user and network namespace (0: no limit)");

static unsigned long max_retained_bytes = 4UL << 20;
module_param(max_retained_bytes, ulong, 0644);
MODULE_PARM_DESC(max_retained_bytes, "kernel memory (skb truesize) one user's retained messages may hold per network namespace (0: no limit)");

static unsigned int ipcon_user_limit(enum ipcon_limit lim)
{
	switch (lim) {
	case IPCON_LIM_SERVICES:
		return READ_ONCE(max_services);
	case IPCON_LIM_GROUPS:
		return READ_ONCE(max_groups);
	case IPCON_LIM_MEMBERSHIPS:
		return READ_ONCE(max_memberships);
	case IPCON_LIM_SUBSCRIPTIONS:
		return READ_ONCE(max_subscriptions);
	default:
		return 0;
	}
}

/* NL_SET_ERR_MSG() takes string literals only */
static void ipcon_user_limit_msg(enum ipcon_limit lim,
				 struct netlink_ext_ack *extack)
{
	switch (lim) {
	case IPCON_LIM_SERVICES:
		NL_SET_ERR_MSG_MOD(extack, "per-user limit reached: max_services");
		break;
	case IPCON_LIM_GROUPS:
		NL_SET_ERR_MSG_MOD(extack, "per-user limit reached: max_groups");
		break;
	case IPCON_LIM_MEMBERSHIPS:
		NL_SET_ERR_MSG_MOD(extack,
				   "per-user limit reached: max_memberships");
		break;
	default:
		NL_SET_ERR_MSG_MOD(extack,
				   "per-user limit reached: max_subscriptions");
		break;
	}
}

static u32 ipcon_user_hash(const struct ipcon_net *ns, kuid_t uid)
{
	return jhash_1word(__kuid_val(uid), ns->hash_seed);
}

/**
 * ipcon_user_get - attach a new peer to the counters of its user
 * @ns: the namespace state
 * @peer: the peer, with ->cred set
 *
 * Must be called under @ns->lock.
 *
 * Return: 0 or -ENOMEM.
 */
int ipcon_user_get(struct ipcon_net *ns, struct ipcon_peer *peer)
{
	kuid_t uid = peer->cred->euid;
	struct ipcon_user *user;

	lockdep_assert_held(&ns->lock);
	hash_for_each_possible(ns->users, user, node, ipcon_user_hash(ns, uid))
		if (uid_eq(user->uid, uid))
			goto found;

	user = kzalloc(sizeof(*user), GFP_KERNEL_ACCOUNT);
	if (!user)
		return -ENOMEM;
	user->uid = uid;
	atomic_long_set(&user->retained, 0);
	hash_add(ns->users, &user->node, ipcon_user_hash(ns, uid));
found:
	user->refs++;
	peer->user = user;
	return 0;
}

/**
 * ipcon_user_hold - one more reference to a user's counters
 * @user: the user, referenced by the caller
 *
 * Must be called under ipcon_net.lock. A group holds its owner's user for
 * the memory its retained message holds, which it may keep a little
 * longer than its owner lives.
 */
void ipcon_user_hold(struct ipcon_user *user)
{
	user->refs++;
}

/**
 * ipcon_user_release - drop a reference to a user's counters
 * @ns: the namespace state
 * @user: the user
 *
 * Must be called under @ns->lock. The user is freed with its last
 * reference.
 */
void ipcon_user_release(struct ipcon_net *ns, struct ipcon_user *user)
{
	lockdep_assert_held(&ns->lock);
	if (--user->refs)
		return;
	WARN_ON_ONCE(atomic_long_read(&user->retained));
	hash_del(&user->node);
	kfree(user);
}

/**
 * ipcon_user_put - detach a dead peer from its user's counters
 * @ns: the namespace state
 * @peer: the peer, which holds nothing any more
 *
 * Must be called under @ns->lock.
 */
void ipcon_user_put(struct ipcon_net *ns, struct ipcon_peer *peer)
{
	struct ipcon_user *user = peer->user;

	peer->user = NULL;
	ipcon_user_release(ns, user);
}

/**
 * ipcon_user_charge - count one more object against the peer's user
 * @ns: the namespace state
 * @peer: the peer that creates the object
 * @lim: which kind of object
 * @extack: names the limit on failure
 *
 * Must be called under @ns->lock.
 *
 * Return: 0 or -EDQUOT.
 */
int ipcon_user_charge(struct ipcon_net *ns, struct ipcon_peer *peer,
		      enum ipcon_limit lim, struct netlink_ext_ack *extack)
{
	unsigned int max = ipcon_user_limit(lim);
	struct ipcon_user *user = peer->user;

	lockdep_assert_held(&ns->lock);
	if (max && user->count[lim] >= max) {
		ipcon_user_limit_msg(lim, extack);
		return -EDQUOT;
	}
	user->count[lim]++;
	return 0;
}

/**
 * ipcon_user_uncharge - an object counted by ipcon_user_charge() is gone
 * @ns: the namespace state
 * @peer: the peer that created it
 * @lim: which kind of object
 *
 * Must be called under @ns->lock.
 */
void ipcon_user_uncharge(struct ipcon_net *ns, struct ipcon_peer *peer,
			 enum ipcon_limit lim)
{
	lockdep_assert_held(&ns->lock);
	if (!WARN_ON_ONCE(!peer->user->count[lim]))
		peer->user->count[lim]--;
}

/**
 * ipcon_user_charge_retained - change the memory held by retained messages
 * @user: the group owner's user
 * @delta: bytes more (positive) or fewer (negative)
 * @extack: names the limit on failure (may be NULL when @delta <= 0)
 *
 * Called under the retaining group's lock. Giving memory back always
 * succeeds.
 *
 * Return: 0 or -EDQUOT.
 */
int ipcon_user_charge_retained(struct ipcon_user *user, long delta,
			       struct netlink_ext_ack *extack)
{
	unsigned long max = READ_ONCE(max_retained_bytes);
	long now = atomic_long_add_return(delta, &user->retained);

	if (delta > 0 && max && now > 0 && (unsigned long)now > max) {
		atomic_long_sub(delta, &user->retained);
		NL_SET_ERR_MSG_MOD(extack,
				   "per-user limit reached: max_retained_bytes");
		return -EDQUOT;
	}
	return 0;
}

/**
 * ipcon_user_net_exit - check that no user is left
 * @ns: the namespace state, after all peers were freed
 */
void ipcon_user_net_exit(struct ipcon_net *ns)
{
	struct ipcon_user *user;
	struct hlist_node *tmp;
	unsigned int bkt;

	mutex_lock(&ns->lock);
	hash_for_each_safe(ns->users, bkt, tmp, user, node) {
		WARN_ON_ONCE(1);
		hash_del(&user->node);
		kfree(user);
	}
	mutex_unlock(&ns->lock);
}
