// SPDX-License-Identifier: GPL-2.0-only
/*
 * The policy: who may own (register), send to and join which names.
 *
 * A policy is a default (allow or deny) and up to IPCON_POLICY_RULES_MAX
 * rules of (action, pattern, who). For an action on a name, the most
 * specific pattern of that action that matches decides: an exact name over
 * any prefix, a longer prefix over a shorter one (two different prefixes
 * of one length cannot both match a name, so the most specific pattern is
 * unique). The action is allowed if any rule with that pattern names the
 * peer (its uid, its effective or a supplementary gid, or anyone); if no
 * pattern matches, the default decides. The identity checked is the
 * peer's: the credentials its receive socket was opened with.
 *
 * A new policy replaces the old one whole and is applied to what exists:
 * services, groups and memberships it would refuse are removed, as if
 * their owners had let them go. Loading and reading a policy needs
 * CAP_NET_ADMIN over the network namespace (GENL_UNS_ADMIN_PERM).
 *
 * Locking: ipcon_net.policy is an RCU pointer, replaced under
 * ipcon_net.lock (which the re-check of existing registrations needs
 * anyway) and freed after a grace period; checks and the dump read it
 * under rcu_read_lock() and never sleep there.
 */

#include <linux/cred.h>
#include <linux/rculist.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uidgid.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "ipcon.h"

/* Who a rule is for */
enum ipcon_who {
	IPCON_WHO_ANYONE,
	IPCON_WHO_UID,
	IPCON_WHO_GID,
};

/**
 * struct ipcon_rule - one rule of a policy
 * @action: IPCON_ACT_*
 * @who: enum ipcon_who
 * @prefix: @pattern is a prefix (its '*' is not stored)
 * @len: strlen(@pattern)
 * @uid: the user, for IPCON_WHO_UID
 * @gid: the group, for IPCON_WHO_GID
 * @pattern: the name or prefix, NUL-terminated
 */
struct ipcon_rule {
	u32 action;
	u8 who;
	bool prefix;
	u8 len;
	kuid_t uid;
	kgid_t gid;
	char pattern[IPCON_NAME_MAX + 1];
};

/**
 * struct ipcon_policy - a policy as loaded
 * @rcu: for kvfree_rcu()
 * @gen: generation, for consistent dumps
 * @deflt: IPCON_POLICY_ALLOW or IPCON_POLICY_DENY
 * @nrules: number of @rules
 * @rules: in load order (rule N of the ack cookie is @rules[N - 1])
 */
struct ipcon_policy {
	struct rcu_head rcu;
	unsigned int gen;
	u32 deflt;
	u32 nrules;
	struct ipcon_rule rules[];
};

static bool ipcon_policy_in_group(const struct cred *cred, kgid_t gid)
{
	const struct group_info *gi = cred->group_info;
	unsigned int left = 0, right = gi->ngroups;

	if (gid_eq(cred->egid, gid))
		return true;
	/* set_groups() keeps the supplementary groups sorted */
	while (left < right) {
		unsigned int mid = left + (right - left) / 2;

		if (gid_gt(gid, gi->gid[mid]))
			left = mid + 1;
		else if (gid_lt(gid, gi->gid[mid]))
			right = mid;
		else
			return true;
	}
	return false;
}

static bool ipcon_rule_names(const struct ipcon_rule *r,
			     const struct cred *cred)
{
	switch (r->who) {
	case IPCON_WHO_UID:
		return uid_eq(cred->euid, r->uid);
	case IPCON_WHO_GID:
		return ipcon_policy_in_group(cred, r->gid);
	default:
		return true;
	}
}

/*
 * How specifically @r matches @name: -1 not at all, else the prefix length
 * or, for an exact name, more than any prefix can have.
 */
static int ipcon_rule_match(const struct ipcon_rule *r, const char *name,
			    size_t len)
{
	if (r->prefix)
		return len >= r->len && !memcmp(name, r->pattern, r->len) ?
		       r->len : -1;
	return len == r->len && !memcmp(name, r->pattern, len) ?
	       IPCON_NAME_MAX + 1 : -1;
}

/*
 * Decides an action of @cred on @name. Returns true if allowed; else
 * *rule is the number of the deciding rule (1-based), 0 for the default.
 */
