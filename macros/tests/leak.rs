//! A test that leaks a resource must fail, with a message that names what it left: checked from
//! outside, by running this test binary on the leaking test and reading its output.

use std::process::Command;

use anyscope::{AsyncClose, Scoped};

struct LeakFixture;

impl AsyncClose for LeakFixture {
    type Error = std::io::Error;

    async fn close(self) -> Result<(), std::io::Error> {
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "macros-leak-fixture"
    }
}

#[anyscope::test(runtimes = [sim, tokio])]
#[ignore = "fails on purpose; run by `a_leaking_test_fails_with_a_clear_message`"]
async fn leaks_a_resource() {
    // Neither closed nor dropped: the tracker counts it open forever.
    std::mem::forget(Scoped::new(LeakFixture));
}

#[anyscope::test(runtimes = [sim, smol])]
async fn a_closed_resource_passes() {
    Scoped::new(LeakFixture).close().await.unwrap();
    drop(Scoped::new(LeakFixture)); // closed by adoption: not a leak either
}

#[test]
fn a_leaking_test_fails_with_a_clear_message() {
    for runtime in ["sim", "tokio"] {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", &format!("leaks_a_resource::{runtime}"), "--test-threads=1"])
            .output()
            .unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!out.status.success(), "the leaking test passed on {runtime}:\n{text}");
        assert!(text.contains("1 failed"), "{text}");
        assert!(
            text.contains(&format!(
                "failed on {runtime}: resources left behind: `macros-leak-fixture`: 1 open, 0 lost"
            )),
            "the failure does not name the leak on {runtime}:\n{text}"
        );
    }
}
