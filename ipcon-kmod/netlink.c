// SPDX-License-Identifier: GPL-2.0-only
/*
 * The "IPCON" generic netlink family: attribute policy, operations and the
 * request handlers, which check the input and call into peer.c, service.c,
 * group.c, event.c and msg.c.
 *
 * Locking: the family has parallel_ops, so handlers run concurrently in the
 * context of the sending task with no genetlink lock held. Handlers that
 * change registrations take ipcon_net.lock around the peer lookup and the
 * change. SEND, PUBLISH and RESOLVE work under rcu_read_lock() (see msg.c
 * and group.c); they take ipcon_net.lock only on a socket's first command,
 * to create its peer (ipcon_peer_ensure()). Dumps take ipcon_net.lock.
 * POLICY_SET takes it to replace the policy (policy.c); the policy dump
 * reads it under rcu_read_lock().
 *
 * Permissions: POLICY_SET and POLICY_GET have GENL_UNS_ADMIN_PERM, so the
 * core refuses them (EPERM) unless both the socket's opener and the
 * sending task have CAP_NET_ADMIN in the user namespace owning the network
 * namespace. Every other command is checked against the policy and the
 * per-user limits where it creates something or reaches another peer.
 *
 * Validation: every command has a policy of its own, listing only the
 * attributes it uses, applied strictly (the default for families with
 * resv_start_op 0): an attribute a command does not use (the kernel-only
 * ones included), a wrong length, an unterminated or oversized string and
 * unknown flag bits are rejected with -EINVAL and the attribute pointed at
 * before a handler runs. Names must also end exactly at their NUL. Failed
 * lookups point at the attribute that named the missing or foreign object.
 * Commands without an operation (the kernel-to-peer ones) get -EOPNOTSUPP
 * from the core.
 */

#include <linux/module.h>
#include <net/genetlink.h>

#include "ipcon.h"

static const struct nla_policy ipcon_nl_rule_policy[IPCON_RULE_A_MAX + 1] = {
	[IPCON_RULE_A_ACTION]	= NLA_POLICY_RANGE(NLA_U32, IPCON_ACT_OWN,
						   IPCON_ACT_MAX),
	[IPCON_RULE_A_PATTERN]	= { .type = NLA_NUL_STRING,
				    .len = IPCON_NAME_MAX },
	[IPCON_RULE_A_UID]	= { .type = NLA_U32 },
	[IPCON_RULE_A_GID]	= { .type = NLA_U32 },
};

/* Names: the core checks the NUL, ipcon_nl_name() the rest */
#define IPCON_NL_NAME	{ .type = NLA_NUL_STRING, .len = IPCON_NAME_MAX }

/* SRV_REG, SRV_UNREG, SRV_RESOLVE, GRP_UNREG, GRP_LEAVE */
static const struct nla_policy ipcon_nl_name_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_NAME]		= IPCON_NL_NAME,
};

static const struct nla_policy ipcon_nl_pair_policy[IPCON_A_MAX + 1] = {
	/* only as alignment padding before a u64: empty, ignored */
	[IPCON_A_PAD]		= NLA_POLICY_EXACT_LEN(0),
	[IPCON_A_PORT]		= { .type = NLA_U32 },
	[IPCON_A_TOKEN]		= { .type = NLA_U64 },
};

static const struct nla_policy ipcon_nl_grp_reg_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_NAME]		= IPCON_NL_NAME,
	[IPCON_A_FLAGS]		= NLA_POLICY_MASK(NLA_U32, __IPCON_GRP_F_ALL),
};

static const struct nla_policy ipcon_nl_join_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_NAME]		= IPCON_NL_NAME,
	[IPCON_A_FLAGS]		= NLA_POLICY_MASK(NLA_U32, __IPCON_JOIN_F_ALL),
};

