//! Hand-polled unit tests of the stream races (dropping a future is what a cancelled scope
//! does to it).

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_sink::Sink;

use super::*;

use crate::testing::{poll, waker, woken};

#[test]
fn rendezvous_send_completes_when_taken() {
    let (tx, rx) = channel(0);
    let (c, w) = waker();
    let mut s = tx.send(1);
    assert!(poll(&mut s, &w).is_pending());
    assert_eq!(rx.statistics().tasks_waiting_send, 1);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(woken(&c), 1);
    assert!(matches!(poll(&mut s, &w), Poll::Ready(Ok(()))));
}

#[test]
fn cancelled_rendezvous_send_withdraws_its_item() {
    let (tx, rx) = channel(0);
    let (_c, w) = waker();
    let mut s = tx.send(1);
    assert!(poll(&mut s, &w).is_pending());
    drop(s);
    assert_eq!(rx.statistics().tasks_waiting_send, 0);
    assert_eq!(rx.try_recv(), Err(TryRecvError::WouldBlock));
}

#[test]
fn blocked_senders_deliver_in_order_without_barging() {
    let (tx, rx) = channel(1);
    let (_c, w) = waker();
    tx.try_send(0).unwrap();
    let mut s1 = tx.send(1);
    let mut s2 = tx.send(2);
    assert!(poll(&mut s1, &w).is_pending());
    assert!(poll(&mut s2, &w).is_pending());
    assert_eq!(rx.try_recv(), Ok(0)); // s1's item moves into the buffer
    assert!(tx.try_send(9).unwrap_err().is_would_block()); // s2 waits ahead
    assert!(poll(&mut s1, &w).is_ready());
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(poll(&mut s2, &w).is_ready());
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn item_promised_to_a_cancelled_receiver_goes_to_the_next() {
    let (tx, rx) = channel(0);
    let (_c1, w1) = waker();
    let (c2, w2) = waker();
    let mut r1 = rx.recv();
    let mut r2 = rx.recv();
    assert!(poll(&mut r1, &w1).is_pending());
    assert!(poll(&mut r2, &w2).is_pending());
    tx.try_send(7).unwrap(); // handed to r1
    assert!(rx.try_recv().unwrap_err().is_would_block()); // promised: no barging
    drop(r1);
    assert_eq!(woken(&c2), 1);
    assert_eq!(poll(&mut r2, &w2), Poll::Ready(Ok(7)));
    assert_eq!(rx.statistics().tasks_waiting_receive, 0);
}

#[test]
fn item_promised_to_the_last_cancelled_receiver_stays_in_the_stream() {
    let (tx, rx) = channel(0);
    let (_c, w) = waker();
    let mut r = rx.recv();
    assert!(poll(&mut r, &w).is_pending());
    tx.try_send(7).unwrap();
    drop(r);
    let s = rx.statistics();
    assert_eq!((s.tasks_waiting_receive, s.current_buffer_used), (0, 1));
    assert_eq!(rx.try_recv(), Ok(7));
}

#[test]
fn withdrawn_send_takes_back_the_promise_it_backed() {
    let (tx, rx) = channel(0);
    let (_c, w) = waker();
    let mut r1 = rx.recv();
    assert!(poll(&mut r1, &w).is_pending());
    tx.try_send(1).unwrap(); // promised to r1
    let mut s2 = tx.send(2);
    assert!(poll(&mut s2, &w).is_pending());
    // A newcomer takes the unpromised item (the head: 1); r1's promise is now backed by 2.
    assert_eq!(rx.try_recv(), Ok(1));
    drop(s2); // withdrawn: r1 waits again
    assert!(poll(&mut r1, &w).is_pending());
    tx.try_send(3).unwrap();
    assert_eq!(poll(&mut r1, &w), Poll::Ready(Ok(3)));
}

#[test]
fn last_sender_close_ends_waiting_receivers() {
    let (tx, rx) = channel::<u8>(1);
    let (c, w) = waker();
    let mut r = rx.recv();
    assert!(poll(&mut r, &w).is_pending());
    let tx2 = tx.clone();
    drop(tx);
    assert!(poll(&mut r, &w).is_pending()); // a clone keeps it open
    tx2.close();
    assert!(woken(&c) >= 1);
    assert_eq!(poll(&mut r, &w), Poll::Ready(Err(RecvError::EndOfStream)));
}

#[test]
fn waiting_receivers_learn_the_end_once_the_last_item_is_taken() {
    let (tx, rx) = channel::<u8>(0);
    let (_c1, w1) = waker();
    let (c2, w2) = waker();
    let mut r1 = rx.recv();
    let mut r2 = rx.recv();
    assert!(poll(&mut r1, &w1).is_pending());
    assert!(poll(&mut r2, &w2).is_pending());
    tx.try_send(1).unwrap(); // promised to r1
    drop(tx);
    assert!(poll(&mut r2, &w2).is_pending()); // the item is r1's, but r1 may still be cancelled
    let before = woken(&c2);
    assert_eq!(poll(&mut r1, &w1), Poll::Ready(Ok(1)));
    assert!(woken(&c2) > before);
    assert_eq!(poll(&mut r2, &w2), Poll::Ready(Err(RecvError::EndOfStream)));
}

#[test]
fn last_receiver_close_fails_blocked_senders_with_their_item() {
    let (tx, rx) = channel(0);
    let (c, w) = waker();
    let mut s = tx.send(String::from("x"));
    assert!(poll(&mut s, &w).is_pending());
    rx.close();
    assert_eq!(woken(&c), 1);
    let Poll::Ready(Err(e)) = poll(&mut s, &w) else { panic!("expected broken") };
    assert!(e.is_broken());
    assert_eq!(e.into_inner(), "x");
}

#[test]
fn closing_one_clone_fails_its_own_operations_only() {
    let (tx, rx) = channel(1);
    let rx2 = rx.clone();
    rx2.close();
    assert_eq!(rx2.try_recv(), Err(TryRecvError::Closed));
    tx.try_send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.statistics().open_receive_streams, 1);
    let closed_clone = rx2.clone();
    assert!(closed_clone.is_closed());
    assert_eq!(rx.statistics().open_receive_streams, 1);
}

