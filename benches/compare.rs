//! Side-by-side benchmark: anyscope against the raw runtimes and the peer crates (issue 8).
//!
//! `cargo bench --bench compare` (add `-- --quick` for the short CI version, and any other
//! argument to run only the rows whose id contains it). Each row measures anyscope and its
//! baseline alternately over several rounds in this one process and takes the medians; the
//! table goes to stdout and the same rows to `<target dir>/anyscope-bench/compare.json`.
//! See docs/performance.md for the figures and what they are made of.

#[path = "compare/harness.rs"]
mod harness;
#[path = "compare/rows_core.rs"]
mod rows_core;
#[path = "compare/rows_io.rs"]
mod rows_io;
#[path = "compare/rows_pool.rs"]
mod rows_pool;
#[path = "compare/rows_prims.rs"]
mod rows_prims;
#[path = "compare/rt.rs"]
mod rt;

use harness::{Config, Row};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--child-bytes") {
        let bytes = rows_core::child_bytes_sample(&args[i + 1], &args[i + 2]);
        println!("{bytes}");
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let wanted = |id: &str| filters.is_empty() || filters.iter().any(|f| id.contains(f.as_str()));
    let cfg = Config { quick, rounds: if quick { 3 } else { 15 } };

    let started = std::time::Instant::now();
    let rts = rt::Runtimes::new();
    let mut rows: Vec<Row> = Vec::new();
    harness::print_header();
    let mut section = |id: &str, f: &dyn Fn(&mut Vec<Row>)| {
        if wanted(id) {
            let from = rows.len();
            f(&mut rows);
            for r in &rows[from..] {
                harness::print_row(r);
            }
        }
    };
    section("spawn_join_100k", &|rows| rows_core::spawn_join(&rts, cfg, rows));
    section("scope_ready", &|rows| rows_core::scope_ready(&rts, cfg, rows));
    section("timeout_ready timeout_pending_once", &|rows| rows_core::timeouts(&rts, cfg, rows));
    section("cancel_fanout_10k", &|rows| rows_core::cancel_fanout(&rts, cfg, rows));
    section("semaphore_uncontended semaphore_contended_64x4 mutex_contended_64", &|rows| {
        rows_prims::semaphores(&rts, cfg, rows)
    });
    section("channel_spsc_bounded64 channel_mpmc_4x4", &|rows| rows_prims::channels(&rts, cfg, rows));
    section("pool_uncontended pool_contended_64x16", &|rows| rows_pool::pools(&rts, cfg, rows));
    section("group_child_bytes", &|rows| rows_core::child_bytes(cfg, rows));
    section("tcp_echo_64k_per_byte", &|rows| rows_io::tcp_echo(&rts, cfg, rows));
    section("tcp_connect_accept", &|rows| rows_io::tcp_connect(&rts, cfg, rows));
    section("file_write_1m file_read_1m", &|rows| rows_io::files(&rts, cfg, rows));

    let dir = harness::out_dir();
    std::fs::create_dir_all(&dir).expect("create the output directory");
    let path = dir.join("compare.json");
    std::fs::write(&path, harness::to_json(&rows)).expect("write compare.json");
    println!(
        "\n{} rows in {:.1} s ({}); written to {}",
        rows.len(),
        started.elapsed().as_secs_f64(),
        if quick { "quick" } else { "full" },
        path.display()
    );
}
