//! Probes of the documented per-end semantics (AnyIO's `test_streams.py`): cloning a closed
//! end, what closing the last receiver does to buffered items and blocked senders, which error
//! wins when both apply, the statistics while tasks wait, and the `Stream` impl ending when its
//! clone is closed.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use anyscope_core::stream::{RecvError, channel};
use anyscope_core::{CancelScope, sleep, spawn};
use futures_util::{Stream, StreamExt};

use crate::fixtures::join;
use crate::support::wait_until;

/// Counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Cloning a closed end gives a closed end, and does not reopen the side: a closed last
/// receiver cloned still leaves senders broken; a closed sender cloned cannot send.
pub async fn cloning_a_closed_end_gives_a_closed_end() {
    let (tx, rx) = channel::<u8>(2);
    rx.close();
    let rx2 = rx.clone();
    assert!(rx2.is_closed());
    assert!(rx2.recv().await.unwrap_err().is_closed());
    assert!(tx.try_send(1).unwrap_err().is_broken());
    assert_eq!(tx.statistics().open_receive_streams, 0);

    let (tx, rx) = channel::<u8>(2);
    let keep = tx.clone();
    tx.close();
    let tx2 = tx.clone();
    assert!(tx2.is_closed());
    assert!(tx2.send(1).await.unwrap_err().is_closed());
    assert_eq!(rx.statistics().open_send_streams, 1);
    drop(keep);
    assert!(rx.recv().await.unwrap_err().is_end_of_stream());
}

/// Closing the last receiver drops the buffered items at once (nobody can receive them) and
/// fails a sender blocked on the full buffer with `Broken`, its item given back.
pub async fn closing_the_last_receiver_drops_buffered_items_and_breaks_blocked_sender() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = channel::<Counted>(2);
    tx.try_send(Counted(drops.clone())).unwrap();
    tx.try_send(Counted(drops.clone())).unwrap();
    let tx2 = tx.clone();
    let d = drops.clone();
    let blocked = spawn(async move {
        let err = tx2.send(Counted(d)).await.unwrap_err();
        assert!(err.is_broken());
        err.into_inner()
    });
    wait_until("the sender blocks", || tx.statistics().tasks_waiting_send == 1).await;
    rx.close();
    assert_eq!(drops.load(Ordering::SeqCst), 2, "buffered items dropped when the receiver closed");
    let back = join(blocked).await;
    assert_eq!(drops.load(Ordering::SeqCst), 2, "the blocked item came back, not dropped");
    drop(back);
    assert!(tx.try_send(Counted(drops.clone())).unwrap_err().is_broken());
    assert_eq!(tx.statistics().current_buffer_used, 0);
}

/// A closed receiver reports `Closed`, not end-of-stream, even when every sender is gone too;
/// a closed sender reports `Closed`, not `Broken`, even when every receiver is gone too.
pub async fn closed_clone_wins_over_the_other_side_gone() {
    let (tx, rx) = channel::<u8>(1);
    rx.close();
    drop(tx);
    assert_eq!(rx.recv().await, Err(RecvError::Closed));
    assert!(rx.try_recv().unwrap_err().is_closed());
    let (tx, rx) = channel::<u8>(1);
    tx.close();
    drop(rx);
    assert!(tx.send(1).await.unwrap_err().is_closed());
    assert!(tx.try_send(1).unwrap_err().is_closed());
}

/// The statistics count waiting tasks while they wait and forget them when they are
/// cancelled; a closed clone no longer counts as open.
pub async fn statistics_follow_waiters_and_clones() {
    let (tx, rx) = channel::<u8>(0);
    let rx2 = rx.clone();
    let tx2 = tx.clone();
    assert_eq!((rx.statistics().open_send_streams, rx.statistics().open_receive_streams), (2, 2));
    let (scope, stop) = (CancelScope::new(), CancelScope::new());
    let (s1, s2) = (scope.clone(), stop.clone());
    let waiting = spawn(async move { s1.run(rx2.recv()).await });
    wait_until("a receiver waits", || tx.statistics().tasks_waiting_receive == 1).await;
    scope.cancel();
    assert!(join(waiting).await.is_none());
    assert_eq!(tx.statistics().tasks_waiting_receive, 0);
    assert_eq!(tx.statistics().open_receive_streams, 1, "the receiver clone was dropped");
    let sending = spawn(async move { s2.run(tx2.send(7)).await });
    wait_until("a sender waits", || rx.statistics().tasks_waiting_send == 1).await;
    stop.cancel();
    assert!(join(sending).await.is_none());
    let s = rx.statistics();
    assert_eq!((s.tasks_waiting_send, s.open_send_streams, s.current_buffer_used), (0, 1, 0));
    assert!(rx.try_recv().unwrap_err().is_would_block(), "the withdrawn item is not delivered");
    tx.close();
    assert_eq!(rx.statistics().open_send_streams, 0);
}

/// The `Stream` impl ends when its clone is closed, even though senders remain and items are
/// buffered; another receiver clone still gets them.
pub async fn stream_ends_when_its_clone_is_closed() {
    let (tx, rx) = channel::<u8>(4);
    let mut rx2 = rx.clone();
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert_eq!(rx2.next().await, Some(1));
    rx2.close();
    assert_eq!(rx2.next().await, None);
    assert_eq!(rx.recv().await, Ok(2));
    let mut rx = rx;
    let t = spawn(async move {
        sleep(Duration::from_millis(5)).await;
        drop(tx);
    });
    assert_eq!(rx.next().await, None, "end of stream when the last sender goes");
    join(t).await;
}

/// A clone whose `Stream` poll is waiting is promised the next item; closed (and kept, not
/// polled again), it passes that item on: another receiver gets it, nothing is stuck behind
/// the closed clone.
pub async fn closing_a_clone_with_a_waiting_stream_poll_passes_its_item_on() {
    let (tx, rx) = channel::<u8>(4);
    let mut rx1 = rx.clone();
    let first = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut rx1).poll_next(cx))).await;
    assert!(first.is_pending(), "nothing to receive yet: the stream waits");
    tx.try_send(1).unwrap();
    rx1.close();
    let got = anyscope_core::fail_after(Duration::from_secs(10), rx.recv()).await;
    assert_eq!(got, Ok(Ok(1)), "the item promised to the closed clone went on");
    assert_eq!(rx1.next().await, None);
    drop(rx1);
}