static const struct nla_policy ipcon_nl_send_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_PAD]		= NLA_POLICY_EXACT_LEN(0),
	[IPCON_A_NAME]		= IPCON_NL_NAME,
	[IPCON_A_PORT]		= { .type = NLA_U32 },
	[IPCON_A_ID]		= { .type = NLA_U64 },
	[IPCON_A_SRC_NAME]	= IPCON_NL_NAME,
	[IPCON_A_DATA]		= { .type = NLA_BINARY,
				    .len = IPCON_CHUNK_MAX },
};

/* the sender stamp of a group message is always the owner's oldest name */
static const struct nla_policy ipcon_nl_publish_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_NAME]		= IPCON_NL_NAME,
	[IPCON_A_DATA]		= { .type = NLA_BINARY,
				    .len = IPCON_CHUNK_MAX },
};

static const struct nla_policy ipcon_nl_policy_set_policy[IPCON_A_MAX + 1] = {
	[IPCON_A_POLICY_DEFAULT] = NLA_POLICY_MAX(NLA_U32, IPCON_POLICY_MAX),
	[IPCON_A_RULE]		= NLA_POLICY_NESTED(ipcon_nl_rule_policy),
};

static bool ipcon_nl_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
	       c == '-';
}

/*
 * The policy guarantees a NUL within IPCON_NAME_MAX + 1 bytes; the name is
 * what precedes it, must end the attribute (no bytes after the NUL), be
 * non-empty and use [A-Za-z0-9._:-] only.
 */
static int ipcon_nl_name(const struct genl_info *info, int attr,
			 const char **name)
{
	const struct nlattr *nla = info->attrs[attr];
	const char *s = nla_data(nla);

	if (!*s || strnlen(s, nla_len(nla)) + 1 != nla_len(nla))
		goto invalid;
	for (*name = s; *s; s++)
		if (!ipcon_nl_name_char(*s))
			goto invalid;
	return 0;

invalid:
	NL_SET_ERR_MSG_ATTR(info->extack, nla, "invalid name");
	return -EINVAL;
}

static int ipcon_nl_req_name(struct genl_info *info, const char **name)
{
	if (GENL_REQ_ATTR_CHECK(info, IPCON_A_NAME))
		return -EINVAL;
	return ipcon_nl_name(info, IPCON_A_NAME, name);
}

/* The policy refused unknown flag bits */
static u32 ipcon_nl_flags(const struct genl_info *info)
{
	const struct nlattr *nla = info->attrs[IPCON_A_FLAGS];

	return nla ? nla_get_u32(nla) : 0;
}

/*
 * Points the extended ack at the attribute that named what a lookup did not
 * find, or found to belong to someone else.
 */
static int ipcon_nl_bad_attr(struct genl_info *info, int attr, int err)
{
	switch (err) {
	case -ENOENT:
	case -EEXIST:
	case -EPERM:
	case -EACCES:
	case -EALREADY:
	case -ENOTCONN:
	case -ECONNREFUSED:
		if (info->attrs[attr])
			NL_SET_BAD_ATTR(info->extack, info->attrs[attr]);
		break;
	}
	return err;
}

static struct ipcon_net *ipcon_nl_net(struct genl_info *info)
{
	return ipcon_net(genl_info_net(info));
}

static int ipcon_nl_pair_start_doit(struct sk_buff *skb,
				    struct genl_info *info)
{
	struct ipcon_net *ns = ipcon_nl_net(info);
	struct ipcon_peer *peer;
	struct sk_buff *reply;
	u64 token, id = 0;
	void *hdr;
	int err;

	reply = genlmsg_new(2 * nla_total_size_64bit(sizeof(u64)), GFP_KERNEL);
	if (!reply)
		return -ENOMEM;
	hdr = genlmsg_put_reply(reply, info, &ipcon_genl_family, 0,
				IPCON_CMD_PAIR_START);
	if (!hdr) {
		err = -EMSGSIZE;
		goto free;
	}

	mutex_lock(&ns->lock);
	peer = ipcon_peer_get(ns, skb, info);
	err = IS_ERR(peer) ? PTR_ERR(peer) :
	      ipcon_peer_pair_start(ns, peer, info, &token);
	if (!err)
		id = peer->id;
	mutex_unlock(&ns->lock);
	if (err)
		goto free;

