//! Single-task rows, measured twice: in time (interleaved rounds, like every row) and in
//! instructions and heap allocations per unit of work, counted by callgrind.
//!
//! Why callgrind driven by hand, and not a crate: the bench binary re-executes itself under
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect=*counted_region*
//! --dump-after=compare::counted::counted_region`, once per group of sides. Collection is on
//! only while the measuring thread is inside [`counted_region`], and each call leaves a profile
//! of its own, so one process counts every side of a row, interleaved, at two loop lengths; the
//! cost per unit is the difference of the two counts divided by the difference of the lengths,
//! which cancels what a sample costs once (entering the runtime, creating the pool, the first
//! allocations). Nothing else is needed: no client requests (they need `unsafe` or a C build), no
//! runner binary to install (`iai-callgrind` needs its runner from crates.io at a matching
//! version), and the rows stay the closures the timed run uses. Allocations are the calls the
//! measuring thread makes to `malloc`, `calloc`, `posix_memalign`, `aligned_alloc` and `memalign`
//! (new blocks; `realloc` is not counted), read from the same profiles: a counting
//! `#[global_allocator]` would need an implementation of `GlobalAlloc` (an unsafe-to-implement
//! trait), which the workspace forbids, and would slow every timed row.
//!
//! The profiles stay in `<target dir>/anyscope-bench/callgrind/group<G>.out.<D>` for
//! `callgrind_annotate`: group `G` is the index in `counted_groups` (benches/compare.rs), and with
//! `k` sides, dumps `1..=k` are the warm-ups, then each repeat has `k` short samples and `k` long
//! ones, side by side in the order the sides were added.
//!
//! Counts are of the measuring thread only (callgrind's collection state is per thread): the
//! single-task rows run their whole loop there (`block_on`), and the one-thread spawn rows run on
//! a current-thread tokio runtime and a private async-executor that only that thread drives.

use std::hint::black_box;
use std::path::Path;
use std::process::Command;

use crate::harness::{Config, Row, measure, median};

/// A side of a row: runs `n` units of work and returns the nanoseconds per unit.
pub(crate) type Side<'a> = Box<dyn Fn(usize) -> f64 + 'a>;

/// One row printed from a group: side `sides.0` (anyscope's) against side `sides.1`.
pub(crate) struct Spec {
    id: &'static str,
    baseline: &'static str,
    sides: (usize, usize),
    target: Option<f64>,
}

/// Sides that are measured together, and the rows printed from them.
pub(crate) struct Group<'a> {
    runtime: &'static str,
    /// Units of work per timed sample: full run, quick run.
    n: (usize, usize),
    sides: Vec<Side<'a>>,
    specs: Vec<Spec>,
}

impl<'a> Group<'a> {
    pub(crate) fn new(runtime: &'static str, full: usize, quick: usize) -> Self {
        Group { runtime, n: (full, quick), sides: Vec::new(), specs: Vec::new() }
    }

    /// Adds a side (anyscope's first).
    pub(crate) fn side(mut self, f: impl Fn(usize) -> f64 + 'a) -> Self {
        self.sides.push(Box::new(f));
        self
    }

    /// Adds a row: side `sides.0` against side `sides.1`; `target: None` for an info row.
    pub(crate) fn row(
        mut self,
        id: &'static str,
        baseline: &'static str,
        sides: (usize, usize),
        target: Option<f64>,
    ) -> Self {
        self.specs.push(Spec { id, baseline, sides, target });
        self
    }

    /// The ids of its rows, separated by spaces.
    pub(crate) fn ids(&self) -> String {
        self.specs.iter().map(|s| s.id).collect::<Vec<_>>().join(" ")
    }

    /// The timed rows.
    pub(crate) fn timed(&self, cfg: Config) -> Vec<Row> {
        let n = cfg.pick(self.n.0, self.n.1);
        let mut sides: Vec<Box<dyn FnMut() -> f64 + '_>> =
            self.sides.iter().map(|s| Box::new(move || s(n)) as Box<dyn FnMut() -> f64>).collect();
        let mut refs: Vec<&mut dyn FnMut() -> f64> = sides.iter_mut().map(|b| &mut **b as _).collect();
        let m = measure(cfg.rounds, &mut refs);
        self.specs.iter().map(|s| m.row(s.id, self.runtime, s.baseline, s.sides, s.target)).collect()
    }

    /// The body of a `--counted <group> <n1> <n2>` process: each side inside [`counted_region`]
    /// with `n1` units to warm up, then [`REPEATS`] times each with `n1` units and each with
    /// `n2`. The warm-up is counted too (and its profiles ignored): callgrind counts calls even
    /// while collection is off, and the first profile would hold the calls made before it.
    pub(crate) fn run_counted(&self, n1: usize, n2: usize) {
        let passes = std::iter::once(n1).chain((0..REPEATS).flat_map(|_| [n1, n2]));
        for n in passes {
            for side in &self.sides {
                counted_region(&mut || {
                    black_box(side(n));
                });
            }
        }
    }
}

