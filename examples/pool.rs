//! A database pool shared by workers — the seed's scenario, with simulated connections.
//!
//! ```text
//! cargo run --example pool
//! ```
//!
//! Connections take a few milliseconds to open and sometimes fail to (a deterministic
//! xorshift decides). Six workers in a task group share a pool of three: some time out waiting,
//! one is cancelled mid-query (its connection is checked before anyone reuses it), one
//! transaction rolls back. The pool lives in an exit stack that closes it after the group.
//! At the end the pool's statistics and the resource tracker show that nothing leaked.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyscope::group::task_group;
use anyscope::pool::{Manager, Object, Pool, PoolConfig, PoolError, Recycle, RecycleError};
use anyscope::resource::{Exit, resource};
use anyscope::{ExitStack, move_on_after, sleep, tracker};

/// A simulated connection.
struct Conn {
    id: u32,
    /// A query or transaction is under way: cut off there, the connection needs a reset.
    busy: bool,
}

#[derive(Debug)]
struct DbError(String);

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbError {}

/// Opens, checks and closes simulated connections.
struct Db {
    next_id: AtomicU32,
    rng: Mutex<u64>,
}

impl Db {
    /// A deterministic xorshift: true about once in `n` calls.
    fn one_in(&self, n: u64) -> bool {
        let mut x = self.rng.lock().unwrap();
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x % n == 0
    }
}

impl Manager for Db {
    type Object = Conn;
    type Error = DbError;

    async fn create(&self) -> Result<Conn, DbError> {
        sleep(Duration::from_millis(5)).await; // connect + authenticate
        if self.one_in(7) {
            println!("  db: connection refused");
            return Err(DbError("connection refused".into()));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        println!("  db: conn {id} opened");
        Ok(Conn { id, busy: false })
    }

    async fn recycle(&self, conn: &mut Conn, _why: Recycle) -> Result<(), RecycleError<DbError>> {
        if conn.busy {
            println!("  db: conn {} was cut off mid-query: ROLLBACK, reset", conn.id);
            sleep(Duration::from_millis(2)).await;
            conn.busy = false;
        }
        if self.one_in(10) {
            println!("  db: conn {} failed its ping: the pool closes it", conn.id);
            return Err(DbError(format!("conn {} failed its ping", conn.id)).into());
        }
        Ok(())
    }

    async fn close(&self, conn: Conn) {
        println!("  db: conn {} closed", conn.id);
    }
}

/// Runs one query on `conn` (its latency is `ms`).
async fn query(conn: &mut Conn, sql: &str, ms: u64) {
    conn.busy = true;
    sleep(Duration::from_millis(ms)).await;
    conn.busy = false;
    println!("  conn {}: {sql}", conn.id);
}

/// What a transfer reports: the pool's error, or the application's.
#[derive(Debug)]
enum TxError {
    Pool(PoolError<DbError>),
    Refused(String),
}

impl From<PoolError<DbError>> for TxError {
    fn from(e: PoolError<DbError>) -> Self {
        TxError::Pool(e)
    }
}

impl fmt::Display for TxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxError::Pool(e) => write!(f, "{e}"),
            TxError::Refused(why) => f.write_str(why),
        }
    }
}

/// Moves `amount` from one account to another in a transaction: committed if the body
/// succeeds, rolled back otherwise (error, cancellation or panic). asyncpg's `transfer_funds`.
async fn transfer_funds(pool: &Pool<Db>, from: &str, to: &str, amount: u32) -> Result<(), TxError> {
    let begin = async {
        let mut conn = pool.acquire().await?;
        query(&mut conn, "BEGIN", 1).await;
        Ok(conn)
    };
    let end = |mut conn: Object<Db>, exit: Exit| async move {
        query(&mut conn, if exit.is_ok() { "COMMIT" } else { "ROLLBACK" }, 1).await;
        Ok(())
    };
    resource(begin, end)
        .with_kind("transaction")
        .run(async |conn: &mut Object<Db>| {
            query(
                conn,
                &format!("UPDATE accounts SET balance = balance - {amount} WHERE name = '{from}'"),
                3,
            )
            .await;
            if amount > 100 {
                return Err(TxError::Refused(format!("{from} has less than {amount}")));
            }
            query(conn, &format!("UPDATE accounts SET balance = balance + {amount} WHERE name = '{to}'"), 3)
                .await;
            Ok(())
        })
        .await
}

/// What worker `n` does.
async fn worker(n: u32, pool: Pool<Db>) {
    let outcome: Result<String, String> = match n {
        // Transfers; the one of 270 is more than alice has: it rolls back.
        0 | 1 => transfer_funds(&pool, "alice", "bob", 40 + 230 * n)
            .await
            .map(|()| "transfer committed".into())
            .map_err(|e| e.to_string()),
        // A long report, cut off by its own deadline mid-query.
        2 => {
            let out = move_on_after(Duration::from_millis(30), async {
                let mut conn = pool.acquire().await.map_err(|e| e.to_string())?;
                query(&mut conn, "SELECT ... FROM ledger (a long report)", 1000).await;
                Ok::<_, String>(())
            })
            .await;
            match out {
                Some(r) => r.map(|()| "report done".into()),
                None => Err("report cancelled by its deadline (its connection is reset before reuse)".into()),
            }
        }
        // Readers, a little later: with 3 connections, the last ones wait longer than the
        // pool's acquire timeout.
        _ => {
            sleep(Duration::from_millis(10)).await;
            match pool.acquire().await {
                Ok(mut conn) => {
                    query(&mut conn, "SELECT balance FROM accounts", 80).await;
                    Ok("read done".into())
                }
                Err(e) => Err(e.to_string()),
            }
        }
    };
    match outcome {
        Ok(msg) => println!("worker {n}: {msg}"),
        Err(err) => println!("worker {n}: {err}"),
    }
}

fn main() {
    anyscope::run(async {
        let config = PoolConfig::builder()
            .max_size(3)
            .min_idle(1)
            .acquire_timeout(Duration::from_millis(60))
            .kind("db-conn")
            .build()
            .expect("a valid configuration");
        let db = Db { next_id: AtomicU32::new(0), rng: Mutex::new(0x2545_f491_4f6c_dd1d) };

        let mut stack = ExitStack::new();
        let entered = stack.enter(Pool::open(db, config).await.into_resource());
        let pool = (**stack.get(entered)).clone();
        println!("pool open: {}", pool.stats());

        let group = task_group(|tg| async move {
            for n in 0..8 {
                let pool = pool.clone();
                tg.spawn(async move {
                    worker(n, pool).await;
                    Ok(())
                })
                .expect("the group is open while its body runs");
            }
            Ok::<(), std::convert::Infallible>(())
        });
        group.await.expect("workers report their own errors");

        let pool = (**stack.get(entered)).clone();
        println!("workers done: {}", pool.stats());
        stack.close().await.expect("closing the pool reports no error");
        println!("pool closed:  {}", pool.stats());
        println!("\n{}", tracker::snapshot());
        let conns = tracker::kind("db-conn");
        assert_eq!((conns.open(), conns.lost), (0, 0), "a connection leaked: {conns:?}");
        println!("\nevery connection was closed; none leaked");
    });
}
