// SPDX-License-Identifier: GPL-2.0-only
/*
 * Events: subscriptions and fan-out of IPCON_CMD_EVENT, with a lost counter
 * per subscriber reported by IPCON_CMD_LOST (without IPCON_A_NAME).
 *
 * Events carry the port, id, uid and gid of the peer they are about (the
 * peer that is gone, or the owner of the name), so a subscriber can check
 * who owns a name before it trusts it.
 *
 * Ordering without a lock across the fan-out: the code that changes a
 * registration emits its event under ipcon_net.lock, which only builds it
 * and appends it to the namespace's event queue, so the queue holds the
 * events in the order the changes happened. After dropping the lock, that
 * code calls ipcon_event_flush(), which delivers the queue in order. One
 * task flushes at a time (ipcon_net.flush_lock): a request that finds
 * another flushing leaves its events to it and returns at once, so no
 * request waits for another one's fan-out, and the events about one name
 * or one peer reach every subscriber in order. A request that flushes
 * delivers only the events queued up to its own (the queue's tail when it
 * took the lock): events queued meanwhile by others go to the namespace's
 * flush work, on an unbound workqueue. Without that bound, one request
 * flushing under a steady stream of registrations kept delivering other
 * requests' events for as long as the stream lasted (a registration took
 * 133 s in the stress run). A subscriber gets the events queued after it
 * subscribed.
 *
 * Locking: subscriptions are added and removed under ipcon_net.lock; the
 * list is an RCU list walked by the flusher under ipcon_srcu (deliveries
 * may sleep), and a removed subscription is freed after an SRCU grace
 * period. The lost counters are used by the flusher only, under
 * ipcon_net.flush_lock. ipcon_net.evq_lock (a spinlock) guards the queue
 * itself and nests inside everything.
 */

#include <linux/rculist.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/skbuff.h>
#include <linux/srcu.h>
#include <linux/workqueue.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "ipcon.h"

/**
 * struct ipcon_queued_event - an event waiting to be delivered
 * @node: entry in ipcon_net.evq
 * @seq: its place in the namespace's order of events
 * @lost_before: events just before this one that could not be queued
 * @skb: the IPCON_CMD_EVENT message, cloned for each subscriber, or NULL
 *	if it could not be built (each subscriber counts it as lost)
 */
struct ipcon_queued_event {
	struct list_head node;
	u64 seq;
	u32 lost_before;
	struct sk_buff *skb;
};

static void ipcon_event_flush_work(struct work_struct *work);

/**
 * ipcon_event_net_init - set up the event state of a namespace
 * @ns: the namespace state
 */
void ipcon_event_net_init(struct ipcon_net *ns)
{
	mutex_init(&ns->flush_lock);
	INIT_WORK(&ns->flush_work, ipcon_event_flush_work);
	spin_lock_init(&ns->evq_lock);
	INIT_LIST_HEAD(&ns->evq);
	INIT_LIST_HEAD(&ns->subscribers);
	ns->ev_seq = 0;
}

/* The first queued event if its sequence number is at most @upto. */
static struct ipcon_queued_event *ipcon_event_pop(struct ipcon_net *ns,
						  u64 upto)
{
	struct ipcon_queued_event *ev;

	spin_lock_bh(&ns->evq_lock);
	ev = list_first_entry_or_null(&ns->evq, struct ipcon_queued_event,
				      node);
	if (ev && ev->seq <= upto)
		list_del(&ev->node);
	else
		ev = NULL;
	spin_unlock_bh(&ns->evq_lock);
	return ev;
}

/* The sequence number of the last queued event, 0 if none. */
static u64 ipcon_event_tail(struct ipcon_net *ns)
{
	struct ipcon_queued_event *ev;
	u64 seq = 0;

	spin_lock_bh(&ns->evq_lock);
	if (!list_empty(&ns->evq)) {
		ev = list_last_entry(&ns->evq, struct ipcon_queued_event, node);
		seq = ev->seq;
	}
	spin_unlock_bh(&ns->evq_lock);
	return seq;
}

static void ipcon_event_free(struct ipcon_queued_event *ev)
{
	consume_skb(ev->skb);
	kfree(ev);
}

/**
 * ipcon_event_net_exit - tear down the event state of a namespace
 * @ns: the namespace state
 *
 * Subscriptions belong to peers and are gone already; queued events are
 * dropped. Waits for the flush work, which may requeue itself.
 */
void ipcon_event_net_exit(struct ipcon_net *ns)
{
	struct ipcon_queued_event *ev;

	cancel_work_sync(&ns->flush_work);
	while ((ev = ipcon_event_pop(ns, U64_MAX)))
		ipcon_event_free(ev);
	WARN_ON_ONCE(!list_empty(&ns->subscribers));
	mutex_destroy(&ns->flush_lock);
}

static void ipcon_sub_free_rcu(struct rcu_head *rcu)
{
	struct ipcon_sub *sub = container_of(rcu, struct ipcon_sub, rcu);

	sock_put(sub->sk);
	kfree(sub);
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
	/* the flusher may use it after the peer is gone */
	sock_hold(peer->sk);
	sub->sk = peer->sk;
	/* events queued from now on; the queue only grows under ns->lock */
	sub->from_seq = ns->ev_seq + 1;
	list_add_tail_rcu(&sub->node, &ns->subscribers);
	peer->sub = sub;
	return 0;
}

