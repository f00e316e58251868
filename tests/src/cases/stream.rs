//! Area `stream`: memory object streams (bounded and rendezvous, per-clone close), with AnyIO's
//! cancel-safety guarantees.

mod anyio_memory;
mod ends;
mod sink;

pub use anyio_memory::*;
pub use ends::*;
pub use sink::*;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::fixtures::join;
use crate::support::wait_until;
use anyscope_core::stream::{RecvError, TryRecvError, channel};
use anyscope_core::{CancelScope, move_on_after, sleep, spawn};

/// The list of this area's cases.
#[doc(hidden)]
#[macro_export]
macro_rules! __cases_stream {
    ($runner:expr) => {
        $crate::__area!($runner; stream;
            buffered_items_survive_the_senders_closing,
            blocked_receiver_gets_end_of_stream_when_the_last_sender_closes,
            blocked_rendezvous_sender_gets_broken_when_the_last_receiver_closes,
            rendezvous_send_completes_only_when_taken,
            cancelled_blocked_send_withdraws_its_item,
            cancelled_blocked_buffered_send_withdraws_its_item,
            cancelled_receive_loses_no_item_and_leaves_no_phantom,
            clones_keep_the_stream_open,
            closing_a_clone_reports_closed_resource,
            send_to_no_receivers_returns_the_item,
            would_block_returns_the_item,
            senders_and_receivers_are_served_fifo,
            four_producers_four_consumers_move_100k_items,
            four_producers_four_consumers_rendezvous,
            cancellations_under_load_lose_and_duplicate_nothing,
            cancellations_under_load_rendezvous,
            cloning_a_closed_end_gives_a_closed_end,
            closing_the_last_receiver_drops_buffered_items_and_breaks_blocked_sender,
            closed_clone_wins_over_the_other_side_gone,
            statistics_follow_waiters_and_clones,
            stream_ends_when_its_clone_is_closed,
            closing_a_clone_with_a_waiting_stream_poll_passes_its_item_on,
            rendezvous_try_send_hands_items_to_waiting_receivers,
            rendezvous_try_recv_takes_from_a_blocked_sender,
            try_recv_unblocks_a_sender_on_a_full_buffer,
            recv_in_a_cancelled_scope_takes_nothing,
            send_in_a_cancelled_scope_sends_nothing,
            item_sent_to_a_just_cancelled_receiver_goes_to_the_next,
            iteration_ends_when_the_last_sender_closes,
            sink_keeps_an_item_until_flushed_and_close_delivers_it,
            closing_a_sink_returns_its_kept_item_and_passes_the_slot_on,
            closing_a_sink_after_its_item_was_taken_reports_it_sent,
            dropping_a_sink_withdraws_its_kept_item,
        );
    };
}

/// Items in the buffer are still received after every sender is gone; then end-of-stream.
pub async fn buffered_items_survive_the_senders_closing() {
    let (tx, rx) = channel(3);
    let tx2 = tx.clone();
    tx.send(1).await.unwrap();
    tx2.send(2).await.unwrap();
    drop(tx);
    tx2.close();
    assert_eq!(rx.statistics().open_send_streams, 0);
    assert_eq!(rx.recv().await, Ok(1));
    assert_eq!(rx.recv().await, Ok(2));
    assert_eq!(rx.recv().await, Err(RecvError::EndOfStream));
    assert_eq!(rx.try_recv(), Err(TryRecvError::EndOfStream));
}

/// A receiver blocked in `recv` gets end-of-stream when the last sender closes.
pub async fn blocked_receiver_gets_end_of_stream_when_the_last_sender_closes() {
    let (tx, rx) = channel::<u32>(1);
    let rx = Arc::new(rx);
    let rx2 = Arc::clone(&rx);
    let waiter = spawn(async move { rx2.recv().await });
    wait_until("the receiver waits", || rx.statistics().tasks_waiting_receive == 1).await;
    let tx2 = tx.clone();
    drop(tx);
    sleep(Duration::from_millis(5)).await;
    assert_eq!(rx.statistics().tasks_waiting_receive, 1, "a clone keeps the stream open");
    tx2.close();
    assert_eq!(join(waiter).await, Err(RecvError::EndOfStream));
}

