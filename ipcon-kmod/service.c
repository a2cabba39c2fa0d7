// SPDX-License-Identifier: GPL-2.0-only
/*
 * Services: unique names per network namespace, resolved to the owner's
 * port.
 *
 * Registering is checked against the policy (IPCON_ACT_OWN) and counted
 * against the owner's user limit. Lookups, the resolve reply, the list
 * and the events give the owner's port, id, uid and gid.
 *
 * Locking: services are added and removed under ipcon_net.lock, which also
 * orders the IPCON_EV_SRV_* events about them. They are linked into the
 * name table and into their owner's list with the _rcu helpers and freed
 * with kfree_rcu(), so ipcon_service_find_rcu() and readers of a peer's
 * list (the SRC_NAME stamp) need only rcu_read_lock(). The list dump holds
 * ipcon_net.lock.
 */

#include <linux/rculist.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "ipcon.h"

static struct ipcon_service *ipcon_service_find(struct ipcon_net *ns,
						const char *name)
{
	struct ipcon_service *svc;

	lockdep_assert_held(&ns->lock);
	hash_for_each_possible(ns->services, svc, node,
			       ipcon_name_hash(ns, name))
		if (!strcmp(svc->name, name))
			return svc;
	return NULL;
}

/**
 * ipcon_service_find_rcu - look a service up by name
 * @ns: the namespace state
 * @name: a valid name
 *
 * Must be called under rcu_read_lock(); the service may only be used until
 * rcu_read_unlock().
 *
 * Return: the service or NULL.
 */
struct ipcon_service *ipcon_service_find_rcu(struct ipcon_net *ns,
					     const char *name)
{
	struct ipcon_service *svc;

	hash_for_each_possible_rcu(ns->services, svc, node,
				   ipcon_name_hash(ns, name))
		if (!strcmp(svc->name, name))
			return svc;
	return NULL;
}

/**
 * ipcon_service_add - register a service
 * @ns: the namespace state
 * @peer: the owner
 * @name: a valid name
 * @extack: for the error message
 *
 * Must be called under @ns->lock. Emits IPCON_EV_SRV_ADDED.
 *
 * Return: 0, -EEXIST, -EACCES (policy), -EDQUOT (limit) or -ENOMEM.
 */
int ipcon_service_add(struct ipcon_net *ns, struct ipcon_peer *peer,
		      const char *name, struct netlink_ext_ack *extack)
{
	struct ipcon_service *svc;
	int err;

	if (ipcon_service_find(ns, name)) {
		NL_SET_ERR_MSG_MOD(extack, "service name already registered");
		return -EEXIST;
	}
	err = ipcon_policy_check(ns, IPCON_ACT_OWN, name, peer, extack);
	if (err)
		return err;
	err = ipcon_user_charge(ns, peer, IPCON_LIM_SERVICES, extack);
	if (err)
		return err;

	svc = kzalloc(sizeof(*svc), GFP_KERNEL_ACCOUNT);
	if (!svc) {
		ipcon_user_uncharge(ns, peer, IPCON_LIM_SERVICES);
		return -ENOMEM;
	}
	strscpy(svc->name, name, sizeof(svc->name));
	svc->owner = peer;
	svc->port = peer->port;
	svc->seq = ++ns->next_seq;
	hash_add_rcu(ns->services, &svc->node, ipcon_name_hash(ns, svc->name));
	list_add_tail_rcu(&svc->peer_node, &peer->services);
	ipcon_gen_bump(&ns->srv_gen);

	ipcon_event_emit(ns, IPCON_EV_SRV_ADDED, peer, svc->name);
	return 0;
}

/**
 * ipcon_service_remove - remove a service
 * @ns: the namespace state
 * @svc: the service
 * @notify: emit IPCON_EV_SRV_REMOVED
 *
 * Must be called under @ns->lock. @svc is freed after a grace period.
 */
void ipcon_service_remove(struct ipcon_net *ns, struct ipcon_service *svc,
			  bool notify)
{
	lockdep_assert_held(&ns->lock);

	hash_del_rcu(&svc->node);
	list_del_rcu(&svc->peer_node);
	ipcon_gen_bump(&ns->srv_gen);
	if (notify)
		ipcon_event_emit(ns, IPCON_EV_SRV_REMOVED, svc->owner,
				 svc->name);
	ipcon_user_uncharge(ns, svc->owner, IPCON_LIM_SERVICES);
	kfree_rcu(svc, rcu);
}

/**
 * ipcon_service_del - unregister one of the caller's services
 * @ns: the namespace state
 * @peer: the caller
 * @name: a valid name
 * @extack: for the error message
 *
 * Must be called under @ns->lock.
 *
 * Return: 0, -ENOENT or -EPERM.
 */
int ipcon_service_del(struct ipcon_net *ns, struct ipcon_peer *peer,
		      const char *name, struct netlink_ext_ack *extack)
{
	struct ipcon_service *svc = ipcon_service_find(ns, name);

	if (!svc) {
		NL_SET_ERR_MSG_MOD(extack, "no such service");
		return -ENOENT;
	}
	if (svc->owner != peer) {
		NL_SET_ERR_MSG_MOD(extack, "service belongs to another peer");
		return -EPERM;
	}
	ipcon_service_remove(ns, svc, true);
	return 0;
}

static int ipcon_service_fill(struct sk_buff *skb,
			      struct netlink_callback *cb,
			      const struct hlist_node *node)
{
	const struct ipcon_service *svc =
		hlist_entry(node, struct ipcon_service, node);
	void *hdr;

	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
			  cb->nlh->nlmsg_seq, &ipcon_genl_family, NLM_F_MULTI,
			  IPCON_CMD_SRV_LIST);
	if (!hdr)
		return -EMSGSIZE;
	genl_dump_check_consistent(cb, hdr);
	if (nla_put_string(skb, IPCON_A_NAME, svc->name) ||
	    ipcon_msg_put_owner(skb, svc->owner)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static u64 ipcon_service_seq(const struct hlist_node *node)
{
	return hlist_entry(node, struct ipcon_service, node)->seq;
}

static const struct ipcon_dump_ops ipcon_service_dump_ops = {
	.seq	= ipcon_service_seq,
	.fill	= ipcon_service_fill,
};

/**
 * ipcon_service_dump - IPCON_CMD_SRV_LIST dump callback
 * @skb: the dump buffer
 * @cb: the dump state, see ipcon_dump_table()
 *
 * Return: the dump buffer length (0 when done) or a negative errno.
 */
int ipcon_service_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct ipcon_net *ns = ipcon_net(sock_net(skb->sk));

	return ipcon_dump_table(skb, cb, ns, ns->services,
				HASH_SIZE(ns->services), &ns->srv_gen,
				&ipcon_service_dump_ops);
}
