//! Write-through for a socket that several tasks write to.
//!
//! A message handed to an [`Outbox`] goes into the socket at once, in the
//! caller's task, when nothing is queued ahead of it and the socket takes it
//! without waiting: one write and no task hop per audio frame, where a
//! writer task fed by a channel costs a wake-up, a context switch and often
//! a futex call per frame on top of the write. Only when the socket pushes
//! back (a slow peer, a full send buffer, the reading half busy on another
//! thread) do messages queue, in order, for [`Outbox::run`], which waits for
//! the socket with a real waker. Nothing is held back to be batched: a
//! message is written as soon as the socket takes it.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures::{Sink, SinkExt};
use tokio::sync::Notify;

type BoxSink<T> = Pin<Box<dyn Sink<T, Error = String> + Send>>;

/// Messages that had to queue because the socket was not free, process-wide.
static QUEUED: AtomicU64 = AtomicU64::new(0);

/// How many messages so far, in all outboxes of the process, could not be
/// written through whole (queued, or left in the socket's buffer unflushed)
/// and waited for a writer.
pub fn queued_total() -> u64 {
    QUEUED.load(Ordering::Relaxed)
}

/// The sending half of a socket, shared by the tasks that write to it.
pub struct Outbox<T> {
    state: Mutex<State<T>>,
    wake: Notify,
}

struct State<T> {
    sink: BoxSink<T>,
    /// Messages waiting for the socket; while any wait, new ones queue
    /// behind them so order is kept.
    queue: VecDeque<T>,
    /// The socket holds written bytes not yet flushed: the writer owns it
    /// until they are.
    unflushed: bool,
    /// A close was asked for: after the queue, the socket is closed.
    closing: bool,
    /// The socket is closed or failed; why.
    ended: Option<String>,
}

