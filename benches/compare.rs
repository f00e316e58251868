//! Side-by-side benchmark: anyscope against the raw runtimes and the peer crates (issue 8).
//!
//! `cargo bench --bench compare` (add `-- --quick` for the short CI version, `--counts` /
//! `--no-counts` to force the callgrind counts on or off, `--only-counts` for the counts alone,
//! and any other argument to run only the rows whose id contains it). Each row measures anyscope and its
//! baseline alternately over several rounds in this one process and takes the medians; the
//! table goes to stdout and the same rows to `<target dir>/anyscope-bench/compare.json`.
//! See docs/performance.md for the figures and what they are made of.

#[path = "compare/counted.rs"]
mod counted;
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
#[path = "compare/rows_spawn.rs"]
mod rows_spawn;
#[path = "compare/rt.rs"]
mod rt;

use counted::Group;
use harness::{Config, Row};

/// The one-thread rows, in the order they are printed: timed, and counted under callgrind (a
/// `--counted` process finds its group by its index here).
fn counted_groups(rts: &rt::Runtimes) -> Vec<Group<'_>> {
    let mut groups = rows_spawn::spawn_join_one_thread(rts);
    groups.extend(rows_core::scope_ready(rts));
    groups.extend(rows_core::timeouts(rts));
    groups.extend(rows_prims::semaphore_uncontended(rts));
    groups.extend(rows_prims::mutex_one_thread(rts));
    groups.extend(rows_pool::pool_uncontended(rts));
    groups
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--child-bytes") {
        let bytes = rows_core::child_bytes_sample(&args[i + 1], &args[i + 2]);
        println!("{bytes}");
        return;
    }
    let arg = |i: usize| -> usize { args[i].parse().expect("a number after --counted") };
    if let Some(i) = args.iter().position(|a| a == "--counted") {
        let rts = rt::Runtimes::new();
        counted_groups(&rts)[arg(i + 1)].run_counted(arg(i + 2), arg(i + 3));
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    // Instruction and allocation counts: on in the full run, off in the quick one (CI's), unless
    // asked for; skipped with a note where valgrind is missing. `--only-counts`: the counts and
    // no timed row (the figures that do not depend on the machine's load).
    let only_counts = args.iter().any(|a| a == "--only-counts");
    let counts = only_counts
        || (!quick || args.iter().any(|a| a == "--counts")) && !args.iter().any(|a| a == "--no-counts");
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let wanted = |id: &str| filters.is_empty() || filters.iter().any(|f| id.contains(f.as_str()));
    let cfg = Config { quick, rounds: if quick { 5 } else { 15 } };

    let started = std::time::Instant::now();
    let rts = rt::Runtimes::new();
    let groups = counted_groups(&rts);
    let mut rows: Vec<Row> = Vec::new();
    harness::print_header();
    // Runs `f` and prints the rows it adds, if any of the ids in `ids` is wanted.
    let mut section = |ids: &str, f: &dyn Fn(&mut Vec<Row>)| {
        if ids.split(' ').any(wanted) {
            let from = rows.len();
            f(&mut rows);
            for r in &rows[from..] {
                harness::print_row(r);
            }
        }
    };
    if !only_counts {
        section("spawn_join_100k", &|rows| rows_spawn::spawn_join(&rts, cfg, rows));
        for g in &groups {
            section(&g.ids(), &|rows| rows.extend(g.timed(cfg)));
        }
        section("cancel_fanout_10k", &|rows| rows_core::cancel_fanout(&rts, cfg, rows));
        section("semaphore_contended_64x4 mutex_contended_64", &|rows| {
            rows_prims::semaphores(&rts, cfg, rows)
        });
        section("channel_spsc_bounded64 channel_mpmc_4x4", &|rows| rows_prims::channels(&rts, cfg, rows));
        section("pool_contended_64x16", &|rows| rows_pool::pool_contended(&rts, cfg, rows));
        section("group_child_bytes", &|rows| rows_core::child_bytes(cfg, rows));
        section("tcp_echo_64k_per_byte", &|rows| rows_io::tcp_echo(&rts, cfg, rows));
        section("tcp_connect_accept", &|rows| rows_io::tcp_connect(&rts, cfg, rows));
        section("file_write_1m file_read_1m", &|rows| rows_io::files(&rts, cfg, rows));
    }
    let which: Vec<usize> = (0..groups.len()).filter(|&i| groups[i].ids().split(' ').any(wanted)).collect();
    // Whether counts were asked for alone and could not all be made (the exit status says so).
    let failed = std::cell::Cell::new(false);
    if counts && !which.is_empty() {
        if !counted::available() {
            println!("\nvalgrind not found: instruction and allocation rows skipped");
            failed.set(only_counts);
        } else {
            println!("\ncounted under callgrind (per unit of work, the measuring thread):");
            for i in which {
                section(&groups[i].ids(), &|rows| match counted::count(&groups, i) {
                    Ok(counted) => rows.extend(counted),
                    Err(e) => {
                        println!("callgrind: group {i} skipped: {e}");
                        failed.set(only_counts);
                    }
                });
            }
        }
    }

    let dir = harness::out_dir();
    std::fs::create_dir_all(&dir).expect("create the output directory");
    // A counts-only run does not overwrite the full run's file.
    let path = dir.join(if only_counts { "counts.json" } else { "compare.json" });
    std::fs::write(&path, harness::to_json(&rows)).expect("write compare.json");
    println!(
        "\n{} rows in {:.1} s ({}); written to {}",
        rows.len(),
        started.elapsed().as_secs_f64(),
        if only_counts {
            "counts only"
        } else if quick {
            "quick"
        } else {
            "full"
        },
        path.display()
    );
    if failed.get() {
        std::process::exit(1);
    }
}
