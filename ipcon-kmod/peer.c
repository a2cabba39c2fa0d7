// SPDX-License-Identifier: GPL-2.0-only
/*
 * Peers: lazy creation, pairing of a control socket, and teardown when one
 * of a peer's sockets is released (NETLINK_URELEASE).
 *
 * Locking: ipcon_net.lock protects the peer tables and every field of
 * every peer. Peers are added with hash_add_rcu() and freed by an RCU
 * callback (which also drops their credentials, pid and socket
 * references), so ipcon_peer_lookup_rcu(), ipcon_peer_find_live_rcu() and
 * ipcon_peer_find_id_rcu() need only rcu_read_lock(); ->dead is written
 * with WRITE_ONCE() for them.
 *
 * Identity: a peer is created by the first request of its receive socket
 * R. Its credentials are those R was opened with (the socket file's, not
 * the writing task's), its pid is the creating process's thread group,
 * and its id comes from a per-namespace counter that never goes back.
 *
 * The netlink notifier chain is a blocking one: the notifier runs in the
 * process context of the task that releases the socket. It marks the peer
 * closing (no new send or publish of it starts), waits without any lock for
 * those in flight, then tears the peer down under ipcon_net.lock, queueing
 * its events, and delivers them after dropping the lock; no work is
 * deferred, so nothing of the peer runs after it is gone.
 *
 * A peer whose two sockets are paired stays in the table of the socket that
 * is still open, marked dead, until that socket is released too: commands
 * on it then fail with ENOTCONN instead of silently creating a new peer.
 */

#include <linux/cred.h>
#include <linux/file.h>
#include <linux/netlink.h>
#include <linux/notifier.h>
#include <linux/pid.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <net/sock.h>

#include "ipcon.h"

static struct ipcon_peer *ipcon_peer_find_port(struct ipcon_net *ns, u32 port)
{
	struct ipcon_peer *peer;

	lockdep_assert_held(&ns->lock);
	hash_for_each_possible(ns->peers, peer, port_node,
			       ipcon_port_hash(ns, port))
		if (peer->port == port)
			return peer;
	return NULL;
}

static struct ipcon_peer *ipcon_peer_find_ctrl(struct ipcon_net *ns, u32 port)
{
	struct ipcon_peer *peer;

	lockdep_assert_held(&ns->lock);
	hash_for_each_possible(ns->ctrls, peer, ctrl_node,
			       ipcon_port_hash(ns, port))
		if (peer->ctrl_port == port)
			return peer;
	return NULL;
}

/*
 * A port is unique among live sockets, but netlink unhashes a released
 * socket before calling the notifier, so a new socket may reuse the port of
 * a peer whose teardown is still pending. The socket pointer, compared but
 * never dereferenced, tells them apart: the old socket is not freed before
 * the notifier has run, so its address cannot have been reused yet.
 */
static struct ipcon_peer *ipcon_peer_check(struct ipcon_peer *peer,
					   const struct sock *owner,
					   const struct sock *sk,
					   struct netlink_ext_ack *extack)
{
	if (owner != sk) {
		NL_SET_ERR_MSG_MOD(extack,
				   "port still held by a closing socket, retry");
		return ERR_PTR(-EBUSY);
	}
	if (READ_ONCE(peer->dead) || READ_ONCE(peer->closing)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "peer is gone: its other socket was closed");
		return ERR_PTR(-ENOTCONN);
	}
	return peer;
}

static bool ipcon_peer_has_state(const struct ipcon_peer *peer)
{
	return !list_empty(&peer->services) || !list_empty(&peer->groups) ||
	       !list_empty(&peer->memberships) || peer->sub || peer->token ||
	       peer->ctrl_port;
}

/*
 * Drops everything the peer registered and announces it. Called under
 * ipcon_net.lock; the peer stays in the tables (the caller unhashes it).
 * Events about the peer's names come first, IPCON_EV_PEER_GONE last; the
 * peer's own subscription is dropped first so it is not told about itself.
 */
