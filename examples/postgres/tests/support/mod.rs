//! The tests' server and helpers: the server at `ANYSCOPE_PG_URL` (default
//! [`DEFAULT_URL`]), brought up by `ci/postgres.sh` when it runs on this machine, as a test
//! container would be. A server that cannot be brought up fails the test with a message saying
//! how to provide one; nothing is skipped.
#![allow(dead_code, unreachable_pub)]

use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use anyscope_core::{fail_after, sleep};
use anyscope_postgres_example::{PgError, PgPool, PoolOptions, with_pool};

/// The documented default connection string.
pub const DEFAULT_URL: &str = "postgres://anyscope:anyscope@127.0.0.1:5432/anyscope";

/// The connection string the tests use.
pub fn url() -> String {
    std::env::var("ANYSCOPE_PG_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ci/postgres.sh")
}

fn answers(options: &PoolOptions) -> bool {
    let (host, port) = options.address();
    (host, port)
        .to_socket_addrs()
        .map(|mut a| a.any(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok()))
        .unwrap_or(false)
}

/// Makes sure a server answers at [`url`], once per test binary: runs `ci/postgres.sh` (which
/// is idempotent, and serialized by a lock file across binaries) for a server on this
/// machine; panics with instructions if none can be had.
pub fn server() {
    static UP: OnceLock<Result<(), String>> = OnceLock::new();
    let up = UP.get_or_init(|| {
        let url = url();
        let options =
            PoolOptions::new(&url).map_err(|e| format!("ANYSCOPE_PG_URL='{url}' is invalid: {e}"))?;
        let out = Command::new("bash").arg(script()).env("ANYSCOPE_PG_URL", &url).output();
        let why = match out {
            Ok(o) if o.status.success() => return Ok(()),
            Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
            Err(e) => format!("could not run ci/postgres.sh: {e}"),
        };
        if answers(&options) {
            // A server someone else provides (the script could not manage it): use it.
            return Ok(());
        }
        Err(format!(
            "no PostgreSQL server answers at {url}, and ci/postgres.sh could not bring one up:\n{why}\n\
             Start PostgreSQL (e.g. `sudo bash ci/postgres.sh`, or `pg_ctlcluster 15 main start` and \
             create the role and database), or point ANYSCOPE_PG_URL at a server \
             (postgres://USER:PASSWORD@HOST:PORT/DB)."
        ))
    });
    if let Err(msg) = up {
        panic!("{msg}");
    }
}

/// Restarts the server (`ci/postgres.sh restart`), blocking the calling thread.
pub fn restart_server() {
    let out = Command::new("bash").arg(script()).arg("restart").env("ANYSCOPE_PG_URL", url()).output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!("restarting the server failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => panic!("could not run ci/postgres.sh restart: {e}"),
    }
}

/// Options for a pool whose backends show `app` as their `application_name`.
pub fn options(app: &str) -> PoolOptions {
    PoolOptions::new(&url()).expect("the URL parsed once already").application_name(app)
}

/// Opens an observer (one connection of its own, application `obs_<app>`) and runs `body` with it.
pub async fn observed<T>(app: &str, body: impl AsyncFnOnce(PgPool) -> T) -> T {
    let obs = options(&format!("obs_{app}")).min_size(1).max_size(1);
    with_pool(obs, body).await.expect("the observer connects")
}

/// One `bigint` from a query.
pub async fn scalar(pool: &PgPool, sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> i64 {
    let mut c = pool.acquire().await.expect("an observer connection");
    c.query_one(sql, params).await.expect("an observer query").get(0)
}

/// The number of backends of `app`.
pub async fn backends(obs: &PgPool, app: &str) -> i64 {
    scalar(obs, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", &[&app]).await
}

/// The number of backends of `app` left `idle in transaction`.
pub async fn idle_in_transaction(obs: &PgPool, app: &str) -> i64 {
    let sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state LIKE 'idle in transaction%'";
    scalar(obs, sql, &[&app]).await
}

/// The number of backends of `app` running a statement that contains `text`.
pub async fn running(obs: &PgPool, app: &str, text: &str) -> i64 {
    let sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' \
               AND strpos(query, $2) > 0";
    scalar(obs, sql, &[&app, &text]).await
}

/// Polls `probe` until it returns `want` (generous bound: 20 s); returns the last value seen.
pub async fn settles<F: AsyncFnMut() -> i64>(want: i64, mut probe: F) -> i64 {
    let mut last = probe().await;
    let _ = fail_after(Duration::from_secs(20), async {
        while last != want {
            sleep(Duration::from_millis(20)).await;
            last = probe().await;
        }
    })
    .await;
    last
}

/// Creates the accounts table `t` with balances `(1, a)`, `(2, b)`, ...
pub async fn accounts(obs: &PgPool, t: &str, balances: &[i64]) {
    let mut c = obs.acquire().await.expect("an observer connection");
    c.batch_execute(&format!(
        "DROP TABLE IF EXISTS {t}; CREATE TABLE {t} (id int PRIMARY KEY, balance bigint NOT NULL)"
    ))
    .await
    .expect("create the table");
    for (i, b) in balances.iter().enumerate() {
        let id = i as i32 + 1;
        c.execute(&format!("INSERT INTO {t} VALUES ($1, $2)"), &[&id, b]).await.expect("insert");
    }
}

/// The balances of `t`, by id.
pub async fn balances(obs: &PgPool, t: &str) -> Vec<i64> {
    let mut c = obs.acquire().await.expect("an observer connection");
    let rows = c.query(&format!("SELECT balance FROM {t} ORDER BY id"), &[]).await.expect("balances");
    rows.iter().map(|r| r.get(0)).collect()
}

/// Drops the table `t`.
pub async fn drop_table(obs: &PgPool, t: &str) {
    let mut c = obs.acquire().await.expect("an observer connection");
    c.batch_execute(&format!("DROP TABLE IF EXISTS {t}")).await.expect("drop the table");
}

/// What a transfer may fail with in these tests.
#[derive(Debug)]
pub enum TestError {
    Pg(PgError),
    Refused,
}

impl From<PgError> for TestError {
    fn from(e: PgError) -> Self {
        TestError::Pg(e)
    }
}

impl std::fmt::Display for TestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TestError::Pg(e) => write!(f, "{e}"),
            TestError::Refused => f.write_str("the transfer was refused"),
        }
    }
}
