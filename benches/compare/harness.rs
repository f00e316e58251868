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
    /// What the `_ns` columns hold: `ns/op` (time per unit of work), `B/child`, `instr/op`
    /// (instructions, callgrind) or `allocs/op` (heap blocks allocated, callgrind).
    pub(crate) unit: &'static str,
    /// The lowest and highest ratio of one round (ours / baseline of the same round), for rows
    /// measured in interleaved rounds; `None` for counts, which do not vary.
    pub(crate) spread: Option<(f64, f64)>,
    /// How many rounds the medians are taken over (1 for counts).
    pub(crate) rounds: usize,
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
        Row {
            id: id.to_string(),
            runtime,
            ours,
            baseline,
            base,
            target,
            unit: "ns/op",
            spread: None,
            rounds: 1,
        }
    }

    /// `None` when the baseline is 0 (an allocation count of a side that allocates nothing).
    pub(crate) fn ratio(&self) -> Option<f64> {
        (self.base > 0.0).then(|| self.ours / self.base)
    }
}

/// The samples of each side of one interleaved measurement (see [`measure`]).
pub(crate) struct Measured {
    medians: Vec<f64>,
    samples: Vec<Vec<f64>>,
}

impl std::ops::Index<usize> for Measured {
    type Output = f64;

    /// The median of side `i`.
    fn index(&self, i: usize) -> &f64 {
        &self.medians[i]
    }
}

impl Measured {
    /// The row of side `ours` against side `base`: the ratio of their medians, and the spread
    /// of the ratios of single rounds (round `r` of both sides ran back to back).
    pub(crate) fn row(
        &self,
        id: &str,
        runtime: &'static str,
        baseline: &'static str,
        (ours, base): (usize, usize),
        target: Option<f64>,
    ) -> Row {
        let ratios: Vec<f64> =
            self.samples[ours].iter().zip(&self.samples[base]).map(|(o, b)| o / b).collect();
        let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut r = Row::ns(id, runtime, baseline, self[ours], self[base], target);
        if lo.is_finite() && hi.is_finite() {
            r.spread = Some((lo, hi));
        }
        r.rounds = ratios.len();
        r
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
/// round so that no side always runs right after the other), and returns every sample and the
/// medians. Each closure returns the cost of one sample per unit of work.
pub(crate) fn measure(rounds: usize, sides: &mut [&mut dyn FnMut() -> f64]) -> Measured {
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
    let medians = samples.iter().cloned().map(median).collect();
    Measured { medians, samples }
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
        "{:<40} {:<7} {:>12} {:<36} {:>12} {:>7} {:>13} {:>7}  unit",
        "row", "runtime", "ours", "baseline", "baseline", "ratio", "round spread", "target"
    );
}

pub(crate) fn print_row(r: &Row) {
    let target = r.target.map_or("-".to_string(), |t| format!("{t:.2}"));
    let flag = match (r.target, r.ratio()) {
        (Some(t), Some(ratio)) if ratio > t => "  ABOVE TARGET",
        _ => "",
    };
    let ratio = r.ratio().map_or("-".to_string(), |x| format!("{x:.3}"));
    let spread = r.spread.map_or("-".to_string(), |(lo, hi)| format!("{lo:.2}-{hi:.2}"));
    println!(
        "{:<40} {:<7} {:>12.2} {:<36} {:>12.2} {:>7} {:>13} {:>7}  {}{}",
        r.id, r.runtime, r.ours, r.baseline, r.base, ratio, spread, target, r.unit, flag
    );
}

/// The rows as a JSON array, written by hand.
pub(crate) fn to_json(rows: &[Row]) -> String {
    let mut s = String::from("[\n");
    for (i, r) in rows.iter().enumerate() {
        let num = |x: Option<f64>| x.map_or("null".to_string(), |x| format!("{x:.4}"));
        let _ = write!(
            s,
            "  {{\"id\": \"{}\", \"runtime\": \"{}\", \"unit\": \"{}\", \"ours_ns\": {:.2}, \
             \"baseline\": \"{}\", \"baseline_ns\": {:.2}, \"ratio\": {}, \"target\": {}, \
             \"ratio_min\": {}, \"ratio_max\": {}, \"rounds\": {}}}",
            escape(&r.id),
            escape(r.runtime),
            escape(r.unit),
            r.ours,
            escape(r.baseline),
            r.base,
            num(r.ratio()),
            num(r.target),
            num(r.spread.map(|s| s.0)),
            num(r.spread.map(|s| s.1)),
            r.rounds
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