/// A sender blocked on a rendezvous gets the "other side gone" error, with its item, when the
/// last receiver closes.
pub async fn blocked_rendezvous_sender_gets_broken_when_the_last_receiver_closes() {
    let (tx, rx) = channel(0);
    let tx = Arc::new(tx);
    let tx2 = Arc::clone(&tx);
    let sender = spawn(async move { tx2.send(String::from("item")).await });
    wait_until("the sender waits", || tx.statistics().tasks_waiting_send == 1).await;
    let rx2 = rx.clone();
    drop(rx);
    rx2.close();
    let err = join(sender).await.unwrap_err();
    assert!(err.is_broken());
    assert_eq!(err.into_inner(), "item");
    assert_eq!(tx.statistics().tasks_waiting_send, 0);
}

/// In a rendezvous a send completes only when a receiver takes the item.
pub async fn rendezvous_send_completes_only_when_taken() {
    let (tx, rx) = channel(0);
    let tx = Arc::new(tx);
    let tx2 = Arc::clone(&tx);
    let sender = spawn(async move { tx2.send(7).await });
    wait_until("the sender waits", || tx.statistics().tasks_waiting_send == 1).await;
    sleep(Duration::from_millis(5)).await;
    assert!(!sender.is_finished());
    assert_eq!(tx.statistics().current_buffer_used, 0);
    assert_eq!(rx.recv().await, Ok(7));
    join(sender).await.unwrap();
}

/// A cancelled blocked rendezvous send withdraws its item: it is never delivered.
pub async fn cancelled_blocked_send_withdraws_its_item() {
    let (tx, rx) = channel(0);
    let tx = Arc::new(tx);
    let scope = CancelScope::new();
    let (tx2, s2) = (Arc::clone(&tx), scope.clone());
    let sender = spawn(async move { s2.run(async move { tx2.send("withdrawn").await }).await });
    wait_until("the sender waits", || tx.statistics().tasks_waiting_send == 1).await;
    scope.cancel();
    assert!(join(sender).await.is_none());
    assert_eq!(tx.statistics().tasks_waiting_send, 0);
    assert_eq!(rx.try_recv(), Err(TryRecvError::WouldBlock));
    assert!(tx.try_send("next").unwrap_err().is_would_block(), "nobody receives");
}

/// Same with a full buffer: the buffered items stay, the withdrawn one is not delivered.
pub async fn cancelled_blocked_buffered_send_withdraws_its_item() {
    let (tx, rx) = channel(1);
    let tx = Arc::new(tx);
    tx.send(1).await.unwrap();
    let scope = CancelScope::new();
    let (tx2, s2) = (Arc::clone(&tx), scope.clone());
    let sender = spawn(async move { s2.run(async move { tx2.send(2).await }).await });
    wait_until("the sender waits", || tx.statistics().tasks_waiting_send == 1).await;
    scope.cancel();
    assert!(join(sender).await.is_none());
    assert!(tx.try_send(3).unwrap_err().is_would_block(), "the buffer is still full");
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::WouldBlock));
}

/// A cancelled receive loses no item and leaves no phantom receiver waiting.
pub async fn cancelled_receive_loses_no_item_and_leaves_no_phantom() {
    let (tx, rx) = channel(0);
    let rx = Arc::new(rx);
    let scope = CancelScope::new();
    let (rx2, s2) = (Arc::clone(&rx), scope.clone());
    let receiver = spawn(async move { s2.run(async move { rx2.recv().await }).await });
    wait_until("the receiver waits", || rx.statistics().tasks_waiting_receive == 1).await;
    scope.cancel();
    // Depending on timing, the cancel or the item reaches the receiver first: either it got
    // the item, or the item is still in the stream. Never both, never neither.
    let sent = tx.try_send(42);
    let got = join(receiver).await;
    assert_eq!(rx.statistics().tasks_waiting_receive, 0, "no phantom receiver");
    match (sent, got) {
        (Ok(()), Some(Ok(v))) => {
            assert_eq!(v, 42);
            assert_eq!(rx.try_recv(), Err(TryRecvError::WouldBlock));
        }
        (Ok(()), None) => assert_eq!(rx.try_recv(), Ok(42)),
        (Err(e), None) => {
            assert!(e.is_would_block(), "the receiver left before the send");
            assert_eq!(rx.try_recv(), Err(TryRecvError::WouldBlock));
        }
        (sent, got) => panic!("unexpected outcome: {sent:?} / {got:?}"),
    }
    // A send now has no receiver to be handed to: it would block, nothing is swallowed.
    assert!(tx.try_send(43).unwrap_err().is_would_block());
}

