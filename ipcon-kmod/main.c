// SPDX-License-Identifier: GPL-2.0-only
/*
 * ipcon: IPC over Generic Netlink -- module init and exit, per network
 * namespace state.
 *
 * Locking: init and exit run single-threaded with respect to the module.
 * Exit unregisters the family first (which waits for requests in progress),
 * then the netlink notifier (which waits for notifier calls in progress),
 * so when the per-namespace state is freed nothing can use it any more.
 * The namespace exit handler takes the namespace's locks only to satisfy
 * the lockdep assertions of the helpers it shares with the request paths.
 */

#include <linux/hashtable.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/srcu.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "ipcon.h"

unsigned int ipcon_net_id __read_mostly;

/* Readers of member and subscriber lists, which deliver (and may sleep) */
DEFINE_SRCU(ipcon_srcu);

static int __net_init ipcon_net_init(struct net *net)
{
	struct ipcon_net *ns = ipcon_net(net);

	ns->net = net;
	mutex_init(&ns->lock);
	hash_init(ns->peers);
	hash_init(ns->ctrls);
	hash_init(ns->services);
	hash_init(ns->groups);
	hash_init(ns->ids);
	hash_init(ns->members);
	hash_init(ns->users);
	ns->hash_seed = get_random_u32();
	ns->next_id = 0;
	ns->next_seq = 0;
	ns->srv_gen = 1;
	ns->grp_gen = 1;
	ns->policy_gen = 1;
	RCU_INIT_POINTER(ns->policy, NULL);
	ipcon_event_net_init(ns);
	return 0;
}

static void __net_exit ipcon_net_exit(struct net *net)
{
	struct ipcon_net *ns = ipcon_net(net);

	ipcon_peer_net_exit(ns);
	ipcon_event_net_exit(ns);
	ipcon_user_net_exit(ns);
	ipcon_policy_net_exit(ns);
	mutex_destroy(&ns->lock);
}

static struct pernet_operations ipcon_net_ops = {
	.init	= ipcon_net_init,
	.exit	= ipcon_net_exit,
	.id	= &ipcon_net_id,
	.size	= sizeof(struct ipcon_net),
};

static int __init ipcon_init(void)
{
	int err;

	err = register_pernet_subsys(&ipcon_net_ops);
	if (err)
		return err;
	err = ipcon_peer_register_notifier();
	if (err)
		goto err_pernet;
	err = ipcon_nl_register();
	if (err)
		goto err_notifier;

	pr_info("generic netlink family %s version %d registered\n",
		IPCON_GENL_NAME, IPCON_GENL_VERSION);
	return 0;

err_notifier:
	ipcon_peer_unregister_notifier();
err_pernet:
	unregister_pernet_subsys(&ipcon_net_ops);
	return err;
}

static void __exit ipcon_exit(void)
{
	ipcon_nl_unregister();
	ipcon_peer_unregister_notifier();
	unregister_pernet_subsys(&ipcon_net_ops);
	/* peers, members and subscriptions are freed by callbacks of ours */
	rcu_barrier();
	srcu_barrier(&ipcon_srcu);
}

module_init(ipcon_init);
module_exit(ipcon_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The ipcon developers");
MODULE_DESCRIPTION("IPC over Generic Netlink: named services, groups and events");
MODULE_ALIAS_GENL_FAMILY(IPCON_GENL_NAME);
