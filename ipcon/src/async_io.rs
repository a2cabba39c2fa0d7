// SPDX-License-Identifier: MIT OR Apache-2.0
//! async-io integration (feature `async-io`), for smol and any executor:
//! [`AsyncPeer`], a peer whose receives are futures on async-io's reactor.
//!
//! Receiving waits for the readiness of the peer's receive socket
//! ([`async_io::Async`]) and then reads without blocking.
//! Requests are `async` methods too, but they never wait (see
//! [`AsyncPeer`]).
//!
//! **Cancellation safe**: a delivery is taken off the socket only in the
//! poll that returns it, so a [`recv`](AsyncPeer::recv) future dropped
//! before it completes (a `select!` branch that lost, a timeout) has lost
//! nothing: the next receive gets the message.
//!
//! ```no_run
//! use std::sync::Arc;
//! use ipcon::async_io::AsyncPeer;
//! use ipcon::{Message, RECV_BUFFER_SIZE};
//!
//! # async fn serve() -> Result<(), ipcon::Error> {
//! let peer = Arc::new(AsyncPeer::open()?);
//! peer.register_service("demo.echo").await?;
//! let mut buf = vec![0u8; RECV_BUFFER_SIZE];
//! loop {
//!     if let Message::Unicast(req) = peer.recv(&mut buf).await? {
//!         let (peer, id, data) = (peer.clone(), req.sender.id, req.data.to_vec());
//!         smol::spawn(async move { peer.send_to_id(id, &data).await }).detach();
//!     }
//! }
//! # }
//! ```

use core::pin::Pin;
use core::task::{ready, Context, Poll};
use std::sync::{Mutex, MutexGuard, PoisonError};

use alloc::vec::Vec;
use async_io::Async;
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use crate::peer::Mode;
use crate::policy::{self, Rule};
use crate::{
    Error, GroupFlags, GroupInfo, JoinFlags, Message, OwnedMessage, OwnedReceiver, OwnedRequester,
    Owner, Peer, RecvError, ServiceInfo, Target, RECV_BUFFER_SIZE,
};

/// A [`Peer`] for async-io (smol): `recv().await`, `async` requests, and a
/// [`Stream`](futures_core::Stream) of messages ([`messages`](Self::messages)).
///
/// Every method takes `&self`: share the peer between tasks with an
/// `Arc`. Receives may run in several tasks at once (each delivery goes
/// to one of them); requests take turns on the peer's control socket
/// behind a lock that is held for the two system calls of the request
/// and never across an `.await`, so a request never waits for a receive.
///
/// async-io runs its reactor on a thread of its own: the peer works with
/// any executor.
#[derive(Debug)]
pub struct AsyncPeer {
    rx: Async<OwnedReceiver>,
    tx: Mutex<OwnedRequester>,
}

impl AsyncPeer {
    /// Open a peer ([`Peer::open`]) and register its receive socket with
    /// the reactor.
    pub fn open() -> Result<Self, Error> {
        Self::new(Peer::open()?)
    }

    /// Use `peer` with async-io. The receive socket is not switched to
    /// non-blocking mode (receives ask the kernel not to wait, one by
    /// one), so [`into_peer`](Self::into_peer) gives back a peer that
    /// blocks as before.
    pub fn new(peer: Peer) -> Result<Self, Error> {
        let (tx, rx) = peer.into_split();
        let rx = Async::new_nonblocking(rx).map_err(io_error)?;
        Ok(AsyncPeer {
            rx,
            tx: Mutex::new(tx),
        })
    }

    /// The [`Peer`] back, deregistered from the reactor.
    pub fn into_peer(self) -> Peer {
        let rx = match self.rx.into_inner() {
            Ok(rx) => rx,
            // Deregistering failed: the socket is still the peer's.
            Err(_) => unreachable!("async-io gives the I/O handle back"),
        };
        let tx = self.tx.into_inner().unwrap_or_else(PoisonError::into_inner);
        match tx.reunite(rx) {
            Ok(peer) => peer,
            // Both halves came from one peer in `new`.
            Err(_) => unreachable!("the halves of an AsyncPeer belong together"),
        }
    }

    /// The peer's port ([`Peer::port`]).
    pub fn port(&self) -> u32 {
        self.rx.get_ref().port()
    }

    /// The peer's id ([`Peer::id`]).
    pub fn id(&self) -> u64 {
        self.rx.get_ref().id()
    }