	if (nla_put_u64_64bit(reply, IPCON_A_TOKEN, token, IPCON_A_PAD) ||
	    nla_put_u64_64bit(reply, IPCON_A_ID, id, IPCON_A_PAD)) {
		err = -EMSGSIZE;
		goto free;
	}
	genlmsg_end(reply, hdr);
	return genlmsg_reply(reply, info);

free:
	nlmsg_free(reply);
	return err;
}

static int ipcon_nl_pair_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct ipcon_net *ns = ipcon_nl_net(info);
	int err;

	if (GENL_REQ_ATTR_CHECK(info, IPCON_A_PORT) ||
	    GENL_REQ_ATTR_CHECK(info, IPCON_A_TOKEN))
		return -EINVAL;
	err = ipcon_peer_pair(ns, skb, info,
			      nla_get_u32(info->attrs[IPCON_A_PORT]),
			      nla_get_u64(info->attrs[IPCON_A_TOKEN]));
	/* a stateless peer of the sender may have ended */
	ipcon_event_flush(ns);
	return err;
}

static int ipcon_nl_srv_reg_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct ipcon_net *ns = ipcon_nl_net(info);
	struct ipcon_peer *peer;
	const char *name;
	int err;

	err = ipcon_nl_req_name(info, &name);
	if (err)
		return err;

	mutex_lock(&ns->lock);
	peer = ipcon_peer_get(ns, skb, info);
	err = IS_ERR(peer) ? PTR_ERR(peer) :
	      ipcon_service_add(ns, peer, name, info->extack);
	mutex_unlock(&ns->lock);
	ipcon_event_flush(ns);
	return ipcon_nl_bad_attr(info, IPCON_A_NAME, err);
}

static int ipcon_nl_srv_unreg_doit(struct sk_buff *skb,
				   struct genl_info *info)
{
	struct ipcon_net *ns = ipcon_nl_net(info);
	struct ipcon_peer *peer;
	const char *name;
	int err;

	err = ipcon_nl_req_name(info, &name);
	if (err)
		return err;

	mutex_lock(&ns->lock);
	peer = ipcon_peer_get(ns, skb, info);
	err = IS_ERR(peer) ? PTR_ERR(peer) :
	      ipcon_service_del(ns, peer, name, info->extack);
	mutex_unlock(&ns->lock);
	ipcon_event_flush(ns);
	return ipcon_nl_bad_attr(info, IPCON_A_NAME, err);
}

static int ipcon_nl_srv_resolve_doit(struct sk_buff *skb,
				     struct genl_info *info)
{
	struct ipcon_net *ns = ipcon_nl_net(info);
	struct ipcon_service *svc;
	struct sk_buff *reply;
	const char *name;
	void *hdr;
	int err;

	err = ipcon_nl_req_name(info, &name);
	if (err)
		return err;
	err = ipcon_peer_ensure(ns, skb, info);
	if (err)
		return err;

	/* allocated before the lookup: nothing may sleep under RCU */
	reply = genlmsg_new(nla_total_size(strlen(name) + 1) +
			    ipcon_msg_owner_size(), GFP_KERNEL);
	if (!reply)
		return -ENOMEM;
	hdr = genlmsg_put_reply(reply, info, &ipcon_genl_family, 0,
				IPCON_CMD_SRV_RESOLVE);
	if (!hdr || nla_put_string(reply, IPCON_A_NAME, name)) {
		err = -EMSGSIZE;
		goto free;
	}

	rcu_read_lock();
	svc = ipcon_service_find_rcu(ns, name);
	if (svc && !READ_ONCE(svc->owner->dead))
		err = ipcon_msg_put_owner(reply, svc->owner);
	else
		err = -ENOENT;
	rcu_read_unlock();
	if (err == -ENOENT)
		NL_SET_ERR_MSG_MOD(info->extack, "no such service");
	if (err) {
		ipcon_nl_bad_attr(info, IPCON_A_NAME, err);
		goto free;
	}
	genlmsg_end(reply, hdr);
	return genlmsg_reply(reply, info);

free:
	nlmsg_free(reply);
	return err;
}

