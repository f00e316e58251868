//! How scopes are linked into the scope tree: a scope that brought its own node (a
//! [`CancelScope`] handle's, a task group's) is linked under the enclosing scope only when
//! something needs to walk up through it. Each case makes something in another task (or the
//! current task's borrower identity) depend on such a link, through scopes whose nodes nobody
//! asked for before.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyscope_core::group::{TaskGroup, task_group};
use anyscope_core::sync::{BorrowerId, CapacityLimiter};
use anyscope_core::{
    CancelScope, JoinHandle, checkpoint, current_effective_deadline, current_time, move_on_after, sleep,
    spawn,
};

use crate::support::{Flag, SetOnDrop, wait_until};

/// A bound on waits that only a broken link would make long: the case fails instead of hanging.
const BOUND: Duration = Duration::from_secs(10);

/// A task spawned in the innermost of two nested handle scopes sees the deadline that was set
/// through the outermost scope's handle before it ran, and is cancelled when that scope is
/// cancelled from another task: both walk up through the two inner scopes' nodes.
pub async fn task_under_nested_handle_scopes_reaches_the_outermost() {
    let deadline = current_time() + Duration::from_secs(1800);
    let outer = CancelScope::new();
    outer.set_deadline(Some(deadline));
    let handle = outer.clone();
    let seen: Arc<Mutex<Option<Option<Instant>>>> = Arc::default();
    let slot: Arc<Mutex<Option<JoinHandle<()>>>> = Arc::default();
    let dropped = Flag::new();
    let (s, k, d) = (seen.clone(), slot.clone(), dropped.clone());
    let out = outer
        .run(CancelScope::new().run(CancelScope::new().run(async move {
            let started = Flag::new();
            let st = started.clone();
            *k.lock().unwrap() = Some(spawn(async move {
                let _guard = SetOnDrop(d);
                *s.lock().unwrap() = Some(current_effective_deadline());
                st.set();
                std::future::pending::<()>().await;
            }));
            wait_until("the task started", || started.is_set()).await;
            let _canceller = spawn(async move { handle.cancel() });
            sleep(Duration::from_secs(3600)).await;
        })))
        .await;
    assert!(out.is_none() && outer.cancelled_caught(), "the outermost scope caught");
    assert_eq!(*seen.lock().unwrap(), Some(Some(deadline)), "the task sees the outer deadline");
    let task = slot.lock().unwrap().take().unwrap();
    let joined = move_on_after(BOUND, task).await.expect("the outer cancel reached the task");
    assert!(joined.unwrap_err().is_cancelled());
    assert!(dropped.is_set());
}

/// A task spawned inside a shielded handle scope is not reached by the enclosing scope's
/// cancel; once the shield is lowered, it is: the walk up from the task passes the shield's
/// node to the enclosing scope's.
pub async fn lowered_shield_lets_the_outer_cancel_reach_its_task() {
    let outer = CancelScope::new();
    let inner = CancelScope::shielded();
    let lower = inner.clone();
    let cancel = outer.clone();
    let slot: Arc<Mutex<Option<JoinHandle<()>>>> = Arc::default();
    let k = slot.clone();
    let (passed, reached) = (Flag::new(), Flag::new());
    let (p, r) = (passed.clone(), reached.clone());
    let out = outer
        .run(inner.run(async move {
            cancel.cancel();
            *k.lock().unwrap() = Some(spawn(async move {
                // Completes only while the task is not cancelled.
                checkpoint().await;
                p.set();
                std::future::pending::<()>().await;
            }));
            wait_until("the task passed a checkpoint under the shield", || passed.is_set()).await;
            lower.set_shield(false);
            checkpoint().await;
            r.set();
        }))
        .await;
    assert!(!reached.is_set(), "the outer cancel is delivered once the shield is lowered");
    assert!(out.is_none() && outer.cancelled_caught() && !inner.cancelled_caught());
    let task = slot.lock().unwrap().take().unwrap();
    let joined = move_on_after(BOUND, task).await.expect("the outer cancel reached the task");
    assert!(joined.unwrap_err().is_cancelled());
}