#[test]
fn sink_and_stream_round_trip() {
    let (mut tx, mut rx) = channel(0);
    let (_c, w) = waker();
    let mut cx = Context::from_waker(&w);
    assert!(matches!(Pin::new(&mut tx).poll_ready(&mut cx), Poll::Ready(Ok(()))));
    Pin::new(&mut tx).start_send(5).unwrap(); // no receiver: kept, blocked
    assert!(Pin::new(&mut tx).poll_flush(&mut cx).is_pending());
    assert_eq!(Pin::new(&mut rx).poll_next(&mut cx), Poll::Ready(Some(5)));
    assert!(matches!(Pin::new(&mut tx).poll_flush(&mut cx), Poll::Ready(Ok(()))));
    assert!(matches!(Pin::new(&mut tx).poll_close(&mut cx), Poll::Ready(Ok(()))));
    assert_eq!(Pin::new(&mut rx).poll_next(&mut cx), Poll::Ready(None));
}

#[test]
fn dropping_a_sender_withdraws_its_kept_sink_item() {
    let (mut tx, rx) = channel(0);
    let (_c, w) = waker();
    Pin::new(&mut tx).start_send(5).unwrap();
    assert!(Pin::new(&mut tx).poll_flush(&mut Context::from_waker(&w)).is_pending());
    assert_eq!(rx.statistics().tasks_waiting_send, 1);
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::EndOfStream));
}