static void ipcon_peer_kill(struct ipcon_net *ns, struct ipcon_peer *peer,
			    bool notify)
{
	struct ipcon_service *svc, *stmp;
	struct ipcon_group *grp, *gtmp;
	struct ipcon_member *m, *mtmp;

	lockdep_assert_held(&ns->lock);
	if (peer->dead)
		return;
	WRITE_ONCE(peer->dead, true);
	hash_del_rcu(&peer->id_node);
	peer->token = 0;

	if (peer->sub)
		ipcon_event_unsub(ns, peer);
	list_for_each_entry_safe(svc, stmp, &peer->services, peer_node)
		ipcon_service_remove(ns, svc, notify);
	list_for_each_entry_safe(grp, gtmp, &peer->groups, peer_node)
		ipcon_group_remove(ns, grp, notify);
	list_for_each_entry_safe(m, mtmp, &peer->memberships, peer_node)
		ipcon_member_remove(ns, m);

	if (notify)
		ipcon_event_emit(ns, IPCON_EV_PEER_GONE, peer, NULL);
	ipcon_user_put(ns, peer);
}

static void ipcon_peer_unhash_port(struct ipcon_peer *peer)
{
	if (peer->port_hashed) {
		hash_del_rcu(&peer->port_node);
		peer->port_hashed = false;
	}
}

static void ipcon_peer_unhash_ctrl(struct ipcon_peer *peer)
{
	if (peer->ctrl_hashed) {
		hash_del_rcu(&peer->ctrl_node);
		peer->ctrl_hashed = false;
	}
}

static void ipcon_peer_free_rcu(struct rcu_head *rcu)
{
	struct ipcon_peer *peer = container_of(rcu, struct ipcon_peer, rcu);

	put_cred(peer->cred);
	put_pid(peer->pid);
	sock_put(peer->sk);
	kfree(peer);
}

static void ipcon_peer_put_if_unhashed(struct ipcon_peer *peer)
{
	if (!peer->port_hashed && !peer->ctrl_hashed)
		call_rcu(&peer->rcu, ipcon_peer_free_rcu);
}

/*
 * A new peer for the socket that sent a request: its identity is taken
 * from the socket file, which a request's socket always has, so that a
 * socket handed to another program keeps speaking for its opener.
 */
static struct ipcon_peer *ipcon_peer_new(struct ipcon_net *ns,
					 struct sock *sk, u32 portid,
					 struct netlink_ext_ack *extack)
{
	struct file *file = sk->sk_socket ? sk->sk_socket->file : NULL;
	const struct cred *cred;
	struct ipcon_peer *peer;
	int err;

	lockdep_assert_held(&ns->lock);
	if (!file) {
		NL_SET_ERR_MSG_MOD(extack, "socket has no file");
		return ERR_PTR(-EPERM);
	}
	peer = kzalloc(sizeof(*peer), GFP_KERNEL_ACCOUNT);
	if (!peer)
		return ERR_PTR(-ENOMEM);
	cred = file->f_cred;
	peer->cred = get_cred(cred);
	peer->uid = from_kuid_munged(ns->net->user_ns, cred->euid);
	peer->gid = from_kgid_munged(ns->net->user_ns, cred->egid);
	err = ipcon_user_get(ns, peer);
	if (err) {
		put_cred(peer->cred);
		kfree(peer);
		return ERR_PTR(err);
	}
	peer->pid = get_task_pid(current, PIDTYPE_TGID);
	sock_hold(sk);
	peer->sk = sk;
	peer->port = portid;
	peer->id = ++ns->next_id;
	INIT_LIST_HEAD(&peer->services);
	INIT_LIST_HEAD(&peer->groups);
	INIT_LIST_HEAD(&peer->memberships);
	hash_add_rcu(ns->ids, &peer->id_node, peer->id);
	hash_add_rcu(ns->peers, &peer->port_node, ipcon_port_hash(ns, portid));
	peer->port_hashed = true;
	return peer;
}

/**
 * ipcon_peer_get - the peer a request acts for, created if needed
 * @ns: the namespace state
 * @skb: the request
 * @info: the request's genetlink info
 *
 * A request on a peer's receive socket or on its paired control socket acts
 * for that peer; a request on any other socket creates a peer whose
 * receive socket is the sender. Must be called under @ns->lock.
 *
 * Return: the peer, or ERR_PTR(-ENOMEM), ERR_PTR(-ENOTCONN) (the other
 * socket of the pair is closed) or ERR_PTR(-EBUSY) (the port belongs to a
 * socket whose release is still being processed). An error message is set
 * in @info->extack.
 */
