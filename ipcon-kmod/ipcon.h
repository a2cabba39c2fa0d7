/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ipcon internal definitions shared by the module's files (not uapi).
 *
 * Object model, per network namespace (struct ipcon_net):
 *
 *   peer     one client: a receive socket R (its port is the peer's
 *            address) and optionally a paired control socket C.
 *   service  a unique name owned by a peer, resolved to the peer's port.
 *   group    a unique name owned by a peer, with members and an optional
 *            retained last message.
 *   member   one peer's membership of one group.
 *   sub      one peer's subscription to events.
 *
 * Locking (see also the comment at the top of each .c file):
 *
 *   ipcon_net.lock (mutex)         every registration: peers, services,
 *                                  groups, memberships, subscriptions.
 *   ipcon_group.lock (mutex)       a group's member list, its member
 *                                  counters and its retained message;
 *                                  lets publishes to different groups run
 *                                  in parallel without ipcon_net.lock.
 *   ipcon_net.events_lock (mutex)  the subscriber list and its counters.
 *
 *   Order: ipcon_net.lock -> ipcon_group.lock -> ipcon_net.events_lock.
 *
 *   Peers, services and groups are added to the hash tables with the _rcu
 *   helpers under ipcon_net.lock and freed after a grace period, so the hot
 *   paths (SEND, PUBLISH, RESOLVE) look them up under rcu_read_lock() only.
 *   Nothing that may sleep (GFP_KERNEL, mutexes, genlmsg_unicast) is done
 *   under rcu_read_lock().
 */
#ifndef _IPCON_H
#define _IPCON_H

#include <linux/hashtable.h>
#include <linux/jhash.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/string.h>
#include <linux/types.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <uapi/linux/ipcon.h>

#define IPCON_HASH_BITS	8

/**
 * struct ipcon_net - ipcon state of one network namespace
 * @net: the namespace (not refcounted: this lives inside it)
 * @lock: protects all registrations, see the top of this file
 * @peers: peers by receive port
 * @ctrls: paired peers by control port
 * @services: services by name
 * @groups: groups by name
 * @srv_gen: service table generation, for consistent dumps
 * @grp_gen: group table generation, for consistent dumps
 * @events_lock: protects @subscribers and their lost counters
 * @subscribers: list of struct ipcon_sub
 */
struct ipcon_net {
	struct net *net;
	struct mutex lock;		/* all registrations, see top */
	DECLARE_HASHTABLE(peers, IPCON_HASH_BITS);
	DECLARE_HASHTABLE(ctrls, IPCON_HASH_BITS);
	DECLARE_HASHTABLE(services, IPCON_HASH_BITS);
	DECLARE_HASHTABLE(groups, IPCON_HASH_BITS);
	unsigned int srv_gen;
	unsigned int grp_gen;
	struct mutex events_lock;	/* @subscribers and their counters */
	struct list_head subscribers;
};

/**
 * struct ipcon_peer - one client
 * @port_node: entry in ipcon_net.peers while @port_hashed
 * @ctrl_node: entry in ipcon_net.ctrls while @ctrl_hashed
 * @port: netlink port of the receive socket R, the peer's address
 * @ctrl_port: port of the paired control socket C, 0 if none
 * @sk: socket R, compared only (never dereferenced) to tell a reused port
 *	from the socket that created this peer
 * @ctrl_sk: socket C, likewise
 * @token: pending pairing token, 0 if none
 * @port_hashed: still indexed by @port (socket R not yet released)
 * @ctrl_hashed: still indexed by @ctrl_port (socket C not yet released)
 * @dead: one of the sockets was released; the peer lost all its state and
 *	only waits for the other socket to be released
 * @services: owned services, oldest first (RCU list, written under lock)
 * @groups: owned groups
 * @memberships: struct ipcon_member of the groups this peer joined
 * @sub: event subscription, or NULL
 * @rcu: for kfree_rcu()
 *
 * All fields are written under ipcon_net.lock. RCU readers may use @port,
 * @sk, @ctrl_sk, @dead (READ_ONCE) and @services.
 */