static int ipcon_nl_srv_list_dumpit(struct sk_buff *skb,
				    struct netlink_callback *cb)
{
	return ipcon_service_dump(skb, cb);
}

static int ipcon_nl_grp_reg_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct ipcon_net *ns = ipcon_nl_net(info);
	struct ipcon_peer *peer;
	const char *name;
	u32 flags;
	int err;

	err = ipcon_nl_req_name(info, &name);
	if (err)
		return err;
	flags = ipcon_nl_flags(info);

	mutex_lock(&ns->lock);
	peer = ipcon_peer_get(ns, skb, info);
	err = IS_ERR(peer) ? PTR_ERR(peer) :
	      ipcon_group_add(ns, peer, name, flags, info->extack);
	mutex_unlock(&ns->lock);
	ipcon_event_flush(ns);
	return ipcon_nl_bad_attr(info, IPCON_A_NAME, err);
}

static int ipcon_nl_grp_unreg_doit(struct sk_buff *skb,
				   struct genl_info *info)
{
	struct ipcon_net *ns = ipcon_nl_net(info);
	struct ipcon_peer *peer;
	const char *name;
	int err;

	err = ipcon_nl_req_name(info, &name);
	if (err)
		return err;

	mutex_lock(&ns->lock);
	peer = ipcon_peer_get(ns, skb, info);
	err = IS_ERR(peer) ? PTR_ERR(peer) :
	      ipcon_group_del(ns, peer, name, info->extack);
	mutex_unlock(&ns->lock);
	ipcon_event_flush(ns);
	return ipcon_nl_bad_attr(info, IPCON_A_NAME, err);
}

static int ipcon_nl_grp_join_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct ipcon_net *ns = ipcon_nl_net(info);
	struct ipcon_peer *peer;
	struct ipcon_replay replay;
	const char *name;
	u32 flags;
	int err;

	err = ipcon_nl_req_name(info, &name);
	if (err)
		return err;
	flags = ipcon_nl_flags(info);

	mutex_lock(&ns->lock);
	peer = ipcon_peer_get(ns, skb, info);
	err = IS_ERR(peer) ? PTR_ERR(peer) :
	      ipcon_group_join(ns, peer, name, flags, &replay, info->extack);
	mutex_unlock(&ns->lock);
	if (!err && replay.group)
		ipcon_group_replay(ns, &replay);
	return ipcon_nl_bad_attr(info, IPCON_A_NAME, err);
}

static int ipcon_nl_grp_leave_doit(struct sk_buff *skb,
				   struct genl_info *info)
{
	struct ipcon_net *ns = ipcon_nl_net(info);
	struct ipcon_peer *peer;
	const char *name;
	int err;

	err = ipcon_nl_req_name(info, &name);
	if (err)
		return err;

	mutex_lock(&ns->lock);
	peer = ipcon_peer_get(ns, skb, info);
	err = IS_ERR(peer) ? PTR_ERR(peer) :
	      ipcon_group_leave(ns, peer, name, info->extack);
	mutex_unlock(&ns->lock);
	ipcon_event_flush(ns);
	return ipcon_nl_bad_attr(info, IPCON_A_NAME, err);
}

static int ipcon_nl_grp_list_dumpit(struct sk_buff *skb,
				    struct netlink_callback *cb)
{
	return ipcon_group_dump(skb, cb);
}