struct ipcon_peer *ipcon_peer_get(struct ipcon_net *ns,
				  const struct sk_buff *skb,
				  const struct genl_info *info)
{
	struct sock *sk = NETLINK_CB(skb).sk;
	u32 portid = info->snd_portid;
	struct ipcon_peer *peer;

	lockdep_assert_held(&ns->lock);

	peer = ipcon_peer_find_port(ns, portid);
	if (peer)
		return ipcon_peer_check(peer, peer->sk, sk, info->extack);
	peer = ipcon_peer_find_ctrl(ns, portid);
	if (peer)
		return ipcon_peer_check(peer, peer->ctrl_sk, sk, info->extack);

	return ipcon_peer_new(ns, sk, portid, info->extack);
}

/**
 * ipcon_peer_lookup_rcu - the peer a request acts for, if it exists
 * @ns: the namespace state
 * @skb: the request
 * @info: the request's genetlink info
 *
 * Like ipcon_peer_get() but never creates a peer. Must be called under
 * rcu_read_lock(); the peer may only be used until rcu_read_unlock().
 *
 * Return: the peer, NULL if the sender is not a peer, or an ERR_PTR() as
 * for ipcon_peer_get().
 */
struct ipcon_peer *ipcon_peer_lookup_rcu(struct ipcon_net *ns,
					 const struct sk_buff *skb,
					 const struct genl_info *info)
{
	const struct sock *sk = NETLINK_CB(skb).sk;
	u32 portid = info->snd_portid;
	struct ipcon_peer *peer;

	hash_for_each_possible_rcu(ns->peers, peer, port_node,
				   ipcon_port_hash(ns, portid))
		if (peer->port == portid)
			return ipcon_peer_check(peer, peer->sk, sk,
						info->extack);
	hash_for_each_possible_rcu(ns->ctrls, peer, ctrl_node,
				   ipcon_port_hash(ns, portid))
		if (peer->ctrl_port == portid)
			return ipcon_peer_check(peer, peer->ctrl_sk, sk,
						info->extack);
	return NULL;
}

/**
 * ipcon_peer_ensure - make sure the sender of a request is a peer
 * @ns: the namespace state
 * @skb: the request
 * @info: the request's genetlink info
 *
 * For the paths that do not take @ns->lock: looks the peer up under RCU
 * and takes the lock only to create it the first time.
 *
 * Return: 0, or a negative errno as for ipcon_peer_get().
 */
int ipcon_peer_ensure(struct ipcon_net *ns, const struct sk_buff *skb,
		      const struct genl_info *info)
{
	struct ipcon_peer *peer;

	rcu_read_lock();
	peer = ipcon_peer_lookup_rcu(ns, skb, info);
	rcu_read_unlock();
	if (peer)
		return PTR_ERR_OR_ZERO(peer);

	mutex_lock(&ns->lock);
	peer = ipcon_peer_get(ns, skb, info);
	mutex_unlock(&ns->lock);
	return PTR_ERR_OR_ZERO(peer);
}

/**
 * ipcon_peer_find_live_rcu - the live peer whose receive socket is @port
 * @ns: the namespace state
 * @port: a netlink port
 *
 * Must be called under rcu_read_lock().
 *
 * Return: the peer, or NULL if @port is not the address of a live peer.
 */
struct ipcon_peer *ipcon_peer_find_live_rcu(struct ipcon_net *ns, u32 port)
{
	struct ipcon_peer *peer;

	hash_for_each_possible_rcu(ns->peers, peer, port_node,
				   ipcon_port_hash(ns, port))
		if (peer->port == port)
			return READ_ONCE(peer->dead) ? NULL : peer;
	return NULL;
}

/**
 * ipcon_peer_find_id_rcu - the live peer with id @id
 * @ns: the namespace state
 * @id: a peer id
 *
 * Must be called under rcu_read_lock().
 *
 * Return: the peer, or NULL if no live peer has that id (any more).
 */
struct ipcon_peer *ipcon_peer_find_id_rcu(struct ipcon_net *ns, u64 id)
{
	struct ipcon_peer *peer;

	hash_for_each_possible_rcu(ns->ids, peer, id_node, id)
		if (peer->id == id)
			return READ_ONCE(peer->dead) ? NULL : peer;
	return NULL;
}

/**
 * ipcon_peer_closing - whether the peer's receive socket is being closed
 * @peer: a peer, used under rcu_read_lock() or ipcon_net.lock
 *
 * netlink frees a released socket's port before the release notifier
 * tears the peer down, and a new socket may bind that port meanwhile:
 * nothing must be delivered to the port of a peer whose socket is closing.
 *
 * Return: true if the socket was released.
 */
