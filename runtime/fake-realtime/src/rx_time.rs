//! When the kernel received what a TCP socket reads, for latency
//! measurements that must not charge the reader's own scheduling delay to
//! the writer.
//!
//! A benchmark that takes a frame's receive time when its own code gets
//! round to the frame also counts the time the frame sat in the socket
//! while the reader's event loop served other sockets. [`RxTimedStream`]
//! reads with `recvmsg` on a socket with `SO_TIMESTAMPNS` set, so every read
//! also returns the time the kernel took the newest packet it read in
//! (for loopback, while the sender's `send` call hands the packet to the
//! receiving side), and keeps it in an [`RxClock`].
//!
//! The time stamp is `CLOCK_REALTIME`, the clock of
//! [`signal::clock_ns`](crate::signal::clock_ns), so the two subtract.
//!
//! A frame's receive time is that of the read that completed it. When one
//! read takes in several frames (or the start of the next one), all get the
//! time of the newest packet read, which is never earlier than their own
//! arrival: latencies so measured can only be overstated.

use std::io::{self, IoSliceMut, Write as _};
use std::net::Shutdown;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};

use nix::sys::socket::{self, ControlMessageOwned, MsgFlags, sockopt};
use nix::sys::time::TimeSpec;
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The kernel receive time of the latest read of an [`RxTimedStream`].
#[derive(Debug, Clone, Default)]
pub struct RxClock(Arc<AtomicU64>);

impl RxClock {
    /// Nanoseconds since the Unix epoch (`CLOCK_REALTIME`) at which the
    /// kernel received the newest packet of the latest read; `None` when
    /// that read carried no time stamp (nothing read yet, or packets that
    /// were received before time stamping was on).
    pub fn last_ns(&self) -> Option<u64> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            ns => Some(ns),
        }
    }

    fn set(&self, ns: Option<u64>) {
        self.0.store(ns.unwrap_or(0), Ordering::Relaxed);
    }
}

/// A TCP stream whose reads record their kernel receive time.
///
/// Reads and writes cost the system calls tokio's own `TcpStream` makes:
/// in particular a read that does not fill the buffer marks the socket
/// drained, so the next read waits for the reactor instead of finding
/// nothing (`AsyncFd` gives the hold on readiness that needs).
#[derive(Debug)]
pub struct RxTimedStream {
    inner: AsyncFd<std::net::TcpStream>,
    clock: RxClock,
    control: Vec<u8>,
}

impl RxTimedStream {
    /// Turns on kernel receive time stamps (`SO_TIMESTAMPNS`) for `stream`.
    pub fn new(stream: TcpStream) -> io::Result<Self> {
        socket::setsockopt(&stream, sockopt::ReceiveTimestampns, &true)?;
        // Still non-blocking, as tokio left it.
        let stream = stream.into_std()?;
        // SAFETY: the `AsyncFd` owns the stream, whose descriptor stays open
        // and the same until the `AsyncFd` is dropped: nothing here hands
        // out the stream mutably or takes it back out.
        #[allow(unsafe_code)]
        let inner = unsafe { AsyncFd::register(stream) }.map_err(io::Error::from)?;
        Ok(RxTimedStream {
            inner,
            clock: RxClock::default(),
            control: nix::cmsg_space!(TimeSpec),
        })
    }

    /// The receive time of the latest read; shared with every clone.
    pub fn clock(&self) -> RxClock {
        self.clock.clone()
    }
}

/// One non-blocking `recvmsg` into `dst`: the bytes read and the kernel
/// receive time of the newest packet among them, if it carried one.
fn recv_timed(fd: RawFd, dst: &mut [u8], control: &mut [u8]) -> io::Result<(usize, Option<u64>)> {
    let mut iov = [IoSliceMut::new(dst)];
    let msg = socket::recvmsg::<()>(fd, &mut iov, Some(control), MsgFlags::empty())?;
    let mut at = None;
    // A truncated control buffer cannot happen with room for the one
    // message asked for; if it did, the read simply has no time.
    if let Ok(cmsgs) = msg.cmsgs() {
        for cmsg in cmsgs {
            if let ControlMessageOwned::ScmTimestampns(ts) = cmsg {
                at = u64::try_from(ts.tv_sec())
                    .ok()
                    .zip(u64::try_from(ts.tv_nsec()).ok())
                    .map(|(s, ns)| s * 1_000_000_000 + ns);
            }
        }
    }
    Ok((msg.bytes, at))
}

impl AsyncRead for RxTimedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            let mut ready = ready!(this.inner.poll_read_ready(cx))?;
            let control = &mut this.control;
            let dst = buf.initialize_unfilled();
            let room = dst.len();
            match ready.try_io(|fd| recv_timed(fd.as_raw_fd(), dst, control)) {
                Ok(Ok((n, at))) => {
                    // Edge-triggered readiness: a short read drained the
                    // socket, and bytes arriving after it raise a new edge.
                    if n > 0 && n < room {
                        ready.clear_ready();
                    }
                    this.clock.set(at);
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                // Readiness was cleared: wait for the socket again.
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for RxTimedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut ready = ready!(self.inner.poll_write_ready(cx))?;
            match ready.try_io(|fd| fd.get_ref().write(buf)) {
                Ok(result) => return Poll::Ready(result),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut ready = ready!(self.inner.poll_write_ready(cx))?;
            match ready.try_io(|fd| fd.get_ref().write_vectored(bufs)) {
                Ok(result) => return Poll::Ready(result),
                Err(_would_block) => continue,
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Writes go straight into the socket.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.inner.get_ref().shutdown(Shutdown::Write))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn reads_carry_the_kernel_receive_time_on_the_stamp_clock() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut writer = TcpStream::connect(addr).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        let mut reader = RxTimedStream::new(accepted).unwrap();
        let clock = reader.clock();
        assert_eq!(clock.last_ns(), None, "nothing read yet");
        // The kernel turns time stamping on shortly after the first socket
        // asks for it (from a work queue): packets before that have none.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let mut buf = [0u8; 16];
        for round in 0..3u8 {
            let before = signal::clock_ns();
            writer.write_all(&[round; 5]).await.unwrap();
            // Received before this sleep; read after it.
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            let n = reader.read(&mut buf).await.unwrap();
            let read_at = signal::clock_ns();
            assert_eq!(&buf[..n], &[round; 5]);
            reader.write_all(&[round + 1; 3]).await.unwrap();
            let mut answer = [0u8; 3];
            writer.read_exact(&mut answer).await.unwrap();
            assert_eq!(answer, [round + 1; 3]);
            let at = clock.last_ns().expect("a time stamped read");
            assert!(before <= at, "received after it was sent");
            assert!(
                read_at - at >= 25_000_000,
                "the kernel's time, not the reader's: {} ms before the read",
                (read_at - at) as f64 / 1e6
            );
        }
        // A read that waits for the bytes (after short reads marked the
        // socket drained) wakes when they come.
        let (n, ()) = tokio::join!(reader.read(&mut buf), async {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            writer.write_all(b"late").await.unwrap();
        });
        assert_eq!(&buf[..n.unwrap()], b"late");
        writer.shutdown().await.unwrap();
        assert_eq!(reader.read(&mut buf).await.unwrap(), 0);
    }
}
