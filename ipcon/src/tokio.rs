// SPDX-License-Identifier: MIT OR Apache-2.0
//! Tokio integration (feature `tokio`): [`AsyncPeer`], a peer whose
//! receives are futures on Tokio's reactor.
//!
//! Receiving waits for the readiness of the peer's receive socket
//! ([`tokio::io::unix::AsyncFd`]) and then reads without blocking.
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
//! use ipcon::tokio::AsyncPeer;
//! use ipcon::{Message, RECV_BUFFER_SIZE};
//!
//! # async fn serve() -> Result<(), ipcon::Error> {
//! let peer = Arc::new(AsyncPeer::open()?);
//! peer.register_service("demo.echo").await?;
//! let mut buf = vec![0u8; RECV_BUFFER_SIZE];
//! loop {
//!     if let Message::Unicast(req) = peer.recv(&mut buf).await? {
//!         let (peer, id, data) = (peer.clone(), req.sender.id, req.data.to_vec());
//!         tokio::spawn(async move { peer.send_to_id(id, &data).await });
//!     }
//! }
//! # }
//! ```

use core::pin::Pin;
use core::task::{ready, Context, Poll};
use std::sync::{Mutex, MutexGuard, PoisonError};

use ::tokio::io::unix::AsyncFd;
use alloc::vec::Vec;
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use crate::peer::Mode;
use crate::policy::{self, Rule};
use crate::{
    Error, GroupFlags, GroupInfo, JoinFlags, Message, OwnedMessage, OwnedReceiver, OwnedRequester,
    Owner, Peer, RecvError, ServiceInfo, Target, RECV_BUFFER_SIZE,
};

/// A [`Peer`] for Tokio: `recv().await`, `async` requests, and a
/// [`Stream`](futures_core::Stream) of messages ([`messages`](Self::messages)).
///
/// Every method takes `&self`: share the peer between tasks with an
/// `Arc`. Receives may run in several tasks at once (each delivery goes
/// to one of them); requests take turns on the peer's control socket
/// behind a lock that is held for the two system calls of the request
/// and never across an `.await`, so a request never waits for a receive.
///
/// Created inside a Tokio runtime with its I/O driver enabled
/// ([`tokio::io::unix::AsyncFd`] needs one).
#[derive(Debug)]
pub struct AsyncPeer {
    rx: AsyncFd<OwnedReceiver>,
    tx: Mutex<OwnedRequester>,
}

impl AsyncPeer {
    /// Open a peer ([`Peer::open`]) and register its receive socket with
    /// the runtime.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime, as [`AsyncFd::new`] does.
    pub fn open() -> Result<Self, Error> {
        Self::new(Peer::open()?)
    }

    /// Use `peer` with Tokio. The receive socket is not switched to
    /// non-blocking mode (receives ask the kernel not to wait, one by
    /// one), so [`into_peer`](Self::into_peer) gives back a peer that
    /// blocks as before.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime, as [`AsyncFd::new`] does.
    pub fn new(peer: Peer) -> Result<Self, Error> {
        let (tx, rx) = peer.into_split();
        // Tokio 1.54 deprecates `AsyncFd::new` for the `unsafe`
        // `AsyncFd::register`, whose contract is that `as_raw_fd` names the
        // same open descriptor for the AsyncFd's whole life. The receiving
        // half owns its socket (an `OwnedFd`, never replaced) until it is
        // dropped or taken back with `into_inner`, so that holds here, and
        // the crate stays free of `unsafe`.
        #[allow(deprecated)]
        let rx = AsyncFd::new(rx).map_err(io_error)?;
        Ok(AsyncPeer {
            rx,
            tx: Mutex::new(tx),
        })
    }

    /// The [`Peer`] back, deregistered from the runtime.
    pub fn into_peer(self) -> Peer {
        let rx = self.rx.into_inner();
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
    /// For a timeout, wrap it in `tokio::time::timeout`.
    ///
    /// Several tasks may wait in `recv` on one peer at once: each is woken
    /// (Tokio's `AsyncFd::readable`), and each delivery goes to one of them.
    pub async fn recv<'b>(&self, buf: &'b mut [u8]) -> Result<Message<'b>, RecvError> {
        let len = loop {
            let mut ready = self.rx.readable().await.map_err(recv_io_error)?;
            match self.rx.get_ref().rx().recv_len(buf, Mode::NonBlocking) {
                // Nothing after all (another task took it): wait again.
                Err(RecvError::WouldBlock) => ready.clear_ready(),
                other => break other?,
            }
        };
        self.rx.get_ref().rx().parse(buf, len)
    }

    /// Poll for the next delivery into `buf`, for hand-written futures
    /// and streams: `Pending` registers `cx`'s waker with the reactor. As
    /// with Tokio's `poll_read_ready`, only the waker of the last call is
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
            let mut ready = ready!(self.rx.poll_read_ready(cx)).map_err(recv_io_error)?;
            match self.rx.get_ref().rx().recv_len(buf, Mode::NonBlocking) {
                // Nothing after all (another task took it): wait again.
                Err(RecvError::WouldBlock) => ready.clear_ready(),
                other => return Poll::Ready(other),
            }
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
        self.rx.as_raw_fd()
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