/// The only code callgrind counts (see the module docs). Never inlined: callgrind finds it by name.
#[inline(never)]
pub(crate) fn counted_region(f: &mut dyn FnMut()) {
    f();
    black_box(());
}

/// Loop lengths of the counted runs: the per-unit figure is `(count(N2) - count(N1)) / (N2 - N1)`.
/// Multiples of 64, for the rows that split their units among 64 tasks.
///
/// Each side is counted [`REPEATS`] times at both lengths and the median difference taken: work
/// that another thread may or may not do (async-io's reactor on smol takes timers from whichever
/// thread drives it) once moved a side's count by half in a single pass.
const N1: usize = 1_024;
const N2: usize = 3_072;
const REPEATS: usize = 3;

/// Whether `valgrind` can be run.
pub(crate) fn available() -> bool {
    Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Counts group `index` of `groups` under callgrind and returns its instruction rows and its
/// allocation rows, or why it could not.
pub(crate) fn count(groups: &[Group<'_>], index: usize) -> Result<Vec<Row>, String> {
    let g = &groups[index];
    let dir = crate::harness::out_dir().join("callgrind");
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let base = dir.join(format!("group{index}.out"));
    // Profiles of an earlier run would be read as this run's.
    for k in 0..=(1 + 2 * REPEATS) * g.sides.len() {
        let _ = std::fs::remove_file(dump_path(&base, k));
    }
    let exe = std::env::current_exe().map_err(|e| format!("current exe: {e}"))?;
    let out = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg("--collect-atstart=no")
        .arg("--toggle-collect=*counted_region*")
        // `--dump-after` takes no wildcard: the demangled path, e.g. `compare::counted::counted_region`.
        .arg(format!("--dump-after={}", std::any::type_name_of_val(&counted_region)))
        .arg("--compress-strings=no")
        .arg("--compress-pos=no")
        .arg(format!("--callgrind-out-file={}", base.display()))
        .arg(&exe)
        .args(["--counted", &index.to_string(), &N1.to_string(), &N2.to_string()])
        .output()
        .map_err(|e| format!("run valgrind: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("valgrind exited with {}: {}", out.status, err.lines().last().unwrap_or("")));
    }
    // Dumps 1..=k hold the warm-ups of sides 0..k; then, for each repeat r, k dumps of N1
    // samples and k of N2 samples.
    let k = g.sides.len();
    let d = (N2 - N1) as f64;
    let mut per_unit = Vec::with_capacity(k);
    for side in 0..k {
        let (mut instr, mut allocs) = (Vec::new(), Vec::new());
        for r in 0..REPEATS {
            let a = read_dump(&dump_path(&base, 1 + k + 2 * r * k + side))?;
            let b = read_dump(&dump_path(&base, 1 + k + (2 * r + 1) * k + side))?;
            instr.push((b.0 as f64 - a.0 as f64) / d);
            allocs.push((b.1 as f64 - a.1 as f64) / d);
        }
        per_unit.push((median(instr), median(allocs)));
    }
    let mut rows = Vec::new();
    for (unit, pick) in [("instr/op", 0), ("allocs/op", 1)] {
        for s in &g.specs {
            let value = |i: usize| if pick == 0 { per_unit[i].0 } else { per_unit[i].1 };
            let target = if pick == 0 { s.target } else { None };
            let mut r = Row::ns(s.id, g.runtime, s.baseline, value(s.sides.0), value(s.sides.1), target);
            r.unit = unit;
            rows.push(r);
        }
    }
    Ok(rows)
}

/// The file of dump `k` (callgrind appends `.k` for each dump; `.0` is unused).
fn dump_path(base: &Path, k: usize) -> std::path::PathBuf {
    let mut s = base.as_os_str().to_owned();
    s.push(format!(".{k}"));
    s.into()
}

/// Functions whose calls count as one new heap block each.
const ALLOCATORS: [&str; 5] = ["malloc", "calloc", "posix_memalign", "aligned_alloc", "memalign"];

/// The instructions (`totals:`) and the calls to [`ALLOCATORS`] of one callgrind profile.
fn read_dump(path: &Path) -> Result<(u64, u64), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let mut instructions = None;
    let mut allocs = 0;
    let mut counting = false;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("totals:").or_else(|| line.strip_prefix("summary:")) {
            instructions = v.trim().parse().ok().or(instructions);
        } else if line.starts_with("fn=") {
            counting = false;
        } else if let Some(name) = line.strip_prefix("cfn=") {
            counting = ALLOCATORS.contains(&name.trim());
        } else if let Some(calls) = line.strip_prefix("calls=") {
            if counting {
                allocs += calls.split_whitespace().next().and_then(|c| c.parse::<u64>().ok()).unwrap_or(0);
            }
        }
    }
    let instructions = instructions.ok_or_else(|| format!("{}: no totals line", path.display()))?;
    Ok((instructions, allocs))
}