impl<T: Send + 'static> Outbox<T> {
    /// Takes over the sending half of a socket; errors are described by `describe`.
    pub fn new<S>(sink: S, describe: fn(S::Error) -> String) -> Arc<Self>
    where
        S: Sink<T> + Send + 'static,
    {
        Arc::new(Outbox {
            state: Mutex::new(State {
                sink: Box::pin(sink.sink_map_err(describe)),
                queue: VecDeque::new(),
                unflushed: false,
                closing: false,
                ended: None,
            }),
            wake: Notify::new(),
        })
    }

    /// Sends `item`: written through when the socket is free, queued for
    /// [`Outbox::run`] otherwise. Fails once the socket failed or a close
    /// was asked for.
    pub fn send(&self, item: T) -> Result<(), String> {
        let mut st = self.state.lock().expect("outbox lock");
        if let Some(e) = &st.ended {
            return Err(e.clone());
        }
        if st.closing {
            return Err("the socket is closing".into());
        }
        if !st.queue.is_empty() || st.unflushed {
            QUEUED.fetch_add(1, Ordering::Relaxed);
            st.queue.push_back(item);
            drop(st);
            self.wake.notify_one();
            return Ok(());
        }
        // A waker that does nothing: whatever does not complete now is
        // handed to the writer, which polls again with its own.
        let mut cx = Context::from_waker(Waker::noop());
        let st = &mut *st;
        match st.sink.as_mut().poll_ready(&mut cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Err(self.fail(st, e)),
            Poll::Pending => {
                QUEUED.fetch_add(1, Ordering::Relaxed);
                st.queue.push_back(item);
                self.wake.notify_one();
                return Ok(());
            }
        }
        if let Err(e) = st.sink.as_mut().start_send(item) {
            return Err(self.fail(st, e));
        }
        match st.sink.as_mut().poll_flush(&mut cx) {
            Poll::Ready(Ok(())) => Ok(()),
            Poll::Ready(Err(e)) => Err(self.fail(st, e)),
            Poll::Pending => {
                QUEUED.fetch_add(1, Ordering::Relaxed);
                st.unflushed = true;
                self.wake.notify_one();
                Ok(())
            }
        }
    }

    /// Flushes what the socket holds (such as a pong it queued itself).
    pub fn flush(&self) {
        let mut st = self.state.lock().expect("outbox lock");
        st.unflushed = true;
        drop(st);
        self.wake.notify_one();
    }

    /// Sends `last` if any after what is queued, then closes the socket;
    /// later sends fail. [`Outbox::run`] returns once it is closed.
    pub fn close(&self, last: Option<T>) {
        let mut st = self.state.lock().expect("outbox lock");
        if st.ended.is_none() && !st.closing {
            st.queue.extend(last);
            st.closing = true;
        }
        drop(st);
        self.wake.notify_one();
    }

    fn fail(&self, st: &mut State<T>, e: String) -> String {
        st.ended = Some(e.clone());
        st.queue.clear();
        self.wake.notify_one();
        e
    }

    /// Writes what the socket could not take at once, until the socket is
    /// closed (`Ok`) or fails (`Err`). One task runs it per socket.
    pub async fn run(&self) -> Result<(), String> {
        loop {
            if let Some(end) = std::future::poll_fn(|cx| self.drive(cx)).await {
                return end;
            }
            self.wake.notified().await;
        }
    }

    /// `Ready(None)`: nothing left to do until the next wake.
    fn drive(&self, cx: &mut Context<'_>) -> Poll<Option<Result<(), String>>> {
        let mut st = self.state.lock().expect("outbox lock");
        let st = &mut *st;
        if let Some(e) = &st.ended {
            return Poll::Ready(Some(if st.closing { Ok(()) } else { Err(e.clone()) }));
        }
        while !st.queue.is_empty() {
            match st.sink.as_mut().poll_ready(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(self.fail(st, e)))),
                Poll::Pending => return Poll::Pending,
            }
            let item = st.queue.pop_front().expect("not empty");
            st.unflushed = true;
            if let Err(e) = st.sink.as_mut().start_send(item) {
                return Poll::Ready(Some(Err(self.fail(st, e))));
            }
        }
        if st.unflushed {
            match st.sink.as_mut().poll_flush(cx) {
                Poll::Ready(Ok(())) => st.unflushed = false,
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(self.fail(st, e)))),
                Poll::Pending => return Poll::Pending,
            }
        }
        if st.closing {
            let end = match st.sink.as_mut().poll_close(cx) {
                Poll::Ready(r) => r,
                Poll::Pending => return Poll::Pending,
            };
            st.ended = Some("the socket is closed".into());
            return Poll::Ready(Some(end));
        }
        Poll::Ready(None)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures::StreamExt;
    use futures::channel::mpsc;

    use super::*;

    #[tokio::test]
    async fn messages_keep_their_order_through_push_back_and_close() {
        // A channel of one slot pushes back at once, so most sends queue.
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let outbox = Outbox::new(tx, |e| e.to_string());
        let writer = tokio::spawn({
            let outbox = outbox.clone();
            async move { outbox.run().await }
        });
        for i in 0..100 {
            outbox.send(i).unwrap();
        }
        outbox.close(Some(100));
        assert!(outbox.send(101).is_err(), "sends after close fail");
        let got: Vec<u32> = tokio::time::timeout(Duration::from_secs(5), rx.by_ref().collect())
            .await
            .unwrap();
        assert_eq!(got, (0..=100).collect::<Vec<_>>());
        assert_eq!(writer.await.unwrap(), Ok(()));
    }

    #[tokio::test]
    async fn a_failed_socket_fails_sends_and_ends_the_writer() {
        let (tx, rx) = mpsc::channel::<u32>(4);
        drop(rx);
        let outbox = Outbox::new(tx, |_| "gone".to_string());
        assert_eq!(outbox.send(1), Err("gone".into()));
        assert_eq!(outbox.send(2), Err("gone".into()));
        assert_eq!(outbox.run().await, Err("gone".into()));
    }
}
