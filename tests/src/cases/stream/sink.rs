//! Probes of the documented `Sink` impl of the sending end: an item kept by `start_send` until
//! flushed (keeping its place once polled, staying kept when a flush is cut off), returned as
//! `Closed` when its sender clone is closed (unless a receiver had taken it), withdrawn when its
//! sender is dropped, and `poll_close` flushing before it closes.

use std::time::Duration;

use anyscope_core::stream::{RecvError, Sender, TryRecvError, channel};
use anyscope_core::{move_on_after, spawn};
use futures_util::SinkExt;

use crate::fixtures::join;
use crate::support::wait_until;

/// Polls a flush of the kept item once it can queue, then cuts it off.
async fn queue_kept<T>(tx: &mut Sender<T>) {
    assert!(move_on_after(Duration::from_millis(20), tx.flush()).await.is_none(), "nobody took the item");
}

/// A full buffer: the item is kept; a flush cut off keeps it (queued, counted as a waiting
/// send); room lets the next flush complete; `close` (the `Sink`'s) flushes, then closes.
pub async fn sink_keeps_an_item_until_flushed_and_close_delivers_it() {
    let (mut tx, rx) = channel::<u32>(1);
    tx.feed(1).await.unwrap();
    tx.feed(2).await.unwrap();
    assert_eq!(tx.statistics().current_buffer_used, 1, "the second item is kept, not buffered");
    queue_kept(&mut tx).await;
    assert_eq!(tx.statistics().tasks_waiting_send, 1, "once polled, the kept item waits in the queue");
    assert!(tx.try_send(9).unwrap_err().is_would_block(), "no barging past the kept item");
    assert_eq!(rx.try_recv(), Ok(1));
    tx.flush().await.unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
    tx.feed(3).await.unwrap();
    SinkExt::close(&mut tx).await.unwrap();
    assert!(tx.is_closed());
    assert_eq!(rx.recv().await, Ok(3));
    assert_eq!(rx.recv().await, Err(RecvError::EndOfStream));
}

/// Closing the clone whose sink keeps a queued item: the item leaves the queue (a sender
/// behind it gets the next slot) and the next flush returns it as `Closed`.
pub async fn closing_a_sink_returns_its_kept_item_and_passes_the_slot_on() {
    let (mut tx, rx) = channel::<&'static str>(1);
    tx.feed("a").await.unwrap();
    tx.feed("b").await.unwrap();
    queue_kept(&mut tx).await;
    let tx2 = tx.clone();
    let behind = spawn(async move { tx2.send("c").await });
    wait_until("the other sender waits", || rx.statistics().tasks_waiting_send == 2).await;
    Sender::close(&tx);
    assert_eq!(rx.statistics().tasks_waiting_send, 1, "the kept item left the queue");
    let err = tx.flush().await.unwrap_err();
    assert!(err.is_closed());
    assert_eq!(err.into_inner(), "b");
    assert_eq!(rx.recv().await, Ok("a"));
    assert_eq!(join(behind).await, Ok(()));
    assert_eq!(rx.recv().await, Ok("c"));
    assert_eq!(rx.try_recv(), Err(TryRecvError::EndOfStream));
}

/// In a rendezvous, an item a receiver took from the sink before its clone was closed was
/// sent: the flush after the close reports success.
pub async fn closing_a_sink_after_its_item_was_taken_reports_it_sent() {
    let (mut tx, rx) = channel::<u8>(0);
    tx.feed(5).await.unwrap();
    queue_kept(&mut tx).await;
    assert_eq!(rx.try_recv(), Ok(5));
    Sender::close(&tx);
    assert!(tx.flush().await.is_ok(), "the item was taken: sent");
    assert_eq!(rx.try_recv(), Err(TryRecvError::EndOfStream));
}

/// A sender dropped with a kept (queued) item withdraws it: it is never delivered.
pub async fn dropping_a_sink_withdraws_its_kept_item() {
    let (mut tx, rx) = channel::<u32>(1);
    let keep = tx.clone();
    tx.feed(1).await.unwrap();
    tx.feed(2).await.unwrap();
    queue_kept(&mut tx).await;
    drop(tx);
    assert_eq!(rx.statistics().tasks_waiting_send, 0);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::WouldBlock), "the dropped sink's item was delivered");
    keep.try_send(3).unwrap();
    assert_eq!(rx.try_recv(), Ok(3));
}