/// An end stays open while any clone of it is open.
pub async fn clones_keep_the_stream_open() {
    let (tx, rx) = channel(4);
    let (tx2, rx2) = (tx.clone(), rx.clone());
    assert_eq!(tx.statistics().open_send_streams, 2);
    assert_eq!(tx.statistics().open_receive_streams, 2);
    drop(tx);
    drop(rx);
    tx2.send(1).await.unwrap();
    assert_eq!(rx2.recv().await, Ok(1));
    let s = rx2.statistics();
    assert_eq!((s.open_send_streams, s.open_receive_streams), (1, 1));
    drop(tx2);
    assert_eq!(rx2.recv().await, Err(RecvError::EndOfStream));
}

/// Using a clone after closing it is "closed resource", distinct from the other side gone.
pub async fn closing_a_clone_reports_closed_resource() {
    let (tx, rx) = channel(1);
    let (tx2, rx2) = (tx.clone(), rx.clone());
    tx2.close();
    rx2.close();
    let err = tx2.send(1).await.unwrap_err();
    assert!(err.is_closed() && !err.is_broken());
    assert_eq!(err.into_inner(), 1);
    assert!(tx2.try_send(2).unwrap_err().is_closed());
    assert_eq!(rx2.recv().await, Err(RecvError::Closed));
    assert_eq!(rx2.try_recv(), Err(TryRecvError::Closed));
    // The other clones are unaffected.
    tx.send(3).await.unwrap();
    assert_eq!(rx.recv().await, Ok(3));
}

/// With every receiver gone a send fails at once and gives its item back.
pub async fn send_to_no_receivers_returns_the_item() {
    let (tx, rx) = channel(4);
    tx.send(vec![0]).await.unwrap();
    drop(rx);
    let err = tx.send(vec![1, 2]).await.unwrap_err();
    assert!(err.is_broken());
    assert_eq!(err.into_inner(), [1, 2]);
    assert_eq!(tx.statistics().current_buffer_used, 0, "nobody can receive the buffer");
}

/// The non-blocking variants say "would block", giving the item back.
pub async fn would_block_returns_the_item() {
    let (tx, rx) = channel(1);
    assert_eq!(rx.try_recv(), Err(TryRecvError::WouldBlock));
    tx.try_send(1).unwrap();
    let err = tx.try_send(2).unwrap_err();
    assert!(err.is_would_block());
    assert_eq!(err.into_inner(), 2);
    assert_eq!(rx.try_recv(), Ok(1));
    let (tx0, _rx0) = channel::<u8>(0);
    assert!(tx0.try_send(1).unwrap_err().is_would_block(), "rendezvous with no receiver");
}

/// Blocked senders deliver in the order they blocked; waiting receivers are served in order.
pub async fn senders_and_receivers_are_served_fifo() {
    let (tx, rx) = channel(1);
    let (tx, rx) = (Arc::new(tx), Arc::new(rx));
    tx.send(0).await.unwrap();
    let mut senders = Vec::new();
    for i in 1..=3 {
        let tx2 = Arc::clone(&tx);
        senders.push(spawn(async move { tx2.send(i).await.unwrap() }));
        wait_until("the sender waits", || tx.statistics().tasks_waiting_send == i).await;
    }
    assert!(tx.try_send(99).unwrap_err().is_would_block(), "no barging past blocked senders");
    for i in 0..=3 {
        assert_eq!(rx.recv().await, Ok(i));
    }
    for s in senders {
        join(s).await;
    }
    let mut receivers = Vec::new();
    for n in 1..=2 {
        let rx2 = Arc::clone(&rx);
        receivers.push(spawn(async move { rx2.recv().await.unwrap() }));
        wait_until("the receiver waits", || rx.statistics().tasks_waiting_receive == n).await;
    }
    tx.send(10).await.unwrap();
    // Only the oldest receiver was served.
    wait_until("the first receiver ran", || receivers[0].is_finished()).await;
    assert!(!receivers[1].is_finished());
    tx.send(11).await.unwrap();
    let mut it = receivers.into_iter();
    assert_eq!(join(it.next().unwrap()).await, 10);
    assert_eq!(join(it.next().unwrap()).await, 11);
}

