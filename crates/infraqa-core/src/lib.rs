//! The pure core of infraqa.
//!
//! Everything here is a function of data: the resource model and inventory, findings and rule
//! ids, and the policy file; rules, scoring, trends and cost over them. This crate performs no
//! IO, reads no environment and no clock, and depends on no AWS SDK crate; the adapters in
//! `infraqa-aws` and the binaries feed it data and take its results.

// Test case tables are tuples read best inline.
#![cfg_attr(test, allow(clippy::type_complexity))]

pub mod actions;
pub mod backtest;
pub mod check;
pub mod cost;
pub mod document;
pub mod export;
pub mod finding;
pub mod fix;
pub mod frameworks;
pub mod history;
pub mod iam;
pub mod inventory;
pub mod lifecycle;
pub mod limits;
pub mod model;
pub mod names;
pub mod observed;
pub mod organization;
pub mod orphans;
pub mod pack;
pub mod policy;
pub mod prices;
pub mod recommend;
pub mod report;
pub mod rules;
pub mod settings;
pub mod synthetic;
pub mod tagging;
pub mod tagset;
pub mod trend;
pub mod usage;
pub mod validation;

/// Rounds to two decimals (cents, score points), so reports and golden files carry stable
/// figures; `-0.0` (an empty float sum) becomes `0.0`.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0 + 0.0
}

/// Runs `a` on a second thread while `b` runs on this one, both borrowing what they need
/// (the passes over a million-resource inventory use both cores); a panic in `a` is resumed
/// here.
pub fn side_by_side<A: Send, B>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B) -> (A, B) {
    std::thread::scope(|scope| {
        let a = scope.spawn(a);
        let b = b();
        let a = a
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (a, b)
    })
}

/// Frees `value` on a thread of its own while the caller goes on (a million-resource inventory
/// is millions of allocations: about a second to free, which the writing of the next document
/// need not wait for). The returned guard waits for the freeing when it is dropped, so no
/// thread outlives its caller's scope; where no thread can be started, `value` is freed here.
#[must_use = "the value is freed when the guard is dropped: bind it for as long as the work it overlaps"]
pub fn free_aside<T: Send + 'static>(value: T) -> Freeing {
    let thread = std::thread::Builder::new()
        .name("infraqa-free".into())
        .spawn(move || drop(value));
    // On a failed spawn the closure, and the value it holds, was dropped by `spawn` already.
    Freeing(thread.ok())
}

/// Waits, when dropped, for what [`free_aside`] is freeing.
#[derive(Debug)]
pub struct Freeing(Option<std::thread::JoinHandle<()>>);

impl Drop for Freeing {
    fn drop(&mut self) {
        if let Some(thread) = self.0.take() {
            // A panic while freeing (a Drop impl) has nothing left to report to: the value is
            // gone either way.
            let _ = thread.join();
        }
    }
}

/// Reads a JSON array on two cores: the array is first split into its elements (serde_json's
/// `RawValue`, slices of the document, nothing copied), then each half is parsed on a thread of
/// its own, in chunks joined in order. An element that does not read is named by `field` and
/// its index. The elements borrow from the document, so the document is read from bytes
/// (`serde_json::from_slice` or `from_str`, as `document` does), not from a reader.
pub(crate) fn read_on_two_cores<'de, D, T>(d: D, field: &str) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned + Send,
{
    use serde::Deserialize;
    use serde::de::Error;
    use serde_json::value::RawValue;
    // At most one chunk is held twice while the chunks are joined. A chunk is allocated at its
    // exact size, over 32 MiB (the largest threshold above which glibc maps an allocation of
    // its own), so each is given back to the system once moved rather than kept in the heap
    // beside the result. Tests use small chunks so that several are read and joined.
    let chunk = if cfg!(test) {
        4
    } else {
        (40 << 20) / std::mem::size_of::<T>().max(1)
    };
    let raw = <Vec<&'de RawValue>>::deserialize(d)?;
    let read =
        |from: usize, part: &[&RawValue]| -> Result<Vec<Vec<T>>, (usize, serde_json::Error)> {
            part.chunks(chunk)
                .enumerate()
                .map(|(c, elements)| {
                    let mut read = Vec::with_capacity(elements.len());
                    for (i, r) in elements.iter().enumerate() {
                        read.push(
                            serde_json::from_str(r.get()).map_err(|e| (from + c * chunk + i, e))?,
                        );
                    }
                    Ok(read)
                })
                .collect()
        };
    let half = raw.len().div_ceil(2);
    let (first, second) = raw.split_at(half);
    let (second, first) = side_by_side(|| read(half, second), || read(0, first));
    let bad = |(i, e): (usize, serde_json::Error)| D::Error::custom(format!("{field}[{i}]: {e}"));
    let mut all = Vec::with_capacity(raw.len());
    for part in first.map_err(bad)?.into_iter().chain(second.map_err(bad)?) {
        all.extend(part);
    }
    Ok(all)
}

pub use finding::{Evidence, Finding, OrphanKind, RuleId, Severity};
pub use inventory::{Inventory, ScanError, ScanStats};
pub use model::{Resource, ResourceDetails, ResourceType};
pub use policy::{Policy, PolicyError};
