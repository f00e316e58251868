//! Measuring, tabulating and writing the rows of the side-by-side benchmark.

use std::fmt::Write as _;
use std::time::Instant;

/// One line of the table and one object of `compare.json`.
pub(crate) struct Row {
    pub(crate) id: String,
    pub(crate) runtime: &'static str,
    pub(crate) ours: f64,
    pub(crate) baseline: &'static str,
    pub(crate) base: f64,
    /// `None` for rows printed for information only (a second baseline).
    pub(crate) target: Option<f64>,
    /// What the `_ns` columns hold: `ns/op` (time per unit of work) or `B/child`.
    pub(crate) unit: &'static str,
}

impl Row {
    /// A row in nanoseconds per unit of work.
    pub(crate) fn ns(
        id: &str,
        runtime: &'static str,
        baseline: &'static str,
        ours: f64,
        base: f64,
        target: Option<f64>,
    ) -> Row {
        Row { id: id.to_string(), runtime, ours, baseline, base, target, unit: "ns/op" }
    }

    pub(crate) fn ratio(&self) -> f64 {
        self.ours / self.base
    }
}

/// How long the run is.
#[derive(Clone, Copy)]
pub(crate) struct Config {
    pub(crate) quick: bool,
    pub(crate) rounds: usize,
}

impl Config {
    /// `full` for the full run, `quick` for `--quick`.
    pub(crate) fn pick(&self, full: usize, quick: usize) -> usize {
        if self.quick { quick } else { full }
    }
}

/// Runs each closure once to warm up, then `rounds` times, interleaved (the order rotates each
/// round so that no side always runs right after the other), and returns the medians. Each
/// closure returns the cost of one sample per unit of work.
pub(crate) fn measure(rounds: usize, sides: &mut [&mut dyn FnMut() -> f64]) -> Vec<f64> {
    let n = sides.len();
    for side in sides.iter_mut() {
        side();
    }
    let mut samples = vec![Vec::with_capacity(rounds); n];
    for round in 0..rounds {
        for k in 0..n {
            let i = (round + k) % n;
            samples[i].push(sides[i]());
        }
    }
    samples.into_iter().map(median).collect()
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN samples"));
    let m = v.len() / 2;
    if v.len() % 2 == 1 { v[m] } else { (v[m - 1] + v[m]) / 2.0 }
}

/// Nanoseconds per unit since `t0`.
pub(crate) fn per_unit(t0: Instant, units: usize) -> f64 {
    t0.elapsed().as_nanos() as f64 / units as f64
}

/// Resident bytes of this process, from `/proc/self/statm` (0 where it does not exist).
pub(crate) fn resident_bytes() -> usize {
    let Ok(s) = std::fs::read_to_string("/proc/self/statm") else { return 0 };
    let pages: usize = s.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

pub(crate) fn print_header() {
    println!(
        "{:<28} {:<7} {:>12} {:<26} {:>12} {:>7} {:>7}  unit",
        "row", "runtime", "ours", "baseline", "baseline", "ratio", "target"
    );
}

pub(crate) fn print_row(r: &Row) {
    let target = r.target.map_or("-".to_string(), |t| format!("{t:.2}"));
    let flag = match r.target {
        Some(t) if r.ratio() > t => "  ABOVE TARGET",
        _ => "",
    };
    println!(
        "{:<28} {:<7} {:>12.1} {:<26} {:>12.1} {:>7.3} {:>7}  {}{}",
        r.id,
        r.runtime,
        r.ours,
        r.baseline,
        r.base,
        r.ratio(),
        target,
        r.unit,
        flag
    );
}

/// The rows as a JSON array, written by hand.
pub(crate) fn to_json(rows: &[Row]) -> String {
    let mut s = String::from("[\n");
    for (i, r) in rows.iter().enumerate() {
        let target = r.target.map_or("null".to_string(), |t| format!("{t}"));
        let _ = write!(
            s,
            "  {{\"id\": \"{}\", \"runtime\": \"{}\", \"ours_ns\": {:.1}, \"baseline\": \"{}\", \
             \"baseline_ns\": {:.1}, \"ratio\": {:.4}, \"target\": {}}}",
            escape(&r.id),
            escape(r.runtime),
            r.ours,
            escape(r.baseline),
            r.base,
            r.ratio(),
            target
        );
        s.push_str(if i + 1 < rows.len() { ",\n" } else { "\n" });
    }
    s.push_str("]\n");
    s
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Where `compare.json` goes: `$CARGO_TARGET_DIR/anyscope-bench`, else `target/anyscope-bench`
/// at the workspace root.
pub(crate) fn out_dir() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("anyscope-bench")
}