    /// Wait for the next delivery and parse it into `buf` (use
    /// [`RECV_BUFFER_SIZE`] bytes), like [`Peer::recv`]. Cancellation
    /// safe: dropping the future before it completes loses no message.
    /// For a timeout, race it with a timer (`futures_lite::future::or`
    /// with `async_io::Timer`).
    ///
    /// Several tasks may wait in `recv` on one peer at once: each is woken
    /// (async-io's `Async::readable`), and each delivery goes to one of
    /// them.
    pub async fn recv<'b>(&self, buf: &'b mut [u8]) -> Result<Message<'b>, RecvError> {
        let len = loop {
            match self.rx.get_ref().rx().recv_len(buf, Mode::NonBlocking) {
                // Nothing queued: wait for readiness (re-arming the
                // reactor reports a socket that is readable already).
                Err(RecvError::WouldBlock) => {
                    self.rx.readable().await.map_err(recv_io_error)?;
                }
                other => break other?,
            }
        };
        self.rx.get_ref().rx().parse(buf, len)
    }

    /// Poll for the next delivery into `buf`, for hand-written futures
    /// and streams: `Pending` registers `cx`'s waker with the reactor. As
    /// with async-io's `poll_readable`, only the waker of the last call is
    /// woken: one task polls (use [`recv`](Self::recv) from several).
    pub fn poll_recv<'b>(
        &self,
        cx: &mut Context<'_>,
        buf: &'b mut [u8],
    ) -> Poll<Result<Message<'b>, RecvError>> {
        let len = ready!(self.poll_recv_len(cx, &mut *buf))?;
        Poll::Ready(self.rx.get_ref().rx().parse(buf, len))
    }

    /// A delivery without waiting, like [`Peer::try_recv`].
    pub fn try_recv<'b>(&self, buf: &'b mut [u8]) -> Result<Message<'b>, RecvError> {
        self.rx.get_ref().try_recv(buf)
    }

    /// The deliveries as a [`Stream`](futures_core::Stream) of owned
    /// messages (each one allocated; `recv` into a buffer does not). The
    /// stream never ends; a receive error is an item, after which the
    /// stream goes on. Cancellation safe, like [`recv`](Self::recv).
    pub fn messages(&self) -> Messages<'_> {
        Messages {
            peer: self,
            buf: alloc::vec![0u8; RECV_BUFFER_SIZE],
        }
    }

    fn poll_recv_len(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Result<usize, RecvError>> {
        loop {
            // Try first; on nothing, wait for a readiness event newer than
            // the last one this task saw (async-io's contract).
            match self.rx.get_ref().rx().recv_len(buf, Mode::NonBlocking) {
                Err(RecvError::WouldBlock) => {}
                other => return Poll::Ready(other),
            }
            ready!(self.rx.poll_readable(cx)).map_err(recv_io_error)?;
        }
    }

    fn requester(&self) -> MutexGuard<'_, OwnedRequester> {
        // A request that panicked left no state behind but the sequence
        // number, which the next request moves on from.
        self.tx.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async_request_methods!();
}

/// The receive socket.
impl AsFd for AsyncPeer {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.rx.get_ref().as_fd()
    }
}

/// The receive socket.
impl AsRawFd for AsyncPeer {
    fn as_raw_fd(&self) -> RawFd {
        self.rx.get_ref().as_raw_fd()
    }
}

/// The [`Stream`](futures_core::Stream) of [`AsyncPeer::messages`]: owned
/// messages, received into a buffer of [`RECV_BUFFER_SIZE`] bytes that
/// it keeps.
#[derive(Debug)]
pub struct Messages<'a> {
    peer: &'a AsyncPeer,
    buf: Vec<u8>,
}

impl futures_core::Stream for Messages<'_> {
    type Item = Result<OwnedMessage, RecvError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let got = ready!(this.peer.poll_recv(cx, &mut this.buf));
        Poll::Ready(Some(got.map(OwnedMessage::from)))
    }
}

fn io_error(e: std::io::Error) -> Error {
    Error::Io(rustix::io::Errno::from_io_error(&e).unwrap_or(rustix::io::Errno::IO))
}

fn recv_io_error(e: std::io::Error) -> RecvError {
    RecvError::Io(rustix::io::Errno::from_io_error(&e).unwrap_or(rustix::io::Errno::IO))
}
