//! Actions: run a job and bring a value back to the driver.

use super::{BoxIter, Rdd};
use crate::data::{Data, Key};
use crate::env::ResultFn;
use crate::error::{Error, Result};
use crate::scheduler::TaskContext;
use std::collections::{BinaryHeap, HashMap};
use std::fmt::Display;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// A job's result function: the RDD and the user's function over one partition, resolved
/// by job id on whichever process runs the task.
struct JobFn<T: Data, R, F> {
    rdd: Rdd<T>,
    f: F,
    _r: std::marker::PhantomData<fn() -> R>,
}

impl<T, R, F> ResultFn for JobFn<T, R, F>
where
    T: Data,
    R: Data,
    F: Fn(&TaskContext, BoxIter<T>) -> Result<R> + Send + Sync + 'static,
{
    fn run(&self, tc: &TaskContext) -> Result<Vec<u8>> {
        let it = crate::scheduler::interruptible(self.rdd.iterator(tc.partition(), tc)?, tc);
        let r = (self.f)(tc, it)?;
        if tc.has_failed() {
            // The input ended early on an error; the task fails with it.
            return Ok(Vec::new());
        }
        crate::codec::encode(&r, "task result")
    }
}

impl<T: Data> Rdd<T> {
    /// Runs `f` over every partition (Spark's `runJob`); values in partition order. Each
    /// value comes back in spate's binary format, as from an executor process.
    pub fn run_job<R, F>(&self, f: F) -> Result<Vec<R>>
    where
        R: Data,
        F: Fn(&TaskContext, BoxIter<T>) -> Result<R> + Send + Sync + 'static,
    {
        let parts: Vec<usize> = (0..self.num_partitions()).collect();
        self.run_job_on(&parts, f)
    }

    /// Runs `f` over the given partitions only.
    pub fn run_job_on<R, F>(&self, partitions: &[usize], f: F) -> Result<Vec<R>>
    where
        R: Data,
        F: Fn(&TaskContext, BoxIter<T>) -> Result<R> + Send + Sync + 'static,
    {
        let n = self.num_partitions();
        if let Some(bad) = partitions.iter().find(|p| **p >= n) {
            return Err(Error::InvalidArgument {
                op: "run_job",
                reason: format!("partition {bad} out of range (the RDD has {n})"),
            });
        }
        let func: Arc<dyn ResultFn> = Arc::new(JobFn {
            rdd: self.clone(),
            f,
            _r: std::marker::PhantomData,
        });
        let ctx = self.context();
        let values = ctx
            .scheduler()
            .run_job(ctx, &self.base(), partitions, func)?;
        values
            .iter()
            .map(|v| crate::codec::decode::<R>(v, "task result"))
            .collect()
    }

    /// All records, in partition order.
    pub fn collect(&self) -> Result<Vec<T>> {
        Ok(self
            .run_job(|_, it| Ok(it.collect::<Vec<T>>()))?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Number of records.
    pub fn count(&self) -> Result<u64> {
        Ok(self
            .run_job(|_, it| Ok(it.count() as u64))?
            .into_iter()
            .sum())
    }

    /// The first `n` records, scanning as few partitions as it can (one, then four times
    /// more each round, as Spark does).
    pub fn take(&self, n: usize) -> Result<Vec<T>> {
        let total = self.num_partitions();
        let mut out = Vec::new();
        let mut scanned = 0;
        let mut round = 1;
        while out.len() < n && scanned < total {
            let parts: Vec<usize> = (scanned..(scanned + round).min(total)).collect();
            let left = n - out.len();
            let got =
                self.run_job_on(&parts, move |_, it| Ok(it.take(left).collect::<Vec<T>>()))?;
            for v in got {
                out.extend(v.into_iter().take(n - out.len()));
            }
            scanned += parts.len();
            round *= 4;
        }
        Ok(out)
    }

    /// The first record.
    ///
    /// # Errors
    /// [`Error::EmptyRdd`] when there is none.
    pub fn first(&self) -> Result<T> {
        self.take(1)?
            .into_iter()
            .next()
            .ok_or(Error::EmptyRdd("first"))
    }

    /// Reduces the records with an associative, commutative `f`.
    ///
    /// # Errors
    /// [`Error::EmptyRdd`] when there are no records (as Spark's "empty collection").
    pub fn reduce<F>(&self, f: F) -> Result<T>
    where
        F: Fn(T, T) -> T + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let g = f.clone();
        let partials = self.run_job(move |_, it| Ok(it.reduce(|a, b| g(a, b))))?;
        partials
            .into_iter()
            .flatten()
            .reduce(|a, b| f(a, b))
            .ok_or(Error::EmptyRdd("reduce"))
    }

    /// Folds each partition from `zero`, then the partials from `zero` (Spark's `fold`).
    pub fn fold<F>(&self, zero: T, f: F) -> Result<T>
    where
        F: Fn(T, T) -> T + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let (g, z) = (f.clone(), zero.clone());
        let partials = self.run_job(move |_, it| Ok(it.fold(z.clone(), |a, b| g(a, b))))?;
        Ok(partials.into_iter().fold(zero, |a, b| f(a, b)))
    }

