//! Every error type of the pool, exit stack, resources, streams and primitives: walking its
//! `source()` chain prints each message once — `Display` says what failed at its own level
//! and never repeats its cause.

use std::error::Error;

use anyscope_core::pool::{PoolError, RecycleError};
use anyscope_core::resource::UsingError;
use anyscope_core::stream::{RecvError, SendError, TryRecvError, TrySendError};
use anyscope_core::sync::{AcquireError, CapacityError, TryAcquireError, ZeroTokens};
use anyscope_core::{ExitStack, channel};

/// The messages of `err` and its sources, outermost first.
fn chain(err: &dyn Error) -> Vec<String> {
    let mut msgs = Vec::new();
    let mut cur = Some(err);
    while let Some(e) = cur {
        msgs.push(e.to_string());
        cur = e.source();
    }
    msgs
}

/// No message of the chain contains the next one (the cause printed twice).
#[track_caller]
fn assert_never_repeats(err: &dyn Error, expected: &[&str]) {
    let msgs = chain(err);
    assert_eq!(msgs, expected);
    for pair in msgs.windows(2) {
        assert!(!pair[0].contains(&pair[1]), "{:?} repeats its source {:?}", pair[0], pair[1]);
    }
}

fn refused() -> std::io::Error {
    std::io::Error::other("connection refused")
}

#[test]
fn pool_errors() {
    assert_never_repeats(
        &PoolError::Create(refused()),
        &["creating a pool object failed", "connection refused"],
    );
    assert_never_repeats(&PoolError::<std::io::Error>::Closed, &["the pool is closed"]);
    assert_never_repeats(
        &RecycleError::Backend(refused()),
        &["checking a pool object for reuse failed", "connection refused"],
    );
    assert_never_repeats(&RecycleError::<std::io::Error>::Discard, &["the pool object is not to be reused"]);
    let config = anyscope_core::PoolConfig::builder().max_size(0).build().unwrap_err();
    assert_never_repeats(&config, &["invalid pool configuration: max_size must be at least 1"]);
}

#[test]
fn using_errors() {
    let body = || std::io::Error::other("constraint violated");
    let transparent: UsingError<std::io::Error, std::io::Error> = UsingError::Body(body());
    assert_never_repeats(&transparent, &["constraint violated"]);
    let close: UsingError<std::io::Error, std::io::Error> = UsingError::Close(refused());
    assert_never_repeats(&close, &["closing the resource failed", "connection refused"]);
    let both: UsingError<std::io::Error, std::io::Error> =
        UsingError::Both { body: body(), close: refused() };
    assert_never_repeats(
        &both,
        &["closing the resource failed after the body failed", "constraint violated"],
    );
    assert_eq!(both.close_error().unwrap().to_string(), "connection refused");
}

#[test]
fn exit_stack_errors() {
    anyscope_tokio::run(async {
        let mut stack = ExitStack::new();
        stack.push_callback(async || Err::<(), _>(refused()));
        stack.push_callback(async || Err::<(), _>("flush failed"));
        let err = stack.close_with_error("body failed").await.unwrap_err();
        assert_never_repeats(&err, &["connection refused", "flush failed", "body failed"]);
    });
}

#[test]
fn stream_and_sync_errors() {
    let (tx, rx) = channel::<u8>(1);
    drop(rx);
    let send = tx.try_send(1).unwrap_err();
    assert!(matches!(send, TrySendError::Broken(_)));
    assert_never_repeats(&send, &["sending on a stream whose receivers are all gone"]);
    let send: SendError<u8> = SendError::Broken(1);
    assert_never_repeats(&send, &["sending on a stream whose receivers are all gone"]);
    for e in [&RecvError::EndOfStream as &dyn Error, &TryRecvError::WouldBlock] {
        assert_eq!(chain(e).len(), 1, "{e}");
    }
    let sync: [&dyn Error; 4] = [
        &AcquireError::TooMany { requested: 5, max: 1 },
        &TryAcquireError::NoPermits,
        &CapacityError::WouldBlock,
        &anyscope_core::sync::CapacityLimiter::try_new(0).unwrap_err() as &ZeroTokens,
    ];
    for e in sync {
        assert_eq!(chain(e).len(), 1, "{e}");
    }
}