static int ipcon_nl_send_doit(struct sk_buff *skb, struct genl_info *info)
{
	const char *name = NULL, *src_name = NULL;
	struct ipcon_dest dest = {};
	size_t size;
	int err;

	if (!!info->attrs[IPCON_A_PORT] + !!info->attrs[IPCON_A_NAME] +
	    !!info->attrs[IPCON_A_ID] != 1) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "exactly one of PORT, NAME and ID is required");
		return -EBADR;
	}
	if (info->attrs[IPCON_A_NAME]) {
		err = ipcon_nl_name(info, IPCON_A_NAME, &name);
		if (err)
			return err;
		dest.name = name;
	} else if (info->attrs[IPCON_A_ID]) {
		dest.id = nla_get_u64(info->attrs[IPCON_A_ID]);
		dest.by_id = true;
	} else {
		dest.port = nla_get_u32(info->attrs[IPCON_A_PORT]);
	}
	if (info->attrs[IPCON_A_SRC_NAME]) {
		err = ipcon_nl_name(info, IPCON_A_SRC_NAME, &src_name);
		if (err)
			return err;
	}
	err = ipcon_msg_data_size(info, &size);
	if (err)
		return err;

	err = ipcon_msg_send(ipcon_nl_net(info), skb, info, &dest, src_name,
			     size);
	if (err == -EPERM)	/* the source name is not the sender's */
		return ipcon_nl_bad_attr(info, IPCON_A_SRC_NAME, err);
	return ipcon_nl_bad_attr(info, dest.name ? IPCON_A_NAME :
				 dest.by_id ? IPCON_A_ID : IPCON_A_PORT, err);
}

static int ipcon_nl_publish_doit(struct sk_buff *skb, struct genl_info *info)
{
	const char *name;
	size_t size;
	int err;

	err = ipcon_nl_req_name(info, &name);
	if (err)
		return err;
	err = ipcon_msg_data_size(info, &size);
	if (err)
		return err;

	err = ipcon_group_publish(ipcon_nl_net(info), skb, info, name, size);
	return ipcon_nl_bad_attr(info, IPCON_A_NAME, err);
}

static int ipcon_nl_events_sub_doit(struct sk_buff *skb,
				    struct genl_info *info)
{
	struct ipcon_net *ns = ipcon_nl_net(info);
	struct ipcon_peer *peer;
	int err;

	mutex_lock(&ns->lock);
	peer = ipcon_peer_get(ns, skb, info);
	err = IS_ERR(peer) ? PTR_ERR(peer) :
	      ipcon_event_sub(ns, peer, info->extack);
	mutex_unlock(&ns->lock);
	return err;
}

static int ipcon_nl_events_unsub_doit(struct sk_buff *skb,
				      struct genl_info *info)
{
	struct ipcon_net *ns = ipcon_nl_net(info);
	struct ipcon_peer *peer;
	int err;

	mutex_lock(&ns->lock);
	peer = ipcon_peer_get(ns, skb, info);
	err = IS_ERR(peer) ? PTR_ERR(peer) : ipcon_event_unsub(ns, peer);
	mutex_unlock(&ns->lock);
	if (err == -ENOTCONN && !IS_ERR(peer))
		NL_SET_ERR_MSG_MOD(info->extack, "not subscribed");
	return err;
}

static int ipcon_nl_policy_set_doit(struct sk_buff *skb,
				    struct genl_info *info)
{
	struct ipcon_net *ns = ipcon_nl_net(info);
	int err;

	err = ipcon_policy_set(ns, info);
	/* the re-check may have removed registrations */
	ipcon_event_flush(ns);
	return err;
}

static int ipcon_nl_policy_get_dumpit(struct sk_buff *skb,
				      struct netlink_callback *cb)
{
	return ipcon_policy_dump(skb, cb);
}

/*
 * IPCON_CMD_MSG, IPCON_CMD_GRP_MSG, IPCON_CMD_EVENT and IPCON_CMD_LOST are
 * only sent by the kernel: having no operation, they get -EOPNOTSUPP.
 */
#define IPCON_NL_OP(_cmd, _handler, _policy) {			\
	.cmd		= (_cmd),					\
	_handler,							\
	.policy		= (_policy),					\
	.maxattr	= IPCON_A_MAX,					\
}