/**
 * ipcon_event_unsub - end a peer's subscription
 * @ns: the namespace state
 * @peer: the peer
 *
 * Must be called under @ns->lock. A flush in progress may still deliver
 * an event to it.
 *
 * Return: 0 or -ENOTCONN.
 */
int ipcon_event_unsub(struct ipcon_net *ns, struct ipcon_peer *peer)
{
	struct ipcon_sub *sub = peer->sub;

	lockdep_assert_held(&ns->lock);
	if (!sub)
		return -ENOTCONN;

	list_del_rcu(&sub->node);
	peer->sub = NULL;
	call_srcu(&ipcon_srcu, &sub->rcu, ipcon_sub_free_rcu);
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
 * ipcon_event_emit - queue an event for every subscriber
 * @ns: the namespace state
 * @event: IPCON_EV_*
 * @peer: the peer the event is about (the owner of @name)
 * @name: IPCON_A_NAME of the event, or NULL
 *
 * Must be called under @ns->lock; the caller calls ipcon_event_flush()
 * after dropping it. If the event cannot be built, it is queued without a
 * message, and every subscriber counts it as lost in its place; if it
 * cannot even be queued, the next event queued carries the loss.
 */
void ipcon_event_emit(struct ipcon_net *ns, u32 event,
		      const struct ipcon_peer *peer, const char *name)
{
	struct ipcon_queued_event *ev;

	lockdep_assert_held(&ns->lock);
	/* the list only changes under ns->lock, which is held */
	if (list_empty(&ns->subscribers))
		return;

	ev = kmalloc(sizeof(*ev), GFP_KERNEL);
	if (!ev) {
		ns->ev_unqueued++;
		return;
	}
	ev->skb = ipcon_event_build(event, peer, name);
	ev->seq = ++ns->ev_seq;
	ev->lost_before = ns->ev_unqueued;
	ns->ev_unqueued = 0;
	spin_lock_bh(&ns->evq_lock);
	list_add_tail(&ev->node, &ns->evq);
	spin_unlock_bh(&ns->evq_lock);
}

static bool ipcon_event_pending(struct ipcon_net *ns)
{
	bool pending;

	spin_lock_bh(&ns->evq_lock);
	pending = !list_empty(&ns->evq);
	spin_unlock_bh(&ns->evq_lock);
	return pending;
}

/*
 * @n counts the deliveries of the whole flush, across its events: a flush
 * may deliver thousands of events, each to a few subscribers, and must
 * still yield the CPU now and then (a kernel without preemption would
 * otherwise stall RCU for as long as the flush lasts).
 */
static void ipcon_event_fan_out(struct ipcon_net *ns, struct ipcon_queued_event *ev,
				unsigned int *n)
{
	struct ipcon_sub *sub;
	int idx;

	lockdep_assert_held(&ns->flush_lock);
	idx = srcu_read_lock(&ipcon_srcu);
	list_for_each_entry_srcu(sub, &ns->subscribers, node,
				 srcu_read_lock_held(&ipcon_srcu)) {
		if (ev->seq < sub->from_seq)
			continue;
		sub->lost = min_t(u64, U32_MAX, (u64)sub->lost + ev->lost_before);
		if (ev->skb)
			ipcon_msg_deliver(ns->net, sub->sk, sub->port, ev->skb,
					  0, 0, &sub->lost, NULL);
		else if (sub->lost < U32_MAX)
			sub->lost++;
		ipcon_fan_out_step(n);
	}
	srcu_read_unlock(&ipcon_srcu, idx);
}

/* Delivers the queued events up to sequence number @upto, in order. */
static void ipcon_event_deliver(struct ipcon_net *ns, u64 upto)
{
	struct ipcon_queued_event *ev;
	unsigned int n = 0;

	lockdep_assert_held(&ns->flush_lock);
	while ((ev = ipcon_event_pop(ns, upto))) {
		ipcon_event_fan_out(ns, ev, &n);
		ipcon_event_free(ev);
		/* an event counts as a delivery, subscribers or not */
		ipcon_fan_out_step(&n);
	}
}

/*
 * Called by a flusher after unlocking ->flush_lock. A task that failed the
 * trylock had queued its events before trying, so they are seen here and
 * left to the flush work rather than behind.
 */
static void ipcon_event_hand_over(struct ipcon_net *ns)
{
	if (ipcon_event_pending(ns))
		queue_work(system_unbound_wq, &ns->flush_work);
}

static void ipcon_event_flush_work(struct work_struct *work)
{
	struct ipcon_net *ns = container_of(work, struct ipcon_net,
					    flush_work);

	mutex_lock(&ns->flush_lock);
	ipcon_event_deliver(ns, U64_MAX);
	mutex_unlock(&ns->flush_lock);
	ipcon_event_hand_over(ns);
}

/**
 * ipcon_event_flush - deliver the queued events, in order
 * @ns: the namespace state
 *
 * Called without any lock, by every path that may have emitted events,
 * after emitting them. Delivers the queue up to its tail as found then
 * (the caller's events and any before them), and leaves what others queue
 * meanwhile to the flush work. If another task is flushing, it delivers
 * the caller's events and this returns at once.
 */
void ipcon_event_flush(struct ipcon_net *ns)
{
	if (!ipcon_event_pending(ns) || !mutex_trylock(&ns->flush_lock))
		return;
	ipcon_event_deliver(ns, ipcon_event_tail(ns));
	mutex_unlock(&ns->flush_lock);
	ipcon_event_hand_over(ns);
}