/// A task group nested in a handle scope nested in a task group nested in a deadline scope:
/// the tasks of both groups see the outermost deadline, and cancelling the outermost scope from
/// another task cancels them all; the outermost scope catches.
pub async fn groups_nested_through_a_handle_scope_reach_the_outermost() {
    let deadline = current_time() + Duration::from_secs(1800);
    let outermost = CancelScope::with_deadline(deadline);
    let handle = outermost.clone();
    let seen: Arc<Mutex<Vec<Option<Instant>>>> = Arc::default();
    let (outer_dropped, inner_dropped) = (Flag::new(), Flag::new());
    let (s, od, id) = (seen.clone(), outer_dropped.clone(), inner_dropped.clone());
    let reached = Flag::new();
    let r = reached.clone();
    let probe = seen.clone();
    let _canceller = spawn(async move {
        wait_until("both tasks started", || probe.lock().unwrap().len() == 2).await;
        handle.cancel();
    });
    let out = outermost
        .run(task_group(|outer_tg: TaskGroup<()>| async move {
            let s1 = s.clone();
            outer_tg
                .spawn(async move {
                    let _guard = SetOnDrop(od);
                    s1.lock().unwrap().push(current_effective_deadline());
                    std::future::pending::<()>().await;
                    Ok(())
                })
                .expect("the group is open");
            let _ = CancelScope::new()
                .run(task_group(|inner_tg: TaskGroup<()>| async move {
                    inner_tg
                        .spawn(async move {
                            let _guard = SetOnDrop(id);
                            s.lock().unwrap().push(current_effective_deadline());
                            std::future::pending::<()>().await;
                            Ok(())
                        })
                        .expect("the group is open");
                    sleep(Duration::from_secs(3600)).await;
                    Ok(())
                }))
                .await;
            r.set();
            Ok(())
        }))
        .await;
    assert!(!reached.is_set(), "the outer group's body is cancelled while the inner group waits");
    assert!(out.is_none() && outermost.cancelled_caught(), "the outermost scope caught");
    assert!(outer_dropped.is_set() && inner_dropped.is_set(), "both tasks were cancelled");
    assert_eq!(*seen.lock().unwrap(), [Some(deadline); 2], "both tasks see the outermost deadline");
}

/// The borrower of a capacity limiter is the task, whatever scopes (handle scopes, a deadline
/// scope, a task group's body) sit between: a token taken outside is released inside, and one
/// taken inside is already held outside.
pub async fn borrower_is_the_task_through_nested_scopes() {
    let limiter = Arc::new(CapacityLimiter::new(2));
    let here = BorrowerId::current();
    limiter.try_acquire().expect("a free token");
    let l = limiter.clone();
    let inside = CancelScope::new()
        .run(CancelScope::shielded().run(move_on_after(Duration::from_secs(3600), async move {
            let id = BorrowerId::current();
            l.release().expect("the token taken outside belongs to this task");
            l.try_acquire().expect("a free token");
            let in_group =
                task_group(|_tg: TaskGroup<()>| async { Ok(BorrowerId::current()) }).await.unwrap();
            (id, in_group)
        })))
        .await
        .flatten()
        .flatten()
        .expect("nothing cancelled the scopes");
    assert_eq!(inside, (here.clone(), here));
    assert!(limiter.try_acquire().unwrap_err().is_already_borrowing());
    limiter.release().expect("the token taken inside belongs to this task");
}

/// Runs `cleanup` as the teardown of a resource whose body a deadline cancelled (so the cleanup
/// is polled by the cancelled frame, shielded), and returns what the cleanup produced.
async fn in_a_cleanup_after_a_cancel<T, Fut>(cleanup: impl FnOnce() -> Fut + Send + 'static) -> Option<T>
where
    T: Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    use anyscope_core::resource::{Exit, resource};
    let slot = Arc::new(Mutex::new(None));
    let s = slot.clone();
    let res = resource(async { Ok::<u32, String>(1) }, move |_v: u32, _exit: Exit| async move {
        let out = cleanup().await;
        *s.lock().unwrap() = Some(out);
        Ok::<(), String>(())
    });
    let out = move_on_after(
        Duration::from_millis(20),
        res.run(async move |_v: &mut u32| {
            sleep(Duration::from_secs(3600)).await;
            Ok::<(), String>(())
        }),
    )
    .await;
    assert!(out.is_none(), "the deadline cancelled the body");
    slot.lock().unwrap().take()
}

/// A task spawned by a cleanup — here the teardown of a resource whose body a deadline cancelled
/// — runs shielded like the cleanup itself: it is not cancelled by the cancellation the cleanup
/// runs after, and sees no enclosing deadline.
pub async fn task_spawned_by_a_cleanup_is_not_cancelled_with_the_scope() {
    use anyscope_core::is_cancelled;
    let seen = in_a_cleanup_after_a_cancel(|| async {
        let task = spawn(async {
            checkpoint().await;
            (is_cancelled(), current_effective_deadline())
        });
        match move_on_after(BOUND, task).await {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(format!("{e:?}")),
            None => Err("the task did not end".to_string()),
        }
    })
    .await;
    assert_eq!(seen, Some(Ok((false, None))), "the cleanup's task ran to its end, shielded");
}

/// Inside a cleanup, a nested scope does not change who the borrower is: a capacity-limiter
/// token taken in a scope nested in the cleanup belongs to the task, as one taken in the
/// cleanup itself (what a cleanup starts hangs under a shield that stays under the task).
pub async fn borrower_in_a_cleanup_is_the_task_through_nested_scopes() {
    let seen = in_a_cleanup_after_a_cancel(|| async {
        let here = BorrowerId::current();
        let nested = CancelScope::new().run(async { BorrowerId::current() }).await;
        let limiter = CapacityLimiter::new(1);
        let taken = CancelScope::new().run(async { limiter.acquire().await.is_ok() }).await;
        // Released by the cleanup itself: the token taken in the nested scope is the task's.
        let released = limiter.release().is_ok();
        (nested == Some(here), taken == Some(true) && released)
    })
    .await;
    assert_eq!(seen, Some((true, true)), "the task is the borrower throughout");
}