static bool ipcon_policy_allows(const struct ipcon_policy *pol, u32 action,
				const char *name, const struct cred *cred,
				u32 *rule)
{
	size_t len = strlen(name);
	bool allowed = false;
	int best = -1;
	u32 i;

	*rule = 0;
	if (!pol)
		return true;
	for (i = 0; i < pol->nrules; i++) {
		const struct ipcon_rule *r = &pol->rules[i];
		int spec;

		if (r->action != action)
			continue;
		spec = ipcon_rule_match(r, name, len);
		if (spec < 0 || spec < best)
			continue;
		if (spec > best) {
			best = spec;
			allowed = false;
			*rule = i + 1;
		}
		if (!allowed && ipcon_rule_names(r, cred))
			allowed = true;
	}
	if (best < 0)
		return pol->deflt == IPCON_POLICY_ALLOW;
	return allowed;
}

static int ipcon_policy_deny(u32 rule, struct netlink_ext_ack *extack)
{
	if (rule)
		NL_SET_ERR_MSG_MOD(extack,
				   "denied by a policy rule (its number is the ack cookie)");
	else
		NL_SET_ERR_MSG_MOD(extack, "denied by the policy default");
	nl_set_extack_cookie_u64(extack, rule);
	return -EACCES;
}

/**
 * ipcon_policy_check - may @peer do @action on @name?
 * @ns: the namespace state
 * @action: IPCON_ACT_*
 * @name: a valid name
 * @peer: the peer acting (its credentials are checked)
 * @extack: says which rule or the default denied
 *
 * May be called under rcu_read_lock() or ipcon_net.lock.
 *
 * Return: 0 or -EACCES.
 */
int ipcon_policy_check(struct ipcon_net *ns, u32 action, const char *name,
		       const struct ipcon_peer *peer,
		       struct netlink_ext_ack *extack)
{
	bool allowed;
	u32 rule;

	rcu_read_lock();
	allowed = ipcon_policy_allows(rcu_dereference(ns->policy), action,
				      name, peer->cred, &rule);
	rcu_read_unlock();
	return allowed ? 0 : ipcon_policy_deny(rule, extack);
}

/**
 * ipcon_policy_check_peer_rcu - may @sender send to @dest by port or id?
 * @ns: the namespace state
 * @sender: the sending peer
 * @dest: the destination peer
 * @extack: says which rule or the default denied
 *
 * A send by address to a peer that owns services is a send to each of
 * them: all must allow it, so resolving a name first cannot get round a
 * rule on it. A peer without services (a client waiting for a reply) can
 * always be sent to. Must be called under rcu_read_lock().
 *
 * Return: 0 or -EACCES.
 */
int ipcon_policy_check_peer_rcu(struct ipcon_net *ns,
				const struct ipcon_peer *sender,
				const struct ipcon_peer *dest,
				struct netlink_ext_ack *extack)
{
	const struct ipcon_policy *pol = rcu_dereference(ns->policy);
	const struct ipcon_service *svc;
	u32 rule;

	if (!pol)
		return 0;
	list_for_each_entry_rcu(svc, &dest->services, peer_node)
		if (!ipcon_policy_allows(pol, IPCON_ACT_SEND, svc->name,
					 sender->cred, &rule))
			return ipcon_policy_deny(rule, extack);
	return 0;
}

static bool ipcon_policy_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
	       c == '-';
}

/*
 * A pattern is a name, or a possibly empty prefix of one followed by '*',
 * and must end exactly at its NUL (the policy only guarantees a NUL).
 */
static int ipcon_policy_pattern(struct ipcon_rule *r, const struct nlattr *nla,
				struct netlink_ext_ack *extack)
{
	const char *s = nla_data(nla);
	size_t len = strnlen(s, nla_len(nla));
	size_t i;

	if (len + 1 != nla_len(nla) || !len)
		goto invalid;
	r->prefix = s[len - 1] == '*';
	if (r->prefix)
		len--;
	for (i = 0; i < len; i++)
		if (!ipcon_policy_name_char(s[i]))
			goto invalid;
	memcpy(r->pattern, s, len);
	r->pattern[len] = '\0';
	r->len = len;
	return 0;

invalid:
	NL_SET_ERR_MSG_ATTR(extack, nla,
			    "invalid pattern: a name, or a prefix followed by '*'");
	return -EINVAL;
}

static int ipcon_policy_rule(struct ipcon_net *ns, struct ipcon_rule *r,
			     const struct nlattr *nest,
			     struct netlink_ext_ack *extack)
{
	struct nlattr *tb[IPCON_RULE_A_MAX + 1];
	struct user_namespace *userns = ns->net->user_ns;
	int err;

