// SPDX-License-Identifier: MIT OR Apache-2.0
//! Constants of the wire ABI, mirrored from `ipcon-kmod/include/uapi/linux/ipcon.h`.
//!
//! Every `#define` and enum member of the C header has a constant of the
//! same name here (the header is the single source of truth; a unit test
//! parses it and fails if a value differs or a constant is missing on either
//! side). Commands are `u8` (the genetlink `cmd` field), attribute types
//! (`IPCON_A_*`, and `IPCON_RULE_A_*` nested in [`IPCON_A_RULE`]) are `u16`
//! (the `nla_type` field), flags, event kinds, policy defaults and rule
//! actions are `u32` (the attribute values), sizes are `usize`.
//!
//! The names starting with `__` are the header's sentinel values (one past
//! the last enum member, or the mask of all valid flag bits); they are kept
//! so that the mirror is complete.

macro_rules! uapi_constants {
    ($( $(#[$meta:meta])* $name:ident : $ty:ty = $value:expr; )*) => {
        $( $(#[$meta])* pub const $name: $ty = $value; )*

        /// Every integer constant of this module with its value and type,
        /// for the header consistency test.
        #[cfg(test)]
        pub(crate) const ALL: &[(&str, u64, &str)] =
            &[ $( (stringify!($name), $name as u64, stringify!($ty)), )* ];
    };
}

/// Name of the generic netlink family, resolved through nlctrl.
pub const IPCON_GENL_NAME: &str = "IPCON";

uapi_constants! {
    /// Version of the protocol, sent in the genetlink header.
    IPCON_GENL_VERSION: u8 = 1;

    /// Longest service or group name in bytes, without the terminating NUL.
    IPCON_NAME_MAX: usize = 63;
    /// Largest payload of one message, in bytes.
    IPCON_PAYLOAD_MAX: usize = 65536;
    /// Largest single [`IPCON_A_DATA`] attribute, in bytes.
    IPCON_CHUNK_MAX: usize = 32768;
    /// Most rules one policy may have.
    IPCON_POLICY_RULES_MAX: usize = 512;

    /// Unused command 0.
    IPCON_CMD_UNSPEC: u8 = 0;
    /// Sent on the receive socket: reply carries a single-use [`IPCON_A_TOKEN`]
    /// and the peer's id ([`IPCON_A_ID`]).
    IPCON_CMD_PAIR_START: u8 = 1;
    /// Sent on the control socket with [`IPCON_A_PORT`] and [`IPCON_A_TOKEN`].
    IPCON_CMD_PAIR: u8 = 2;
    /// Register a service ([`IPCON_A_NAME`]).
    IPCON_CMD_SRV_REG: u8 = 3;
    /// Remove an own service ([`IPCON_A_NAME`]).
    IPCON_CMD_SRV_UNREG: u8 = 4;
    /// Resolve a service name to its owner; reply has [`IPCON_A_NAME`],
    /// [`IPCON_A_PORT`], [`IPCON_A_ID`], [`IPCON_A_UID`], [`IPCON_A_GID`].
    IPCON_CMD_SRV_RESOLVE: u8 = 5;
    /// Dump all services (one message per service: name and the owner's
    /// port, id, uid, gid).
    IPCON_CMD_SRV_LIST: u8 = 6;
    /// Register a group ([`IPCON_A_NAME`], optional [`IPCON_A_FLAGS`] with `IPCON_GRP_F_*`).
    IPCON_CMD_GRP_REG: u8 = 7;
    /// Remove an own group ([`IPCON_A_NAME`]).
    IPCON_CMD_GRP_UNREG: u8 = 8;
    /// Join a group ([`IPCON_A_NAME`], optional [`IPCON_A_FLAGS`] with `IPCON_JOIN_F_*`).
    IPCON_CMD_GRP_JOIN: u8 = 9;
    /// Leave a group ([`IPCON_A_NAME`]).
    IPCON_CMD_GRP_LEAVE: u8 = 10;
    /// Dump all groups (name, owner port, id, uid, gid, member count, flags).
    IPCON_CMD_GRP_LIST: u8 = 11;
    /// Unicast: exactly one of [`IPCON_A_PORT`], [`IPCON_A_NAME`] and
    /// [`IPCON_A_ID`], optional [`IPCON_A_SRC_NAME`], data chunks.
    IPCON_CMD_SEND: u8 = 12;
    /// Publish to an own group: [`IPCON_A_NAME`], data chunks.
    IPCON_CMD_PUBLISH: u8 = 13;
    /// Subscribe to kernel events.
    IPCON_CMD_EVENTS_SUB: u8 = 14;
    /// Unsubscribe from kernel events.
    IPCON_CMD_EVENTS_UNSUB: u8 = 15;
    /// Delivery: unicast message.
    IPCON_CMD_MSG: u8 = 16;
    /// Delivery: group message.
    IPCON_CMD_GRP_MSG: u8 = 17;
    /// Delivery: kernel event.
    IPCON_CMD_EVENT: u8 = 18;
    /// Delivery: messages were lost because the receive queue was full.
    IPCON_CMD_LOST: u8 = 19;
    /// Replace the policy: [`IPCON_A_POLICY_DEFAULT`], then [`IPCON_A_RULE`]
    /// nests (needs `CAP_NET_ADMIN`).
    IPCON_CMD_POLICY_SET: u8 = 20;
    /// Dump the policy: first message [`IPCON_A_POLICY_DEFAULT`] and
    /// [`IPCON_A_COUNT`], then one [`IPCON_A_RULE`] per message (needs
    /// `CAP_NET_ADMIN`).
    IPCON_CMD_POLICY_GET: u8 = 21;
    /// Sentinel: number of commands.
    __IPCON_CMD_MAX: u8 = 22;
    /// Highest command number.
    IPCON_CMD_MAX: u8 = __IPCON_CMD_MAX - 1;

    /// Unused attribute 0.
    IPCON_A_UNSPEC: u16 = 0;
    /// Alignment padding for u64 attributes.
    IPCON_A_PAD: u16 = 1;
    /// String: service or group name.
    IPCON_A_NAME: u16 = 2;
    /// u32: peer port.
    IPCON_A_PORT: u16 = 3;
    /// u32: `IPCON_GRP_F_*`, `IPCON_JOIN_F_*` or `IPCON_MSG_F_*`.
    IPCON_A_FLAGS: u16 = 4;
    /// Binary: payload chunk, repeated, at most [`IPCON_CHUNK_MAX`] bytes each.
    IPCON_A_DATA: u16 = 5;
    /// u32: sending peer's port.
    IPCON_A_SRC_PORT: u16 = 6;
    /// String: sending peer's service.
    IPCON_A_SRC_NAME: u16 = 7;
    /// u32: effective uid (of the sender, or of the owner / peer concerned).
    IPCON_A_UID: u16 = 8;
    /// u32: effective gid (of the sender, or of the owner / peer concerned).
    IPCON_A_GID: u16 = 9;
    /// u32: thread group id of the process that created the sending peer.
    IPCON_A_PID: u16 = 10;
    /// u32: `IPCON_EV_*`.
    IPCON_A_EVENT: u16 = 11;
    /// u32: group members, or messages lost.
    IPCON_A_COUNT: u16 = 12;
    /// u64: pairing token.
    IPCON_A_TOKEN: u16 = 13;
    /// u64: peer id (never reused in a network namespace).
    IPCON_A_ID: u16 = 14;
    /// u64: sending peer's id.
    IPCON_A_SRC_ID: u16 = 15;
    /// u32: the policy default, `IPCON_POLICY_*`.
    IPCON_A_POLICY_DEFAULT: u16 = 16;
    /// Nested: one policy rule, `IPCON_RULE_A_*` attributes.
    IPCON_A_RULE: u16 = 17;
    /// Sentinel: number of attribute types.
    __IPCON_A_MAX: u16 = 18;
    /// Highest attribute type.
    IPCON_A_MAX: u16 = __IPCON_A_MAX - 1;

    /// Group registration flag: keep the last published message.
    IPCON_GRP_F_RETAIN: u32 = 1 << 0;
    /// All valid group registration flags.
    __IPCON_GRP_F_ALL: u32 = IPCON_GRP_F_RETAIN;
    /// Join flag: deliver the retained message at once.
    IPCON_JOIN_F_LAST: u32 = 1 << 0;
    /// All valid join flags.
    __IPCON_JOIN_F_ALL: u32 = IPCON_JOIN_F_LAST;
    /// Group message flag: replay of the retained message.
    IPCON_MSG_F_RETAINED: u32 = 1 << 0;

    /// Unused event 0.
    IPCON_EV_UNSPEC: u32 = 0;
    /// A peer is gone ([`IPCON_A_PORT`], [`IPCON_A_ID`], [`IPCON_A_UID`], [`IPCON_A_GID`]).
    IPCON_EV_PEER_GONE: u32 = 1;
    /// A service was registered ([`IPCON_A_NAME`]; [`IPCON_A_PORT`], [`IPCON_A_ID`],
    /// [`IPCON_A_UID`], [`IPCON_A_GID`] of the owner).
    IPCON_EV_SRV_ADDED: u32 = 2;
    /// A service was removed ([`IPCON_A_NAME`]; [`IPCON_A_PORT`], [`IPCON_A_ID`],
    /// [`IPCON_A_UID`], [`IPCON_A_GID`] of the owner).
    IPCON_EV_SRV_REMOVED: u32 = 3;
    /// A group was registered ([`IPCON_A_NAME`]; [`IPCON_A_PORT`], [`IPCON_A_ID`],
    /// [`IPCON_A_UID`], [`IPCON_A_GID`] of the owner).
    IPCON_EV_GRP_ADDED: u32 = 4;
    /// A group was removed ([`IPCON_A_NAME`]; [`IPCON_A_PORT`], [`IPCON_A_ID`],
    /// [`IPCON_A_UID`], [`IPCON_A_GID`] of the owner).
    IPCON_EV_GRP_REMOVED: u32 = 5;
    /// Sentinel: number of event kinds.
    __IPCON_EV_MAX: u32 = 6;
    /// Highest event kind.
    IPCON_EV_MAX: u32 = __IPCON_EV_MAX - 1;

    /// Policy default: names no rule matches are allowed.
    IPCON_POLICY_ALLOW: u32 = 0;
    /// Policy default: names no rule matches are denied.
    IPCON_POLICY_DENY: u32 = 1;
    /// Sentinel: number of policy defaults.
    __IPCON_POLICY_MAX: u32 = 2;
    /// Highest policy default.
    IPCON_POLICY_MAX: u32 = __IPCON_POLICY_MAX - 1;

    /// Unused action 0.
    IPCON_ACT_UNSPEC: u32 = 0;
    /// Rule action: register a service or group of that name.
    IPCON_ACT_OWN: u32 = 1;
    /// Rule action: unicast to that service.
    IPCON_ACT_SEND: u32 = 2;
    /// Rule action: join that group.
    IPCON_ACT_JOIN: u32 = 3;
    /// Sentinel: number of actions.
    __IPCON_ACT_MAX: u32 = 4;
    /// Highest action.
    IPCON_ACT_MAX: u32 = __IPCON_ACT_MAX - 1;

    /// Unused rule attribute 0.
    IPCON_RULE_A_UNSPEC: u16 = 0;
    /// u32: `IPCON_ACT_*`.
    IPCON_RULE_A_ACTION: u16 = 1;
    /// String: a name, or a prefix followed by `*` (`"*"` alone: every name).
    IPCON_RULE_A_PATTERN: u16 = 2;
    /// u32: the rule is for this uid.
    IPCON_RULE_A_UID: u16 = 3;
    /// u32: the rule is for this gid (effective or supplementary).
    IPCON_RULE_A_GID: u16 = 4;
    /// Sentinel: number of rule attribute types.
    __IPCON_RULE_A_MAX: u16 = 5;
    /// Highest rule attribute type.
    IPCON_RULE_A_MAX: u16 = __IPCON_RULE_A_MAX - 1;
}

#[cfg(test)]
mod tests;
