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
 *   user     per-uid counters for the limits (user.c).
 *   policy   who may own, send to and join which names (policy.c).
 *
 * Locking (see also the comment at the top of each .c file):
 *
 *   ipcon_net.lock (mutex)         every registration: peers, services,
 *                                  groups, memberships, subscriptions.
 *   ipcon_group.lock (mutex)       changes to a group's member list (short
 *                                  sections, never across a delivery).
 *   ipcon_group.pub_lock (mutex)   orders the publishes and the retained
 *                                  replays of one group, its members' lost
 *                                  counters and its retained message; held
 *                                  across that group's fan-out, but never
 *                                  taken by registrations or teardown, and
 *                                  never with ipcon_net.lock held.
 *   ipcon_net.flush_lock (mutex)   one event flusher at a time, taken with
 *                                  trylock by requests, and by the
 *                                  namespace's flush work; the
 *                                  subscribers' lost counters (event.c).
 *   ipcon_net.evq_lock (spinlock)  the event queue.
 *
 *   Order: ipcon_net.lock -> ipcon_group.lock -> ipcon_net.evq_lock;
 *   ipcon_group.pub_lock and ipcon_net.flush_lock are outermost.
 *
 *   No lock that registrations or teardown need is held across a fan-out:
 *   members and subscribers are RCU lists walked under ipcon_srcu (a
 *   delivery may sleep) and freed after an SRCU grace period, each holding
 *   its own reference to the receive socket it delivers to. A peer's
 *   teardown first stops its new sends and waits for those in flight
 *   (ipcon_peer.inflight), so no message of a peer arrives after its
 *   IPCON_EV_PEER_GONE.
 *
 *   The policy is an RCU pointer replaced under ipcon_net.lock; every
 *   check runs under rcu_read_lock(). Per-user counters are changed under
 *   ipcon_net.lock, except the retained bytes (atomic, changed under the
 *   group's lock).
 *
 *   Peers, services and groups are added to the hash tables with the _rcu
 *   helpers under ipcon_net.lock and freed after a grace period, so the hot
 *   paths (SEND, PUBLISH, RESOLVE) look them up under rcu_read_lock() only.
 *   Nothing that may sleep (GFP_KERNEL, mutexes, genlmsg_unicast) is done
 *   under rcu_read_lock(). A peer's credentials, pid and socket reference
 *   are released in its RCU callback, so RCU readers may use them.
 *
 *   Hash keys are seeded per namespace (ipcon_net.hash_seed): a user who
 *   chooses names or binds chosen ports cannot aim them at one bucket.
 */
#ifndef _IPCON_H
#define _IPCON_H

#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/jhash.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/wait_bit.h>
#include <linux/srcu.h>
#include <linux/string.h>
#include <linux/types.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <uapi/linux/ipcon.h>

#define IPCON_HASH_BITS	8

/*
 * A fan-out yields the CPU (cond_resched()) once per this many deliveries
 * (an event flush counts across its events), not after each one: every
 * delivery wakes its receiver, and a yield right after it switches to that
 * receiver and back, once per member. Together with clones that do not
 * sleep (ipcon_msg_clone()), this halved the sender's CPU time of a
 * publish to 16 subscribers (x86_64 under TCG). The bound still keeps a
 * fan-out to thousands, or a flush of thousands of events, from holding
 * the CPU on a kernel without preemption.
 */
#define IPCON_FAN_OUT_BATCH	64

/* Counts one delivery of a fan-out in @n; yields every IPCON_FAN_OUT_BATCH */
static inline void ipcon_fan_out_step(unsigned int *n)
{
	if (++*n % IPCON_FAN_OUT_BATCH == 0)
		cond_resched();
}

struct ipcon_policy;

/**
 * struct ipcon_net - ipcon state of one network namespace
 * @net: the namespace (not refcounted: this lives inside it)
 * @lock: protects all registrations, see the top of this file
 * @peers: peers by receive port
 * @ctrls: paired peers by control port
 * @services: services by name
 * @groups: groups by name
 * @ids: live peers by id
 * @members: memberships by (group, peer)
 * @users: per-user counters by uid
 * @hash_seed: random seed of every hash key of this namespace
 * @next_id: the id the next peer gets (ids are never reused)
 * @next_seq: the insertion number the next service or group gets
 * @srv_gen: service table generation, for consistent dumps
 * @grp_gen: group table generation, for consistent dumps
 * @policy: the policy in force, NULL for the initial allow-all
 * @policy_gen: policy generation, for consistent dumps
 * @flush_lock: one event flusher at a time
 * @flush_work: delivers the events queued while a request flushed its own
 * @evq_lock: protects @evq
 * @evq: events waiting to be delivered, in order
 * @ev_seq: sequence number of the last event queued (under @lock)
 * @ev_unqueued: events that could not be queued (under @lock)
 * @subscribers: RCU list of struct ipcon_sub (changed under @lock)
 */
struct ipcon_net {
	struct net *net;
	struct mutex lock;		/* all registrations, see top */
	DECLARE_HASHTABLE(peers, IPCON_HASH_BITS);
	DECLARE_HASHTABLE(ctrls, IPCON_HASH_BITS);
	DECLARE_HASHTABLE(services, IPCON_HASH_BITS);
	DECLARE_HASHTABLE(groups, IPCON_HASH_BITS);
	DECLARE_HASHTABLE(ids, IPCON_HASH_BITS);
	DECLARE_HASHTABLE(members, IPCON_HASH_BITS);
	DECLARE_HASHTABLE(users, IPCON_HASH_BITS);
	u32 hash_seed;
	u64 next_id;
	u64 next_seq;
	unsigned int srv_gen;
	unsigned int grp_gen;
	struct ipcon_policy __rcu *policy;
	unsigned int policy_gen;
	struct mutex flush_lock;	/* one event flusher */
	struct work_struct flush_work;
	spinlock_t evq_lock;		/* @evq */
	struct list_head evq;
	u64 ev_seq;
	u32 ev_unqueued;
	struct list_head subscribers;
};

extern struct srcu_struct ipcon_srcu;

/* The per-user limits, indexes of ipcon_user.count */
enum ipcon_limit {
	IPCON_LIM_SERVICES,
	IPCON_LIM_GROUPS,
	IPCON_LIM_MEMBERSHIPS,
	IPCON_LIM_SUBSCRIPTIONS,
	IPCON_LIM_NUM
};

/**
 * struct ipcon_user - what one user (uid) holds in a namespace
 * @node: entry in ipcon_net.users
 * @uid: the user
 * @refs: peers of this user
 * @count: objects held, per enum ipcon_limit
 * @retained: bytes of kernel memory held by the user's retained messages
 *
 * Everything but @retained is used under ipcon_net.lock.
 */
struct ipcon_user {
	struct hlist_node node;
	kuid_t uid;
	unsigned int refs;
	unsigned int count[IPCON_LIM_NUM];
	atomic_long_t retained;
};

/**
 * struct ipcon_peer - one client
 * @port_node: entry in ipcon_net.peers while @port_hashed
 * @ctrl_node: entry in ipcon_net.ctrls while @ctrl_hashed
 * @id_node: entry in ipcon_net.ids until the peer dies
 * @id: the peer's id, unique for the life of the namespace
 * @port: netlink port of the receive socket R, the peer's address
 * @ctrl_port: port of the paired control socket C, 0 if none
 * @sk: socket R, referenced: deliveries check it is not being closed, and
 *	it tells a reused port from the socket that created this peer
 * @ctrl_sk: socket C, compared only (never dereferenced)
 * @cred: credentials R was opened with: the identity stamped on the
 *	peer's messages and checked by the policy and the limits
 * @uid: @cred's effective uid in the namespace's user namespace
 * @gid: @cred's effective gid, likewise
 * @pid: thread group of the process that created the peer
 * @token: pending pairing token, 0 if none
 * @port_hashed: still indexed by @port (socket R not yet released)
 * @ctrl_hashed: still indexed by @ctrl_port (socket C not yet released)
 * @dead: one of the sockets was released; the peer lost all its state and
 *	only waits for the other socket to be released
 * @services: owned services, oldest first (RCU list, written under lock)
 * @groups: owned groups
 * @memberships: struct ipcon_member of the groups this peer joined
 * @sub: event subscription, or NULL
 * @user: the counters of @cred's user
 * @inflight: sends and publishes of this peer being delivered
 * @closing: a socket of the peer is being released: no new send or
 *	publish starts, the teardown waits for @inflight to drop to 0
 * @rcu: for the RCU callback that frees the peer
 *
 * All fields are written under ipcon_net.lock. RCU readers may use @id,
 * @port, @sk, @ctrl_sk, @cred, @uid, @gid, @pid, @dead (READ_ONCE) and
 * @services.
 */
struct ipcon_peer {
	struct hlist_node port_node;
	struct hlist_node ctrl_node;
	struct hlist_node id_node;
	u64 id;
	u32 port;
	u32 ctrl_port;
	struct sock *sk;
	const struct sock *ctrl_sk;
	const struct cred *cred;
	u32 uid;
	u32 gid;
	struct pid *pid;
	u64 token;
	bool port_hashed;
	bool ctrl_hashed;
	bool dead;
	struct list_head services;
	struct list_head groups;
	struct list_head memberships;
	struct ipcon_sub *sub;
	struct ipcon_user *user;
	atomic_t inflight;
	bool closing;
	struct rcu_head rcu;
};

/**
 * struct ipcon_service - a registered service name
 * @node: entry in ipcon_net.services
 * @peer_node: entry in the owner's ipcon_peer.services
 * @owner: the owning peer
 * @port: the owner's port
 * @seq: insertion number (ipcon_net.next_seq), see ipcon_dump_table()
 * @rcu: for kfree_rcu()
 * @name: NUL-terminated name
 */
struct ipcon_service {
	struct hlist_node node;
	struct list_head peer_node;
	struct ipcon_peer *owner;
	u32 port;
	u64 seq;
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
 * @seq: insertion number (ipcon_net.next_seq), see ipcon_dump_table()
 * @ns: the namespace state
 * @user: the owner's user (referenced), charged for @retained
 * @ref: one reference for the table, one per publish or replay in
 *	progress; the last one frees the retained message, under
 *	ipcon_net.lock
 * @lock: changes to @members
 * @pub_lock: orders publishes and replays; protects the members' lost
 *	counters, @retained and its companions
 * @dead: removed from the table (written under ipcon_net.lock)
 * @nmembers: length of @members (written under both locks)
 * @members: RCU list of struct ipcon_member, walked under ipcon_srcu
 * @retained: last published IPCON_CMD_GRP_MSG if IPCON_GRP_F_RETAIN
 * @retained_pid: its sender's process, to stamp each replay's pid
 * @retained_pidnr: the pid stamped in @retained
 * @retained_size: what @retained is charged to the owner's user
 * @rcu: for kfree_rcu()
 * @name: NUL-terminated name
 */
struct ipcon_group {
	struct hlist_node node;
	struct list_head peer_node;
	struct ipcon_peer *owner;
	struct ipcon_net *ns;
	struct ipcon_user *user;
	u32 port;
	u32 flags;
	u64 seq;
	struct kref ref;
	struct mutex lock;		/* changes to @members */
	struct mutex pub_lock;		/* publishes, replays, @retained */
	bool dead;
	u32 nmembers;
	struct list_head members;
	struct sk_buff *retained;
	struct pid *retained_pid;
	u32 retained_pidnr;
	long retained_size;
	struct rcu_head rcu;
	char name[IPCON_NAME_MAX + 1];
};

/**
 * struct ipcon_member - membership of a peer in a group
 * @grp_node: entry in ipcon_group.members
 * @peer_node: entry in ipcon_peer.memberships
 * @hnode: entry in ipcon_net.members
 * @group: the group
 * @peer: the member (only under ipcon_net.lock)
 * @sk: the member's receive socket (referenced)
 * @pid: the member's creating process (referenced): its pid namespace is
 *	the one the member sees pids in
 * @port: the member's port (its receive socket)
 * @lost: group messages dropped since the last delivery that got through
 * @active: publishes deliver to it (a joiner waiting for the retained
 *	message is not active yet)
 * @removed: no longer a member
 * @ref: one for the member list, one for a replay in progress
 * @rcu: for call_srcu()
 *
 * Added and removed under ipcon_net.lock and ipcon_group.lock, freed an
 * SRCU grace period after its last reference is gone; @lost is used under
 * ipcon_group.pub_lock.
 */
struct ipcon_member {
	struct list_head grp_node;
	struct list_head peer_node;
	struct hlist_node hnode;
	struct ipcon_group *group;
	struct ipcon_peer *peer;
	struct sock *sk;
	struct pid *pid;
	u32 port;
	u32 lost;
	bool active;
	bool removed;
	refcount_t ref;
	struct rcu_head rcu;
};

/**
 * struct ipcon_replay - a join waiting to get the retained message
 * @group: the group (referenced)
 * @member: the new member (referenced), inactive until the replay is done
 */
struct ipcon_replay {
	struct ipcon_group *group;
	struct ipcon_member *member;
};

/**
 * struct ipcon_sub - event subscription of a peer
 * @node: entry in ipcon_net.subscribers
 * @sk: the subscriber's receive socket (referenced)
 * @port: the subscriber's port
 * @lost: events dropped since the last delivery that got through
 * @from_seq: the first event it gets
 * @rcu: for call_srcu()
 *
 * Added and removed under ipcon_net.lock, freed after an SRCU grace
 * period; @lost is used under ipcon_net.flush_lock.
 */
struct ipcon_sub {
	struct list_head node;
	struct sock *sk;
	u32 port;
	u32 lost;
	u64 from_seq;
	struct rcu_head rcu;
};

/**
 * struct ipcon_stamp - sender stamp of a message, copied out of RCU
 * @id: the sending peer's id
 * @port: the sending peer's port
 * @uid: effective uid in the user namespace owning the network namespace
 * @gid: effective gid, likewise
 * @pid: thread group id as the receiver sees it (0: not visible to it)
 * @has_name: @name is valid
 * @name: the sender's service name
 */
struct ipcon_stamp {
	u64 id;
	u32 port;
	u32 uid;
	u32 gid;
	u32 pid;
	bool has_name;
	char name[IPCON_NAME_MAX + 1];
};

/**
 * struct ipcon_dest - where a SEND goes: exactly one of the three
 * @name: a service, or NULL
 * @by_id: @id is the destination
 * @id: a peer id
 * @port: a peer port (if neither @name nor @by_id)
 */
struct ipcon_dest {
	const char *name;
	bool by_id;
	u64 id;
	u32 port;
};

extern struct genl_family ipcon_genl_family;
extern unsigned int ipcon_net_id;

static inline struct ipcon_net *ipcon_net(const struct net *net)
{
	return net_generic(net, ipcon_net_id);
}

static inline u32 ipcon_name_hash(const struct ipcon_net *ns,
				  const char *name)
{
	return jhash(name, strlen(name), ns->hash_seed);
}

static inline u32 ipcon_port_hash(const struct ipcon_net *ns, u32 port)
{
	return jhash_1word(port, ns->hash_seed);
}

/* The pid namespace a peer's receivers see pids in */
static inline struct pid_namespace *ipcon_peer_pidns(const struct ipcon_peer *p)
{
	return ns_of_pid(p->pid);
}

/*
 * Sends and publishes of a peer count as in flight from before the peer
 * is known to be live until their last delivery: the teardown waits for
 * them, so nothing from a peer arrives after its IPCON_EV_PEER_GONE.
 */
static inline bool ipcon_peer_begin_send(struct ipcon_peer *peer)
{
	atomic_inc(&peer->inflight);
	/* pairs with the barrier in ipcon_peer_release() */
	smp_mb__after_atomic();
	if (!READ_ONCE(peer->closing) && !READ_ONCE(peer->dead))
		return true;
	if (atomic_dec_and_test(&peer->inflight))
		wake_up_var(&peer->inflight);
	return false;
}

static inline void ipcon_peer_end_send(struct ipcon_peer *peer)
{
	if (atomic_dec_and_test(&peer->inflight))
		wake_up_var(&peer->inflight);
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
struct ipcon_peer *ipcon_peer_find_id_rcu(struct ipcon_net *ns, u64 id);
bool ipcon_peer_closing(const struct ipcon_peer *peer);
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
		     const char *name, u32 flags, struct ipcon_replay *replay,
		     struct netlink_ext_ack *extack);
void ipcon_group_replay(struct ipcon_net *ns, struct ipcon_replay *replay);
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
int ipcon_event_sub(struct ipcon_net *ns, struct ipcon_peer *peer,
		    struct netlink_ext_ack *extack);
int ipcon_event_unsub(struct ipcon_net *ns, struct ipcon_peer *peer);
void ipcon_event_emit(struct ipcon_net *ns, u32 event,
		      const struct ipcon_peer *peer, const char *name);
void ipcon_event_flush(struct ipcon_net *ns);

/* msg.c */
int ipcon_msg_data_size(const struct genl_info *info, size_t *size);
void ipcon_msg_stamp_sender_rcu(struct ipcon_stamp *st,
				const struct ipcon_peer *peer);
void ipcon_msg_stamp_name_rcu(struct ipcon_stamp *st,
			      struct ipcon_peer *peer);
struct sk_buff *ipcon_msg_build(u8 cmd, const struct ipcon_stamp *st,
				const char *name, const struct genl_info *info,
				size_t size, gfp_t gfp);
int ipcon_msg_deliver(struct net *net, const struct sock *sk, u32 port,
		      struct sk_buff *tmpl, u32 tmpl_pid, u32 pid, u32 *lost,
		      const char *group);
int ipcon_msg_put_owner(struct sk_buff *skb, const struct ipcon_peer *owner);
size_t ipcon_msg_owner_size(void);
int ipcon_msg_send(struct ipcon_net *ns, const struct sk_buff *skb,
		   const struct genl_info *info, const struct ipcon_dest *dest,
		   const char *src_name, size_t size);

/**
 * struct ipcon_dump_ops - how ipcon_dump_table() reads the entries of a table
 * @seq: the entry's insertion number (ipcon_net.next_seq)
 * @fill: adds the message of one entry, -EMSGSIZE when the buffer is full
 */
struct ipcon_dump_ops {
	u64 (*seq)(const struct hlist_node *node);
	int (*fill)(struct sk_buff *skb, struct netlink_callback *cb,
		    const struct hlist_node *node);
};

int ipcon_dump_table(struct sk_buff *skb, struct netlink_callback *cb,
		     struct ipcon_net *ns, struct hlist_head *table,
		     unsigned long size, const unsigned int *gen,
		     const struct ipcon_dump_ops *ops);

/* user.c */
int ipcon_user_get(struct ipcon_net *ns, struct ipcon_peer *peer);
void ipcon_user_put(struct ipcon_net *ns, struct ipcon_peer *peer);
void ipcon_user_hold(struct ipcon_user *user);
void ipcon_user_release(struct ipcon_net *ns, struct ipcon_user *user);
int ipcon_user_charge(struct ipcon_net *ns, struct ipcon_peer *peer,
		      enum ipcon_limit lim, struct netlink_ext_ack *extack);
void ipcon_user_uncharge(struct ipcon_net *ns, struct ipcon_peer *peer,
			 enum ipcon_limit lim);
int ipcon_user_charge_retained(struct ipcon_user *user, long delta,
			       struct netlink_ext_ack *extack);
void ipcon_user_net_exit(struct ipcon_net *ns);

/* policy.c */
int ipcon_policy_check(struct ipcon_net *ns, u32 action, const char *name,
		       const struct ipcon_peer *peer,
		       struct netlink_ext_ack *extack);
int ipcon_policy_check_peer_rcu(struct ipcon_net *ns,
				const struct ipcon_peer *sender,
				const struct ipcon_peer *dest,
				struct netlink_ext_ack *extack);
int ipcon_policy_set(struct ipcon_net *ns, struct genl_info *info);
int ipcon_policy_dump(struct sk_buff *skb, struct netlink_callback *cb);
void ipcon_policy_net_exit(struct ipcon_net *ns);

#endif /* _IPCON_H */
