//! AnyIO's `tests/streams/test_memory.py`, the cases not already ported: the non-blocking
//! calls against waiting tasks (a rendezvous `try_send` to waiting receivers, a `try_recv`
//! from a blocked sender, a `try_recv` that frees a slot for a blocked sender), a `send`/`recv`
//! inside an already cancelled scope, an item sent to a receiver whose scope was just cancelled,
//! and iteration ending when the last sender clone closes.

use std::sync::Arc;
use std::time::Duration;

use anyscope_core::stream::{TryRecvError, channel};
use anyscope_core::{CancelScope, fail_after, spawn};
use futures_util::StreamExt;

use crate::fixtures::join;
use crate::support::wait_until;

/// A scope cancelled before it runs anything.
fn cancelled_scope() -> CancelScope {
    let scope = CancelScope::new();
    scope.cancel();
    scope
}

/// `test_receive_then_send_nowait`: in a rendezvous, `try_send` succeeds at once for each
/// receiver already waiting, and each waiting receiver gets exactly one of the items.
pub async fn rendezvous_try_send_hands_items_to_waiting_receivers() {
    let (tx, rx) = channel::<&'static str>(0);
    let rx = Arc::new(rx);
    let receivers: Vec<_> = (1..=2)
        .map(|_| {
            let rx = Arc::clone(&rx);
            spawn(async move { rx.recv().await.unwrap() })
        })
        .collect();
    wait_until("both receivers wait", || rx.statistics().tasks_waiting_receive == 2).await;
    tx.try_send("hello").unwrap();
    tx.try_send("anyio").unwrap();
    assert!(tx.try_send("third").unwrap_err().is_would_block(), "no receiver left waiting");
    let mut got = Vec::new();
    for r in receivers {
        got.push(join(r).await);
    }
    got.sort_unstable();
    assert_eq!(got, ["anyio", "hello"]);
    assert_eq!(rx.try_recv(), Err(TryRecvError::WouldBlock), "nothing left behind");
}

/// `test_send_then_receive_nowait`: in a rendezvous, `try_recv` takes the item of a blocked
/// sender, whose send then completes.
pub async fn rendezvous_try_recv_takes_from_a_blocked_sender() {
    let (tx, rx) = channel::<&'static str>(0);
    let tx = Arc::new(tx);
    let tx2 = Arc::clone(&tx);
    let sender = spawn(async move { tx2.send("hello").await });
    wait_until("the sender waits", || tx.statistics().tasks_waiting_send == 1).await;
    assert_eq!(rx.try_recv(), Ok("hello"));
    assert_eq!(join(sender).await, Ok(()));
    assert_eq!(rx.try_recv(), Err(TryRecvError::WouldBlock));
}

/// `test_send_is_unblocked_after_receive_nowait`: a `try_recv` on a full buffer lets the
/// blocked sender complete, and its item is received next. The freed slot is the blocked
/// sender's: a newcomer's `try_send` does not barge past it.
pub async fn try_recv_unblocks_a_sender_on_a_full_buffer() {
    let (tx, rx) = channel::<&'static str>(1);
    let tx = Arc::new(tx);
    tx.try_send("hello").unwrap();
    let tx2 = Arc::clone(&tx);
    let sender = spawn(async move { tx2.send("anyio").await });
    wait_until("the sender waits", || tx.statistics().tasks_waiting_send == 1).await;
    assert_eq!(rx.try_recv(), Ok("hello"));
    assert!(tx.try_send("newcomer").unwrap_err().is_would_block(), "the slot is the blocked sender's");
    let sent = fail_after(Duration::from_secs(30), sender).await;
    assert_eq!(sent.expect("the blocked send completes").unwrap(), Ok(()));
    assert_eq!(rx.try_recv(), Ok("anyio"));
    assert_eq!(rx.try_recv(), Err(TryRecvError::WouldBlock));
}

