// SPDX-License-Identifier: GPL-2.0-only
/*
 * Events: subscriptions and fan-out of IPCON_CMD_EVENT, with a lost counter
 * per subscriber reported by IPCON_CMD_LOST (without IPCON_A_NAME).
 *
 * Events carry the port, id, uid and gid of the peer they are about (the
 * peer that is gone, or the owner of the name), so a subscriber can check
 * who owns a name before it trusts it.
 *
 * Locking: subscriptions are added and removed under ipcon_net.lock and
 * ipcon_net.events_lock (taken in that order, after any group lock);
 * ipcon_net.events_lock alone protects iterating the subscribers and their
 * lost counters. Events are emitted under ipcon_net.lock by the code that
 * changed the registration, so the events about one name (and about one
 * peer) reach every subscriber in the order the changes happened.
 */

#include <linux/slab.h>
#include <linux/skbuff.h>
#include <net/genetlink.h>

#include "ipcon.h"

/**
 * ipcon_event_net_init - set up the event state of a namespace
 * @ns: the namespace state
 */
void ipcon_event_net_init(struct ipcon_net *ns)
{
	mutex_init(&ns->events_lock);
	INIT_LIST_HEAD(&ns->subscribers);
}

/**
 * ipcon_event_net_exit - tear down the event state of a namespace
 * @ns: the namespace state
 *
 * Subscriptions belong to peers and are normally gone already.
 */
void ipcon_event_net_exit(struct ipcon_net *ns)
{
	struct ipcon_sub *sub, *tmp;

	mutex_lock(&ns->events_lock);
	list_for_each_entry_safe(sub, tmp, &ns->subscribers, node) {
		list_del(&sub->node);
		kfree(sub);
	}
	mutex_unlock(&ns->events_lock);
	mutex_destroy(&ns->events_lock);
}

/**
 * ipcon_event_sub - subscribe a peer to events
 * @ns: the namespace state
 * @peer: the peer
 * @extack: for the error message
 *
 * Must be called under @ns->lock.
 *
 * Return: 0, -EALREADY, -EDQUOT or -ENOMEM.
 */
int ipcon_event_sub(struct ipcon_net *ns, struct ipcon_peer *peer,
		    struct netlink_ext_ack *extack)
{
	struct ipcon_sub *sub;
	int err;

	lockdep_assert_held(&ns->lock);
	if (peer->sub) {
		NL_SET_ERR_MSG_MOD(extack, "already subscribed");
		return -EALREADY;
	}
	err = ipcon_user_charge(ns, peer, IPCON_LIM_SUBSCRIPTIONS, extack);
	if (err)
		return err;
	sub = kzalloc(sizeof(*sub), GFP_KERNEL_ACCOUNT);
	if (!sub) {
		ipcon_user_uncharge(ns, peer, IPCON_LIM_SUBSCRIPTIONS);
		return -ENOMEM;
	}
	sub->port = peer->port;
	sub->peer = peer;

	mutex_lock(&ns->events_lock);
	list_add_tail(&sub->node, &ns->subscribers);
	mutex_unlock(&ns->events_lock);
	peer->sub = sub;
	return 0;
}

/**
 * ipcon_event_unsub - end a peer's subscription
 * @ns: the namespace state
 * @peer: the peer
 *
 * Must be called under @ns->lock.
 *
 * Return: 0 or -ENOTCONN.
 */
int ipcon_event_unsub(struct ipcon_net *ns, struct ipcon_peer *peer)
{
	struct ipcon_sub *sub = peer->sub;

	lockdep_assert_held(&ns->lock);
	if (!sub)
		return -ENOTCONN;

	mutex_lock(&ns->events_lock);
	list_del(&sub->node);
	mutex_unlock(&ns->events_lock);
	peer->sub = NULL;
	kfree(sub);
	ipcon_user_uncharge(ns, peer, IPCON_LIM_SUBSCRIPTIONS);
	return 0;
}

static struct sk_buff *ipcon_event_build(u32 event,
					 const struct ipcon_peer *peer,
					 const char *name)
{
	size_t len = nla_total_size(sizeof(u32)) + ipcon_msg_owner_size();
	struct sk_buff *skb;
	void *hdr;

	if (name)
		len += nla_total_size(strlen(name) + 1);
	skb = genlmsg_new(len, GFP_KERNEL);
	if (!skb)
		return NULL;
	hdr = genlmsg_put(skb, 0, 0, &ipcon_genl_family, 0, IPCON_CMD_EVENT);
	if (!hdr || nla_put_u32(skb, IPCON_A_EVENT, event) ||
	    ipcon_msg_put_owner(skb, peer) ||
	    (name && nla_put_string(skb, IPCON_A_NAME, name))) {
		nlmsg_free(skb);
		return NULL;
	}
	genlmsg_end(skb, hdr);
	return skb;
}

/**
 * ipcon_event_emit - send an event to every subscriber
 * @ns: the namespace state
 * @event: IPCON_EV_*
 * @peer: the peer the event is about (the owner of @name)
 * @name: IPCON_A_NAME of the event, or NULL
 *
 * Must be called under @ns->lock. If the event cannot be built, every
 * subscriber counts it as lost. Subscribers whose socket is being closed
 * get nothing.
 */
void ipcon_event_emit(struct ipcon_net *ns, u32 event,
		      const struct ipcon_peer *peer, const char *name)
{
	struct ipcon_sub *sub;
	struct sk_buff *skb;

	lockdep_assert_held(&ns->lock);
	/* the list only changes under ns->lock, which is held */
	if (list_empty(&ns->subscribers))
		return;

	skb = ipcon_event_build(event, peer, name);

	mutex_lock(&ns->events_lock);
	list_for_each_entry(sub, &ns->subscribers, node) {
		if (skb)
			ipcon_msg_deliver(ns->net, sub->peer->sk, sub->port,
					  skb, 0, 0, &sub->lost, NULL);
		else if (sub->lost < U32_MAX)
			sub->lost++;
	}
	mutex_unlock(&ns->events_lock);
	consume_skb(skb);
}