	/* the family policy validated the nest strictly */
	err = nla_parse_nested(tb, IPCON_RULE_A_MAX, nest, NULL, extack);
	if (err)
		return err;
	if (NL_REQ_ATTR_CHECK(extack, nest, tb, IPCON_RULE_A_ACTION) ||
	    NL_REQ_ATTR_CHECK(extack, nest, tb, IPCON_RULE_A_PATTERN))
		return -EINVAL;
	r->action = nla_get_u32(tb[IPCON_RULE_A_ACTION]);
	err = ipcon_policy_pattern(r, tb[IPCON_RULE_A_PATTERN], extack);
	if (err)
		return err;

	if (tb[IPCON_RULE_A_UID] && tb[IPCON_RULE_A_GID]) {
		NL_SET_ERR_MSG_ATTR(extack, tb[IPCON_RULE_A_GID],
				    "a rule is for a uid or a gid, not both");
		return -EINVAL;
	}
	r->who = IPCON_WHO_ANYONE;
	if (tb[IPCON_RULE_A_UID]) {
		r->who = IPCON_WHO_UID;
		r->uid = make_kuid(userns, nla_get_u32(tb[IPCON_RULE_A_UID]));
		if (!uid_valid(r->uid)) {
			NL_SET_ERR_MSG_ATTR(extack, tb[IPCON_RULE_A_UID],
					    "uid has no mapping in this namespace");
			return -EINVAL;
		}
	} else if (tb[IPCON_RULE_A_GID]) {
		r->who = IPCON_WHO_GID;
		r->gid = make_kgid(userns, nla_get_u32(tb[IPCON_RULE_A_GID]));
		if (!gid_valid(r->gid)) {
			NL_SET_ERR_MSG_ATTR(extack, tb[IPCON_RULE_A_GID],
					    "gid has no mapping in this namespace");
			return -EINVAL;
		}
	}
	return 0;
}

/* Parses the request into a new policy; nothing is installed here. */
static struct ipcon_policy *ipcon_policy_parse(struct ipcon_net *ns,
					       struct genl_info *info)
{
	const struct nlattr *nla;
	struct ipcon_policy *pol;
	u32 n = 0;
	int rem, err;

	if (GENL_REQ_ATTR_CHECK(info, IPCON_A_POLICY_DEFAULT))
		return ERR_PTR(-EINVAL);
	/* info->attrs keeps only the last IPCON_A_RULE: walk them all */
	nlmsg_for_each_attr(nla, info->nlhdr, GENL_HDRLEN, rem)
		if (nla_type(nla) == IPCON_A_RULE)
			n++;
	if (n > IPCON_POLICY_RULES_MAX) {
		NL_SET_ERR_MSG_MOD(info->extack, "too many rules");
		return ERR_PTR(-E2BIG);
	}

	pol = kvzalloc(struct_size(pol, rules, n), GFP_KERNEL_ACCOUNT);
	if (!pol)
		return ERR_PTR(-ENOMEM);
	pol->deflt = nla_get_u32(info->attrs[IPCON_A_POLICY_DEFAULT]);
	nlmsg_for_each_attr(nla, info->nlhdr, GENL_HDRLEN, rem) {
		if (nla_type(nla) != IPCON_A_RULE)
			continue;
		err = ipcon_policy_rule(ns, &pol->rules[pol->nrules], nla,
					info->extack);
		if (err) {
			kvfree(pol);
			return ERR_PTR(err);
		}
		pol->nrules++;
	}
	return pol;
}

/*
 * Removes what the new policy refuses: the peer's services and groups it
 * may no longer own and its memberships of groups it may no longer join.
 */
static void ipcon_policy_revoke(struct ipcon_net *ns,
				const struct ipcon_policy *pol,
				struct ipcon_peer *peer)
{
	struct ipcon_service *svc, *stmp;
	struct ipcon_group *grp, *gtmp;
	struct ipcon_member *m, *mtmp;
	u32 rule;

	lockdep_assert_held(&ns->lock);
	list_for_each_entry_safe(svc, stmp, &peer->services, peer_node)
		if (!ipcon_policy_allows(pol, IPCON_ACT_OWN, svc->name,
					 peer->cred, &rule))
			ipcon_service_remove(ns, svc, true);
	list_for_each_entry_safe(grp, gtmp, &peer->groups, peer_node)
		if (!ipcon_policy_allows(pol, IPCON_ACT_OWN, grp->name,
					 peer->cred, &rule))
			ipcon_group_remove(ns, grp, true);
	list_for_each_entry_safe(m, mtmp, &peer->memberships, peer_node)
		if (!ipcon_policy_allows(pol, IPCON_ACT_JOIN, m->group->name,
					 peer->cred, &rule))
			ipcon_member_remove(ns, m);
}