bool ipcon_peer_closing(const struct ipcon_peer *peer)
{
	return sock_flag(peer->sk, SOCK_DEAD);
}

/**
 * ipcon_peer_pair_start - issue a pairing token
 * @ns: the namespace state
 * @peer: the peer, from ipcon_peer_get()
 * @info: the request's genetlink info
 * @token: the new token
 *
 * Must be called under @ns->lock. The request must have been sent on the
 * peer's receive socket (not on a control socket) and the peer must not be
 * paired yet. A new token replaces a pending one.
 *
 * Return: 0 or -EBUSY.
 */
int ipcon_peer_pair_start(struct ipcon_net *ns, struct ipcon_peer *peer,
			  const struct genl_info *info, u64 *token)
{
	lockdep_assert_held(&ns->lock);

	if (peer->ctrl_port) {
		NL_SET_ERR_MSG_MOD(info->extack, "peer is already paired");
		return -EBUSY;
	}
	do {
		peer->token = get_random_u64();
	} while (!peer->token);
	*token = peer->token;
	return 0;
}

/**
 * ipcon_peer_pair - make the sender the control socket of a peer
 * @ns: the namespace state
 * @skb: the request
 * @info: the request's genetlink info
 * @port: the receive port of the peer to pair with
 * @token: the token that peer got from IPCON_CMD_PAIR_START
 *
 * The sender must not be paired already and must not be a peer with state
 * of its own; a stateless peer record of the sender (left by an earlier
 * request such as a resolve) is dropped, with IPCON_EV_PEER_GONE.
 *
 * Checks, in order: the peer exists (-ENOENT), is not paired (-EBUSY),
 * the token matches (-EACCES), the sender is free to pair (-EBUSY, or
 * -ENOTCONN if it is the survivor of a closed pair).
 *
 * Return: 0 or a negative errno as above.
 */
int ipcon_peer_pair(struct ipcon_net *ns, const struct sk_buff *skb,
		    const struct genl_info *info, u32 port, u64 token)
{
	struct netlink_ext_ack *extack = info->extack;
	const struct sock *sk = NETLINK_CB(skb).sk;
	u32 portid = info->snd_portid;
	struct ipcon_peer *peer, *self;
	int err = 0;

	mutex_lock(&ns->lock);

	peer = ipcon_peer_find_port(ns, port);
	if (!peer || peer->dead) {
		NL_SET_ERR_MSG_MOD(extack, "no such peer");
		err = -ENOENT;
		goto out;
	}
	if (peer->ctrl_port) {
		NL_SET_ERR_MSG_MOD(extack, "peer already has a control socket");
		err = -EBUSY;
		goto out;
	}
	if (!peer->token || peer->token != token) {
		NL_SET_ERR_MSG_MOD(extack, "pairing token does not match");
		err = -EACCES;
		goto out;
	}
	self = ipcon_peer_find_ctrl(ns, portid);
	if (self) {
		err = PTR_ERR_OR_ZERO(ipcon_peer_check(self, self->ctrl_sk, sk,
						       extack));
		if (!err) {
			NL_SET_ERR_MSG_MOD(extack, "socket is already paired");
			err = -EBUSY;
		}
		goto out;
	}
	self = ipcon_peer_find_port(ns, portid);
	if (self) {
		err = PTR_ERR_OR_ZERO(ipcon_peer_check(self, self->sk, sk,
						       extack));
		if (err)
			goto out;
		if (self == peer || ipcon_peer_has_state(self)) {
			NL_SET_ERR_MSG_MOD(extack,
					   "socket is already a peer with state");
			err = -EBUSY;
			goto out;
		}
		/* a stateless peer: at most a unicast of it is in flight */
		WRITE_ONCE(self->closing, true);
		/* pairs with the barrier in ipcon_peer_begin_send() */
		smp_mb();
		wait_var_event(&self->inflight, !atomic_read(&self->inflight));
		ipcon_peer_kill(ns, self, true);
		ipcon_peer_unhash_port(self);
		ipcon_peer_put_if_unhashed(self);
	}

	peer->token = 0;
	peer->ctrl_port = portid;
	peer->ctrl_sk = sk;
	hash_add_rcu(ns->ctrls, &peer->ctrl_node, ipcon_port_hash(ns, portid));
	peer->ctrl_hashed = true;
out:
	mutex_unlock(&ns->lock);
	return err;
}

