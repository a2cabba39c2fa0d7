// SPDX-License-Identifier: MIT OR Apache-2.0
//! What the `tokio` and `async-io` integrations share: the request
//! methods of their `AsyncPeer`s.

/// The request methods of an `AsyncPeer` (`self.requester()` locks its
/// [`OwnedRequester`](crate::OwnedRequester)): each is the peer's request
/// of the same name.
///
/// They are `async` for the API's sake, and never wait: the kernel handles
/// a request inside the `sendmsg` system call (a full destination queue
/// is [`Error::QueueFull`](crate::Error::QueueFull) at once), so a request
/// holds the requester's lock for two system calls and returns. Being
/// `async` leaves room to make them wait without breaking callers.
macro_rules! async_request_methods {
    () => {
        /// Like [`Peer::register_service`].
        pub async fn register_service(&self, name: &str) -> Result<(), Error> {
            self.requester().register_service(name)
        }

        /// Like [`Peer::unregister_service`].
        pub async fn unregister_service(&self, name: &str) -> Result<(), Error> {
            self.requester().unregister_service(name)
        }

        /// Like [`Peer::resolve`].
        pub async fn resolve(&self, name: &str) -> Result<u32, Error> {
            self.requester().resolve(name)
        }

        /// Like [`Peer::resolve_owner`].
        pub async fn resolve_owner(&self, name: &str) -> Result<Owner, Error> {
            self.requester().resolve_owner(name)
        }

        /// Like [`Peer::services`].
        pub async fn services(
            &self,
            buf: &mut [u8],
            f: impl FnMut(ServiceInfo<'_>),
        ) -> Result<(), Error> {
            self.requester().services(buf, f)
        }

        /// Like [`Peer::register_group`].
        pub async fn register_group(&self, name: &str, flags: GroupFlags) -> Result<(), Error> {
            self.requester().register_group(name, flags)
        }

        /// Like [`Peer::unregister_group`].
        pub async fn unregister_group(&self, name: &str) -> Result<(), Error> {
            self.requester().unregister_group(name)
        }

        /// Like [`Peer::join`].
        pub async fn join(&self, name: &str, flags: JoinFlags) -> Result<(), Error> {
            self.requester().join(name, flags)
        }

        /// Like [`Peer::leave`].
        pub async fn leave(&self, name: &str) -> Result<(), Error> {
            self.requester().leave(name)
        }

        /// Like [`Peer::groups`].
        pub async fn groups(
            &self,
            buf: &mut [u8],
            f: impl FnMut(GroupInfo<'_>),
        ) -> Result<(), Error> {
            self.requester().groups(buf, f)
        }

        /// Like [`Peer::send_to_port`].
        pub async fn send_to_port(&self, port: u32, data: &[u8]) -> Result<(), Error> {
            self.requester().send_to_port(port, data)
        }

        /// Like [`Peer::send_to_service`].
        pub async fn send_to_service(&self, name: &str, data: &[u8]) -> Result<(), Error> {
            self.requester().send_to_service(name, data)
        }

        /// Like [`Peer::send_to_id`].
        pub async fn send_to_id(&self, id: u64, data: &[u8]) -> Result<(), Error> {
            self.requester().send_to_id(id, data)
        }

        /// Like [`Peer::send`].
        pub async fn send(&self, target: Target<'_>, data: &[u8]) -> Result<(), Error> {
            self.requester().send(target, data)
        }

        /// Like [`Peer::send_as`].
        pub async fn send_as(
            &self,
            src_service: &str,
            target: Target<'_>,
            data: &[u8],
        ) -> Result<(), Error> {
            self.requester().send_as(src_service, target, data)
        }

        /// Like [`Peer::publish`].
        pub async fn publish(&self, group: &str, data: &[u8]) -> Result<(), Error> {
            self.requester().publish(group, data)
        }

        /// Like [`Peer::subscribe_events`].
        pub async fn subscribe_events(&self) -> Result<(), Error> {
            self.requester().subscribe_events()
        }

        /// Like [`Peer::unsubscribe_events`].
        pub async fn unsubscribe_events(&self) -> Result<(), Error> {
            self.requester().unsubscribe_events()
        }

        /// Like [`Peer::set_policy`].
        pub async fn set_policy(
            &self,
            default: policy::Default,
            rules: &[Rule<'_>],
            buf: &mut [u8],
        ) -> Result<(), Error> {
            self.requester().set_policy(default, rules, buf)
        }

        /// Like [`Peer::load_policy`].
        #[cfg(feature = "alloc")]
        #[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
        pub async fn load_policy(&self, policy: &policy::Policy) -> Result<(), Error> {
            self.requester().load_policy(policy)
        }

        /// Like [`Peer::policy`].
        #[cfg(feature = "alloc")]
        #[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
        pub async fn policy(&self, buf: &mut [u8]) -> Result<policy::Policy, Error> {
            self.requester().policy(buf)
        }

        /// Like [`Peer::clear_policy`].
        pub async fn clear_policy(&self) -> Result<(), Error> {
            self.requester().clear_policy()
        }

        /// Like [`Peer::service_list`].
        #[cfg(feature = "alloc")]
        #[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
        pub async fn service_list(
            &self,
        ) -> Result<alloc::vec::Vec<(alloc::string::String, u32)>, Error> {
            self.requester().service_list()
        }
    };
}