struct ipcon_peer {
	struct hlist_node port_node;
	struct hlist_node ctrl_node;
	u32 port;
	u32 ctrl_port;
	const struct sock *sk;
	const struct sock *ctrl_sk;
	u64 token;
	bool port_hashed;
	bool ctrl_hashed;
	bool dead;
	struct list_head services;
	struct list_head groups;
	struct list_head memberships;
	struct ipcon_sub *sub;
	struct rcu_head rcu;
};

/**
 * struct ipcon_service - a registered service name
 * @node: entry in ipcon_net.services
 * @peer_node: entry in the owner's ipcon_peer.services
 * @owner: the owning peer
 * @port: the owner's port
 * @rcu: for kfree_rcu()
 * @name: NUL-terminated name
 */
struct ipcon_service {
	struct hlist_node node;
	struct list_head peer_node;
	struct ipcon_peer *owner;
	u32 port;
	struct rcu_head rcu;
	char name[IPCON_NAME_MAX + 1];
};

/**
 * struct ipcon_group - a registered multicast group
 * @node: entry in ipcon_net.groups
 * @peer_node: entry in the owner's ipcon_peer.groups
 * @owner: the owning peer
 * @port: the owner's port
 * @flags: IPCON_GRP_F_*
 * @ref: one reference for the table, one per publish in progress
 * @lock: protects @dead, @members, the members' counters and @retained
 * @dead: removed from the table; no more deliveries
 * @nmembers: length of @members (written under both locks)
 * @members: list of struct ipcon_member
 * @retained: last published IPCON_CMD_GRP_MSG if IPCON_GRP_F_RETAIN
 * @rcu: for kfree_rcu()
 * @name: NUL-terminated name
 */
struct ipcon_group {
	struct hlist_node node;
	struct list_head peer_node;
	struct ipcon_peer *owner;
	u32 port;
	u32 flags;
	struct kref ref;
	struct mutex lock;		/* members, retained message */
	bool dead;
	u32 nmembers;
	struct list_head members;
	struct sk_buff *retained;
	struct rcu_head rcu;
	char name[IPCON_NAME_MAX + 1];
};

/**
 * struct ipcon_member - membership of a peer in a group
 * @grp_node: entry in ipcon_group.members
 * @peer_node: entry in ipcon_peer.memberships
 * @group: the group
 * @port: the member's port (its receive socket)
 * @lost: group messages dropped since the last delivery that got through
 *
 * Added and removed under ipcon_net.lock and ipcon_group.lock; @lost is
 * used under ipcon_group.lock.
 */
struct ipcon_member {
	struct list_head grp_node;
	struct list_head peer_node;
	struct ipcon_group *group;
	u32 port;
	u32 lost;
};

/**
 * struct ipcon_sub - event subscription of a peer
 * @node: entry in ipcon_net.subscribers
 * @port: the subscriber's port
 * @lost: events dropped since the last delivery that got through
 *
 * Added and removed under ipcon_net.lock and ipcon_net.events_lock; @lost
 * is used under ipcon_net.events_lock.
 */
struct ipcon_sub {
	struct list_head node;
	u32 port;
	u32 lost;
};

/**
 * struct ipcon_stamp - sender stamp of a message, copied out of RCU
 * @port: the sending peer's port
 * @uid: effective uid in the user namespace owning the network namespace
 * @gid: effective gid, likewise
 * @pid: thread group id in the sender's pid namespace
 * @has_name: @name is valid
 * @name: the sender's service name
 */
struct ipcon_stamp {
	u32 port;
	u32 uid;
	u32 gid;
	u32 pid;
	bool has_name;
	char name[IPCON_NAME_MAX + 1];
};

extern struct genl_family ipcon_genl_family;
extern unsigned int ipcon_net_id;

static inline struct ipcon_net *ipcon_net(const struct net *net)
{
	return net_generic(net, ipcon_net_id);
}

static inline u32 ipcon_name_hash(const char *name)
{
	return jhash(name, strlen(name), 0);
}

/* Bumps a dump generation counter, skipping 0 (see nl_dump_check_consistent) */
static inline void ipcon_gen_bump(unsigned int *gen)
{
	if (!++*gen)
		*gen = 1;
}

/* netlink.c */
int ipcon_nl_register(void);
void ipcon_nl_unregister(void);

/* peer.c */
struct ipcon_peer *ipcon_peer_get(struct ipcon_net *ns,
				  const struct sk_buff *skb,
				  const struct genl_info *info);