/**
 * ipcon_policy_set - IPCON_CMD_POLICY_SET: replace the policy
 * @ns: the namespace state
 * @info: the request (the core checked CAP_NET_ADMIN)
 *
 * Nothing changes if any rule is invalid. Once installed, the policy is
 * applied to existing registrations (see the top of this file).
 *
 * Return: 0, -EINVAL, -E2BIG or -ENOMEM.
 */
int ipcon_policy_set(struct ipcon_net *ns, struct genl_info *info)
{
	struct ipcon_policy *pol, *old;
	struct ipcon_peer *peer;
	unsigned int bkt;

	pol = ipcon_policy_parse(ns, info);
	if (IS_ERR(pol))
		return PTR_ERR(pol);

	mutex_lock(&ns->lock);
	ipcon_gen_bump(&ns->policy_gen);
	pol->gen = ns->policy_gen;
	old = rcu_replace_pointer(ns->policy, pol, lockdep_is_held(&ns->lock));
	hash_for_each(ns->peers, bkt, peer, port_node) {
		if (!peer->dead)
			ipcon_policy_revoke(ns, pol, peer);
		cond_resched();
	}
	mutex_unlock(&ns->lock);

	if (old)
		kvfree_rcu(old, rcu);
	return 0;
}

static int ipcon_policy_fill_rule(struct sk_buff *skb,
				  const struct ipcon_rule *r,
				  struct user_namespace *userns)
{
	char pattern[IPCON_NAME_MAX + 2];
	struct nlattr *nest;

	snprintf(pattern, sizeof(pattern), "%s%s", r->pattern,
		 r->prefix ? "*" : "");
	nest = nla_nest_start(skb, IPCON_A_RULE);
	if (!nest || nla_put_u32(skb, IPCON_RULE_A_ACTION, r->action) ||
	    nla_put_string(skb, IPCON_RULE_A_PATTERN, pattern) ||
	    (r->who == IPCON_WHO_UID &&
	     nla_put_u32(skb, IPCON_RULE_A_UID,
			 from_kuid_munged(userns, r->uid))) ||
	    (r->who == IPCON_WHO_GID &&
	     nla_put_u32(skb, IPCON_RULE_A_GID,
			 from_kgid_munged(userns, r->gid))))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/**
 * ipcon_policy_dump - IPCON_CMD_POLICY_GET dump callback
 * @skb: the dump buffer
 * @cb: the dump state; args[0] is the next message (0: the header with
 *	the default and the rule count, N: rule N)
 *
 * A policy replaced between two calls flags the dump NLM_F_DUMP_INTR.
 *
 * Return: the dump buffer length (0 when done) or a negative errno.
 */
int ipcon_policy_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct ipcon_net *ns = ipcon_net(sock_net(skb->sk));
	struct user_namespace *userns = ns->net->user_ns;
	const struct ipcon_policy *pol;
	unsigned long idx = cb->args[0];
	int err = 0;
	void *hdr;

	rcu_read_lock();
	pol = rcu_dereference(ns->policy);
	cb->seq = pol ? pol->gen : 1;
	for (; idx <= (pol ? pol->nrules : 0); idx++) {
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &ipcon_genl_family,
				  NLM_F_MULTI, IPCON_CMD_POLICY_GET);
		if (!hdr) {
			err = -EMSGSIZE;
			break;
		}
		genl_dump_check_consistent(cb, hdr);
		if (!idx)
			err = nla_put_u32(skb, IPCON_A_POLICY_DEFAULT,
					  pol ? pol->deflt : IPCON_POLICY_ALLOW) ||
			      nla_put_u32(skb, IPCON_A_COUNT,
					  pol ? pol->nrules : 0) ? -EMSGSIZE : 0;
		else
			err = ipcon_policy_fill_rule(skb, &pol->rules[idx - 1],
						     userns);
		if (err) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
	}
	rcu_read_unlock();
	cb->args[0] = idx;
	/* a message that does not fit an empty buffer would loop forever */
	if (err && !skb->len)
		return err;
	return skb->len;
}

/**
 * ipcon_policy_net_exit - free the policy of a namespace
 * @ns: the namespace state; no request can run any more
 */
void ipcon_policy_net_exit(struct ipcon_net *ns)
{
	kvfree(rcu_dereference_protected(ns->policy, true));
	RCU_INIT_POINTER(ns->policy, NULL);
}
