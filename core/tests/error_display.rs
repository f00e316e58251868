//! Error messages say what failed at their own level: walking a `source()` chain of the task
//! group errors prints each cause once (issue 14, C-GOOD-ERR).

use std::error::Error;

use anyscope_core::group::{StartError, TaskStatus, task_group};

/// Each error's message, from the outermost to the root cause.
fn chain(err: &(dyn Error + 'static)) -> Vec<String> {
    let mut out = vec![err.to_string()];
    let mut next = err.source();
    while let Some(e) = next {
        out.push(e.to_string());
        next = e.source();
    }
    out
}

/// No message repeats the message of its source.
fn assert_no_repeats(messages: &[String]) {
    for pair in messages.windows(2) {
        assert!(!pair[0].contains(&pair[1]), "{:?} repeats its source {:?}", pair[0], pair[1]);
    }
}

#[test]
fn group_and_start_errors_do_not_repeat_their_source() {
    anyscope_tokio::run(async {
        let group = task_group(|tg| async move {
            tg.spawn(async { Err(std::io::Error::other("connection refused")) }).unwrap();
            Ok::<(), _>(())
        })
        .await
        .unwrap_err();
        let messages = chain(&group);
        assert_eq!(messages, ["a task group failed", "connection refused"]);
        assert_no_repeats(&messages);

        let res = task_group(|tg| async move {
            let err: StartError<std::io::Error> = tg
                .start(|_status: TaskStatus<u16>| async { Err(std::io::Error::other("address in use")) })
                .await
                .unwrap_err();
            let messages = chain(&err);
            assert_eq!(messages, ["the task failed before it reported ready", "address in use"]);
            assert_no_repeats(&messages);
            Ok::<(), std::io::Error>(())
        })
        .await;
        assert!(res.is_ok());
    });
}