/// `test_receive_when_cancelled`: a `recv` inside an already cancelled scope takes nothing,
/// even with senders blocked and ready to hand over; the items then arrive in order.
pub async fn recv_in_a_cancelled_scope_takes_nothing() {
    let (tx, rx) = channel::<&'static str>(0);
    let tx = Arc::new(tx);
    let mut senders = Vec::new();
    for (n, item) in [(1, "hello"), (2, "world")] {
        let tx2 = Arc::clone(&tx);
        senders.push(spawn(async move { tx2.send(item).await }));
        wait_until("the sender waits", || tx.statistics().tasks_waiting_send == n).await;
    }
    let scope = cancelled_scope();
    assert_eq!(scope.run(rx.recv()).await, None);
    assert!(scope.cancelled_caught());
    assert_eq!(rx.statistics().tasks_waiting_send, 2, "both items still with their senders");
    assert_eq!(rx.recv().await, Ok("hello"));
    assert_eq!(rx.recv().await, Ok("world"));
    for s in senders {
        assert_eq!(join(s).await, Ok(()));
    }
}

/// `test_send_when_cancelled`: a `send` inside an already cancelled scope sends nothing, even
/// to a receiver already waiting; that receiver gets the next item sent.
pub async fn send_in_a_cancelled_scope_sends_nothing() {
    let (tx, rx) = channel::<&'static str>(0);
    let rx = Arc::new(rx);
    let rx2 = Arc::clone(&rx);
    let receiver = spawn(async move { rx2.recv().await });
    wait_until("the receiver waits", || rx.statistics().tasks_waiting_receive == 1).await;
    let scope = cancelled_scope();
    assert!(scope.run(tx.send("hello")).await.is_none());
    assert_eq!(tx.statistics().tasks_waiting_send, 0);
    assert_eq!(tx.statistics().current_buffer_used, 0);
    tx.send("world").await.unwrap();
    assert_eq!(join(receiver).await, Ok("world"));
}

/// `test_cancel_during_receive_buffered` and `test_send_to_natively_cancelled_receiver`: an
/// item sent to a waiting receiver whose scope has just been cancelled (it has not run since)
/// is not lost with it: it goes to the next waiting receiver, or stays in the stream.
pub async fn item_sent_to_a_just_cancelled_receiver_goes_to_the_next() {
    // Alone: the item stays in the stream.
    let (tx, rx) = channel::<&'static str>(1);
    let rx = Arc::new(rx);
    let scope = CancelScope::new();
    let (rx2, s2) = (Arc::clone(&rx), scope.clone());
    let cancelled = spawn(async move { s2.run(rx2.recv()).await });
    wait_until("the receiver waits", || rx.statistics().tasks_waiting_receive == 1).await;
    scope.cancel();
    tx.try_send("item").unwrap();
    assert_eq!(join(cancelled).await, None, "a receive in a cancelled scope does not complete");
    assert_eq!(rx.try_recv(), Ok("item"));

    // With another receiver waiting behind it: that one gets the item.
    let scope = CancelScope::new();
    let (rx2, s2) = (Arc::clone(&rx), scope.clone());
    let cancelled = spawn(async move { s2.run(rx2.recv()).await });
    wait_until("the first receiver waits", || rx.statistics().tasks_waiting_receive == 1).await;
    let rx3 = Arc::clone(&rx);
    let next = spawn(async move { rx3.recv().await });
    wait_until("the second receiver waits", || rx.statistics().tasks_waiting_receive == 2).await;
    scope.cancel();
    tx.try_send("passed on").unwrap();
    assert_eq!(join(cancelled).await, None);
    assert_eq!(join(next).await, Ok("passed on"));
    assert_eq!(rx.try_recv(), Err(TryRecvError::WouldBlock));
    assert_eq!(rx.statistics().tasks_waiting_receive, 0);
}

/// `test_iterate`: iterating the receiver (its `Stream`) yields every item in order, through a
/// rendezvous, and ends only when the last sender clone is closed.
pub async fn iteration_ends_when_the_last_sender_closes() {
    let (tx, mut rx) = channel::<&'static str>(0);
    let tx2 = tx.clone();
    let iterating = spawn(async move {
        let mut got = Vec::new();
        while let Some(item) = rx.next().await {
            got.push(item);
        }
        got
    });
    tx.send("hello").await.unwrap();
    tx.close();
    // A rendezvous: this send completes only if the iteration, still going, takes it.
    tx2.send("anyio").await.unwrap();
    tx2.close();
    assert_eq!(join(iterating).await, ["hello", "anyio"]);
}