    /// Aggregates each partition with `seq_op` from `zero`, then the partials with
    /// `comb_op` from `zero`.
    pub fn aggregate<U: Data, S, C>(&self, zero: U, seq_op: S, comb_op: C) -> Result<U>
    where
        S: Fn(U, T) -> U + Send + Sync + 'static,
        C: Fn(U, U) -> U + Send + Sync + 'static,
    {
        let z = zero.clone();
        let partials = self.run_job(move |_, it| Ok(it.fold(z.clone(), &seq_op)))?;
        Ok(partials.into_iter().fold(zero, comb_op))
    }

    /// Runs `f` on every record, on the executors.
    pub fn foreach<F>(&self, f: F) -> Result<()>
    where
        F: Fn(T) + Send + Sync + 'static,
    {
        self.run_job(move |_, it| {
            it.for_each(&f);
            Ok(())
        })?;
        Ok(())
    }

    /// Runs `f` on every partition's iterator, on the executors.
    pub fn foreach_partition<F>(&self, f: F) -> Result<()>
    where
        F: Fn(BoxIter<T>) + Send + Sync + 'static,
    {
        self.run_job(move |_, it| {
            f(it);
            Ok(())
        })?;
        Ok(())
    }

    /// The `n` smallest records, ascending.
    pub fn take_ordered(&self, n: usize) -> Result<Vec<T>>
    where
        T: Ord,
    {
        let partials = self.run_job(move |_, it| Ok(smallest(it, n)))?;
        Ok(smallest(partials.into_iter().flatten(), n))
    }

    /// The `n` largest records, descending.
    pub fn top(&self, n: usize) -> Result<Vec<T>>
    where
        T: Ord,
    {
        let partials = self.run_job(move |_, it| {
            Ok(smallest(it.map(std::cmp::Reverse), n)
                .into_iter()
                .map(|r| r.0)
                .collect::<Vec<T>>())
        })?;
        Ok(
            smallest(partials.into_iter().flatten().map(std::cmp::Reverse), n)
                .into_iter()
                .map(|r| r.0)
                .collect(),
        )
    }

    /// Writes one `part-NNNNN` file per partition into directory `path` (which must not
    /// exist), one record per line via `Display`, then an empty `_SUCCESS`.
    pub fn save_as_text_file(&self, path: impl AsRef<Path>) -> Result<()>
    where
        T: Display,
    {
        super::part_files::save_part_files(
            self,
            path.as_ref(),
            "save_as_text_file",
            |w, file, it| {
                for x in it {
                    writeln!(w, "{x}").map_err(|e| Error::io(file, e))?;
                }
                Ok(())
            },
        )
    }
}

impl<T: Key> Rdd<T> {
    /// How many times each distinct record occurs.
    pub fn count_by_value(&self) -> Result<HashMap<T, u64>> {
        self.map(|x| (x, ())).count_by_key()
    }
}

/// The `n` smallest of `it`, ascending.
fn smallest<T: Ord>(it: impl Iterator<Item = T>, n: usize) -> Vec<T> {
    if n == 0 {
        return Vec::new();
    }
    let mut heap = BinaryHeap::with_capacity(n + 1);
    for x in it {
        if heap.len() < n {
            heap.push(x);
        } else if let Some(top) = heap.peek() {
            if x < *top {
                heap.pop();
                heap.push(x);
            }
        }
    }
    heap.into_sorted_vec()
}