struct ipcon_peer *ipcon_peer_lookup_rcu(struct ipcon_net *ns,
					 const struct sk_buff *skb,
					 const struct genl_info *info);
int ipcon_peer_ensure(struct ipcon_net *ns, const struct sk_buff *skb,
		      const struct genl_info *info);
struct ipcon_peer *ipcon_peer_find_live_rcu(struct ipcon_net *ns, u32 port);
int ipcon_peer_pair_start(struct ipcon_net *ns, struct ipcon_peer *peer,
			  const struct genl_info *info, u64 *token);
int ipcon_peer_pair(struct ipcon_net *ns, const struct sk_buff *skb,
		    const struct genl_info *info, u32 port, u64 token);
void ipcon_peer_net_exit(struct ipcon_net *ns);
int ipcon_peer_register_notifier(void);
void ipcon_peer_unregister_notifier(void);

/* service.c */
int ipcon_service_add(struct ipcon_net *ns, struct ipcon_peer *peer,
		      const char *name, struct netlink_ext_ack *extack);
int ipcon_service_del(struct ipcon_net *ns, struct ipcon_peer *peer,
		      const char *name, struct netlink_ext_ack *extack);
void ipcon_service_remove(struct ipcon_net *ns, struct ipcon_service *svc,
			  bool notify);
struct ipcon_service *ipcon_service_find_rcu(struct ipcon_net *ns,
					     const char *name);
int ipcon_service_dump(struct sk_buff *skb, struct netlink_callback *cb);

/* group.c */
int ipcon_group_add(struct ipcon_net *ns, struct ipcon_peer *peer,
		    const char *name, u32 flags, struct netlink_ext_ack *extack);
int ipcon_group_del(struct ipcon_net *ns, struct ipcon_peer *peer,
		    const char *name, struct netlink_ext_ack *extack);
void ipcon_group_remove(struct ipcon_net *ns, struct ipcon_group *grp,
			bool notify);
int ipcon_group_join(struct ipcon_net *ns, struct ipcon_peer *peer,
		     const char *name, u32 flags,
		     struct netlink_ext_ack *extack);
int ipcon_group_leave(struct ipcon_net *ns, struct ipcon_peer *peer,
		      const char *name, struct netlink_ext_ack *extack);
void ipcon_member_remove(struct ipcon_net *ns, struct ipcon_member *m);
int ipcon_group_publish(struct ipcon_net *ns, const struct sk_buff *skb,
			const struct genl_info *info, const char *name,
			size_t data_size);
int ipcon_group_dump(struct sk_buff *skb, struct netlink_callback *cb);

/* event.c */
void ipcon_event_net_init(struct ipcon_net *ns);
void ipcon_event_net_exit(struct ipcon_net *ns);
int ipcon_event_sub(struct ipcon_net *ns, struct ipcon_peer *peer);
int ipcon_event_unsub(struct ipcon_net *ns, struct ipcon_peer *peer);
void ipcon_event_emit(struct ipcon_net *ns, u32 event, u32 port,
		      const char *name);

/* msg.c */
int ipcon_msg_data_size(const struct genl_info *info, size_t *size);
void ipcon_msg_stamp_creds(struct ipcon_stamp *st, const struct net *net);
void ipcon_msg_stamp_name_rcu(struct ipcon_stamp *st,
			      struct ipcon_peer *peer);
struct sk_buff *ipcon_msg_build(u8 cmd, const struct ipcon_stamp *st,
				const char *name, const struct genl_info *info,
				size_t size);
int ipcon_msg_deliver(struct net *net, u32 port, struct sk_buff *tmpl,
		      u32 *lost, const char *group);
int ipcon_msg_send(struct ipcon_net *ns, const struct sk_buff *skb,
		   const struct genl_info *info, u32 port, const char *name,
		   const char *src_name, size_t size);
int ipcon_dump_table(struct sk_buff *skb, struct netlink_callback *cb,
		     struct ipcon_net *ns, struct hlist_head *table,
		     unsigned long size, const unsigned int *gen,
		     int (*fill)(struct sk_buff *skb,
				 struct netlink_callback *cb,
				 const struct hlist_node *node));

#endif /* _IPCON_H */