#[test]
fn errors_debug_without_t_debug() {
    struct NoDebug;
    let e = SendError::Broken(NoDebug);
    assert_eq!(format!("{e:?}"), "Broken(..)");
    let e = TrySendError::WouldBlock(NoDebug);
    assert_eq!(format!("{e:?}"), "WouldBlock(..)");
    let (tx, _rx) = channel::<NoDebug>(0);
    assert!(format!("{tx:?}").contains("Sender"));
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: std::marker::Send + Sync>() {}
    check::<Sender<std::cell::Cell<u8>>>();
    check::<Receiver<std::cell::Cell<u8>>>();
    check::<Sender<Vec<u8>>>();
    check::<Receiver<Vec<u8>>>();
    check::<SendFuture<'static, Vec<u8>>>();
    check::<RecvFuture<'static, Vec<u8>>>();
    check::<SendError<Vec<u8>>>();
}

#[test]
fn buffered_sender_granted_a_slot_then_dropped_passes_it_on_and_delivers_nothing() {
    let (tx, rx) = channel(1);
    let (_c1, w1) = waker();
    let (c2, w2) = waker();
    tx.try_send(0).unwrap();
    let mut s1 = tx.send(1);
    let mut s2 = tx.send(2);
    assert!(poll(&mut s1, &w1).is_pending());
    assert!(poll(&mut s2, &w2).is_pending());
    assert_eq!(rx.try_recv(), Ok(0)); // the slot is granted to s1, whose item is not in yet
    assert_eq!(rx.try_recv(), Err(TryRecvError::WouldBlock));
    drop(s1); // cancelled after the grant: 1 is never delivered, the slot goes to s2
    assert_eq!(woken(&c2), 1);
    assert!(poll(&mut s2, &w2).is_ready());
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::WouldBlock));
}

#[test]
fn closing_a_sender_frees_the_slot_granted_to_its_kept_sink_item() {
    let (mut tx1, rx) = channel(1);
    let tx2 = tx1.clone();
    let (_c, w) = waker();
    let mut cx = Context::from_waker(&w);
    tx2.try_send(0).unwrap();
    Pin::new(&mut tx1).start_send(1).unwrap(); // the buffer is full: kept
    assert!(Pin::new(&mut tx1).poll_flush(&mut cx).is_pending()); // queued
    assert_eq!(rx.try_recv(), Ok(0)); // the freed slot is granted to the kept item
    tx1.close();
    tx2.try_send(2).unwrap(); // the slot went on: the closed clone holds nothing up
    assert_eq!(rx.try_recv(), Ok(2));
    assert!(matches!(Pin::new(&mut tx1).poll_flush(&mut cx), Poll::Ready(Err(SendError::Closed(1)))));
    assert!(matches!(Pin::new(&mut tx1).poll_flush(&mut cx), Poll::Ready(Ok(()))));
}

#[test]
fn closing_a_sender_whose_kept_rendezvous_item_was_taken_reports_it_sent() {
    let (mut tx, rx) = channel(0);
    let keep = tx.clone();
    let (_c, w) = waker();
    let mut cx = Context::from_waker(&w);
    Pin::new(&mut tx).start_send(7).unwrap();
    assert!(Pin::new(&mut tx).poll_flush(&mut cx).is_pending());
    assert_eq!(rx.try_recv(), Ok(7)); // taken: sent
    tx.close();
    assert!(matches!(Pin::new(&mut tx).poll_flush(&mut cx), Poll::Ready(Ok(()))));
    Pin::new(&mut tx).start_send(8).unwrap_err(); // closed now
    drop(keep);
}

#[test]
fn closing_a_receiver_passes_on_the_item_promised_to_its_waiting_stream_poll() {
    let (tx, mut rx1) = channel(1);
    let rx2 = rx1.clone();
    let (_c, w) = waker();
    let mut cx = Context::from_waker(&w);
    assert!(Pin::new(&mut rx1).poll_next(&mut cx).is_pending());
    tx.try_send(1).unwrap(); // promised to rx1's waiting poll
    rx1.close();
    assert_eq!(rx2.try_recv(), Ok(1));
    assert_eq!(Pin::new(&mut rx1).poll_next(&mut cx), Poll::Ready(None));
}