static const struct genl_ops ipcon_nl_ops[] = {
	IPCON_NL_OP(IPCON_CMD_PAIR_START, .doit = ipcon_nl_pair_start_doit,
		    NULL),
	IPCON_NL_OP(IPCON_CMD_PAIR, .doit = ipcon_nl_pair_doit,
		    ipcon_nl_pair_policy),
	IPCON_NL_OP(IPCON_CMD_SRV_REG, .doit = ipcon_nl_srv_reg_doit,
		    ipcon_nl_name_policy),
	IPCON_NL_OP(IPCON_CMD_SRV_UNREG, .doit = ipcon_nl_srv_unreg_doit,
		    ipcon_nl_name_policy),
	IPCON_NL_OP(IPCON_CMD_SRV_RESOLVE, .doit = ipcon_nl_srv_resolve_doit,
		    ipcon_nl_name_policy),
	IPCON_NL_OP(IPCON_CMD_SRV_LIST, .dumpit = ipcon_nl_srv_list_dumpit,
		    NULL),
	IPCON_NL_OP(IPCON_CMD_GRP_REG, .doit = ipcon_nl_grp_reg_doit,
		    ipcon_nl_grp_reg_policy),
	IPCON_NL_OP(IPCON_CMD_GRP_UNREG, .doit = ipcon_nl_grp_unreg_doit,
		    ipcon_nl_name_policy),
	IPCON_NL_OP(IPCON_CMD_GRP_JOIN, .doit = ipcon_nl_grp_join_doit,
		    ipcon_nl_join_policy),
	IPCON_NL_OP(IPCON_CMD_GRP_LEAVE, .doit = ipcon_nl_grp_leave_doit,
		    ipcon_nl_name_policy),
	IPCON_NL_OP(IPCON_CMD_GRP_LIST, .dumpit = ipcon_nl_grp_list_dumpit,
		    NULL),
	IPCON_NL_OP(IPCON_CMD_SEND, .doit = ipcon_nl_send_doit,
		    ipcon_nl_send_policy),
	IPCON_NL_OP(IPCON_CMD_PUBLISH, .doit = ipcon_nl_publish_doit,
		    ipcon_nl_publish_policy),
	IPCON_NL_OP(IPCON_CMD_EVENTS_SUB, .doit = ipcon_nl_events_sub_doit,
		    NULL),
	IPCON_NL_OP(IPCON_CMD_EVENTS_UNSUB, .doit = ipcon_nl_events_unsub_doit,
		    NULL),
	{
		.cmd		= IPCON_CMD_POLICY_SET,
		.doit		= ipcon_nl_policy_set_doit,
		.policy		= ipcon_nl_policy_set_policy,
		.maxattr	= IPCON_A_MAX,
		.flags		= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd		= IPCON_CMD_POLICY_GET,
		.dumpit		= ipcon_nl_policy_get_dumpit,
		.maxattr	= IPCON_A_MAX,
		.flags		= GENL_UNS_ADMIN_PERM,
	},
};

/*
 * .resv_start_op is left at 0: the core then checks the reserved genetlink
 * header byte and the nlmsg_flags of every command and applies the policy
 * strictly. (It is the first command that gets these checks; commands
 * below it are treated as legacy.)
 */
struct genl_family ipcon_genl_family __ro_after_init = {
	.name		= IPCON_GENL_NAME,
	.version	= IPCON_GENL_VERSION,
	.maxattr	= IPCON_A_MAX,
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.ops		= ipcon_nl_ops,
	.n_ops		= ARRAY_SIZE(ipcon_nl_ops),
};

/**
 * ipcon_nl_register - register the generic netlink family
 *
 * Return: 0 or a negative errno.
 */
int ipcon_nl_register(void)
{
	return genl_register_family(&ipcon_genl_family);
}

/**
 * ipcon_nl_unregister - unregister the generic netlink family
 *
 * Waits for requests in progress.
 */
void ipcon_nl_unregister(void)
{
	genl_unregister_family(&ipcon_genl_family);
}