async fn many_to_many(capacity: usize, per_producer: u32) {
    const N: u32 = 4;
    let (tx, rx) = channel::<u32>(capacity);
    let producers: Vec<_> = (0..N)
        .map(|p| {
            let tx = tx.clone();
            spawn(async move {
                for i in 0..per_producer {
                    tx.send(p * per_producer + i).await.unwrap();
                }
            })
        })
        .collect();
    let consumers: Vec<_> = (0..N)
        .map(|_| {
            let rx = rx.clone();
            spawn(async move {
                let mut got = Vec::new();
                while let Ok(v) = rx.recv().await {
                    got.push(v);
                }
                got
            })
        })
        .collect();
    drop((tx, rx));
    for p in producers {
        join(p).await;
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    for c in consumers {
        let got = join(c).await;
        // Each producer's items arrive in its order at every consumer.
        let mut last = vec![None::<u32>; N as usize];
        for v in &got {
            let p = (v / per_producer) as usize;
            assert!(last[p].is_none_or(|l| l < *v), "items of one producer out of order");
            last[p] = Some(*v);
        }
        total += got.len();
        for v in got {
            assert!(seen.insert(v), "item {v} received twice");
        }
    }
    assert_eq!(total, (N * per_producer) as usize, "items lost");
    assert_eq!(seen.len(), (N * per_producer) as usize);
}

/// 4 producers and 4 consumers move 100,000 items through a small buffer: none lost, none
/// duplicated.
pub async fn four_producers_four_consumers_move_100k_items() {
    many_to_many(16, 25_000).await;
}

/// The same through a rendezvous (fewer items: every one is a handoff).
pub async fn four_producers_four_consumers_rendezvous() {
    many_to_many(0, 5_000).await;
}

/// Producers and consumers whose sends and receives are cut off by deadlines at varied points.
/// Returns (items whose send completed, items whose send was cancelled, items received).
async fn with_cancellations(capacity: usize) -> (HashSet<u32>, HashSet<u32>, Vec<u32>) {
    const PER_PRODUCER: u32 = 300;
    let (tx, rx) = channel::<u32>(capacity);
    let producers: Vec<_> = (0..2u32)
        .map(|p| {
            let tx = tx.clone();
            spawn(async move {
                let (mut sent, mut cancelled) = (HashSet::new(), HashSet::new());
                for i in 0..PER_PRODUCER {
                    let v = p * PER_PRODUCER + i;
                    // Deadlines that hit before the first poll, while blocked, or never.
                    let limit = Duration::from_micros([0, 300, 1_000, 60_000_000][(i % 4) as usize]);
                    match move_on_after(limit, tx.send(v)).await {
                        Some(Ok(())) => assert!(sent.insert(v)),
                        Some(Err(e)) => panic!("send failed: {e}"),
                        None => assert!(cancelled.insert(v)),
                    }
                }
                (sent, cancelled)
            })
        })
        .collect();
    drop(tx);
    let consumers: Vec<_> = (0..2u32)
        .map(|c| {
            let rx = rx.clone();
            spawn(async move {
                let mut got = Vec::new();
                let mut n = 0u32;
                loop {
                    n += 1;
                    if n % 10 == c {
                        sleep(Duration::from_millis(1)).await; // let the senders block
                    }
                    let limit = Duration::from_micros([0, 500, 60_000_000][(n % 3) as usize]);
                    match move_on_after(limit, rx.recv()).await {
                        Some(Ok(v)) => got.push(v),
                        Some(Err(RecvError::EndOfStream)) => break,
                        Some(Err(e)) => panic!("recv failed: {e}"),
                        None => {}
                    }
                }
                got
            })
        })
        .collect();
    drop(rx);
    let (mut sent, mut cancelled) = (HashSet::new(), HashSet::new());
    for p in producers {
        let (s, c) = join(p).await;
        sent.extend(s);
        cancelled.extend(c);
    }
    let mut received = Vec::new();
    for c in consumers {
        received.extend(join(c).await);
    }
    (sent, cancelled, received)
}

/// Under injected cancellations, a buffered stream delivers every completed send exactly once
/// and never an item whose send was cancelled; a cancelled receive loses nothing.
pub async fn cancellations_under_load_lose_and_duplicate_nothing() {
    let (sent, cancelled, received) = with_cancellations(2).await;
    let got: HashSet<u32> = received.iter().copied().collect();
    assert_eq!(got.len(), received.len(), "an item was received twice");
    assert!(!sent.is_empty() && !cancelled.is_empty(), "the pattern should produce both outcomes");
    assert_eq!(got, sent, "lost, or a cancelled send delivered");
}

/// The same through a rendezvous: every completed send received exactly once; a cancelled
/// send may have been delivered only if a receiver took it before the cancellation.
pub async fn cancellations_under_load_rendezvous() {
    let (sent, cancelled, received) = with_cancellations(0).await;
    let got: HashSet<u32> = received.iter().copied().collect();
    assert_eq!(got.len(), received.len(), "an item was received twice");
    assert!(sent.is_subset(&got), "a completed send was lost");
    assert!(got.iter().all(|v| sent.contains(v) || cancelled.contains(v)));
}