static bool ipcon_peer_port_known(struct ipcon_net *ns, u32 port)
{
	struct ipcon_peer *peer;
	bool known = false;

	rcu_read_lock();
	hash_for_each_possible_rcu(ns->peers, peer, port_node,
				   ipcon_port_hash(ns, port))
		if (peer->port == port)
			known = true;
	hash_for_each_possible_rcu(ns->ctrls, peer, ctrl_node,
				   ipcon_port_hash(ns, port))
		if (peer->ctrl_port == port)
			known = true;
	rcu_read_unlock();
	return known;
}

/*
 * Socket @port of @ns was released. If it belonged to a peer, the peer dies
 * (if it was not dead already) and stops being indexed by that port; it is
 * freed once neither of its sockets is indexed any more.
 */
static void ipcon_peer_release(struct ipcon_net *ns, u32 port)
{
	struct ipcon_peer *peer;
	bool is_port;

	/*
	 * Most genetlink sockets never talk to ipcon. Peers of this port are
	 * only ever created by requests on this very socket, which cannot
	 * race with its release, so a miss here is final.
	 */
	if (!ipcon_peer_port_known(ns, port))
		return;

	mutex_lock(&ns->lock);
	is_port = true;
	peer = ipcon_peer_find_port(ns, port);
	if (!peer) {
		is_port = false;
		peer = ipcon_peer_find_ctrl(ns, port);
	}
	if (!peer) {
		mutex_unlock(&ns->lock);
		return;
	}
	/*
	 * No new send or publish of the peer starts from here; those in
	 * flight are waited for without the lock, so that nothing of the peer
	 * arrives after its IPCON_EV_PEER_GONE. The peer stays allocated: it
	 * is freed only once this port is unhashed, below.
	 */
	WRITE_ONCE(peer->closing, true);
	mutex_unlock(&ns->lock);
	/* pairs with the barrier in ipcon_peer_begin_send() */
	smp_mb();
	wait_var_event(&peer->inflight, !atomic_read(&peer->inflight));

	mutex_lock(&ns->lock);
	ipcon_peer_kill(ns, peer, true);
	if (is_port)
		ipcon_peer_unhash_port(peer);
	else
		ipcon_peer_unhash_ctrl(peer);
	ipcon_peer_put_if_unhashed(peer);
	mutex_unlock(&ns->lock);
	ipcon_event_flush(ns);
}

/**
 * ipcon_peer_net_exit - free all peers of a namespace
 * @ns: the namespace state
 *
 * Called when the namespace goes away or the module is unloaded, after the
 * family and the notifier are gone: no request and no release can run.
 * Sends no events.
 */
void ipcon_peer_net_exit(struct ipcon_net *ns)
{
	struct ipcon_peer *peer;
	struct hlist_node *tmp;
	unsigned int bkt;

	mutex_lock(&ns->lock);
	hash_for_each_safe(ns->peers, bkt, tmp, peer, port_node) {
		ipcon_peer_kill(ns, peer, false);
		ipcon_peer_unhash_port(peer);
		ipcon_peer_unhash_ctrl(peer);
		ipcon_peer_put_if_unhashed(peer);
	}
	hash_for_each_safe(ns->ctrls, bkt, tmp, peer, ctrl_node) {
		ipcon_peer_kill(ns, peer, false);
		ipcon_peer_unhash_ctrl(peer);
		ipcon_peer_put_if_unhashed(peer);
	}
	mutex_unlock(&ns->lock);
}

static int ipcon_peer_notify(struct notifier_block *nb, unsigned long state,
			     void *ptr)
{
	struct netlink_notify *n = ptr;

	if (state != NETLINK_URELEASE || n->protocol != NETLINK_GENERIC)
		return NOTIFY_DONE;
	ipcon_peer_release(ipcon_net(n->net), n->portid);
	return NOTIFY_DONE;
}

static struct notifier_block ipcon_peer_notifier = {
	.notifier_call = ipcon_peer_notify,
};

/**
 * ipcon_peer_register_notifier - start tracking socket releases
 *
 * Return: 0 or a negative errno.
 */
int ipcon_peer_register_notifier(void)
{
	return netlink_register_notifier(&ipcon_peer_notifier);
}

/**
 * ipcon_peer_unregister_notifier - stop tracking socket releases
 *
 * Waits for notifier calls in progress.
 */
void ipcon_peer_unregister_notifier(void)
{
	netlink_unregister_notifier(&ipcon_peer_notifier);
}
