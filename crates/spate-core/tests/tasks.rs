//! Tasks are data: descriptions travel encoded, are resolved against the process's own
//! registries, and results come back as bytes, on the local executor too.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use spate_core::codec;
use spate_core::scheduler::{
    run_encoded, EncodedTask, TaskDescription, TaskFailure, TaskKind, TaskResult,
};
use spate_core::{Context, Error};

fn describe(rdd_id: usize, fingerprint: u64, job_id: usize, kind: TaskKind) -> EncodedTask {
    let desc = TaskDescription {
        task_id: 7,
        job_id,
        stage_id: 0,
        stage_attempt: 0,
        partition: 0,
        attempt: 0,
        rdd_id,
        fingerprint,
        kind,
        map_statuses: Vec::new(),
    };
    EncodedTask {
        task_id: 7,
        bytes: codec::encode(&desc, "test").unwrap(),
        preferred: None,
    }
}

fn run(ctx: &Context, task: &EncodedTask) -> TaskResult {
    let bytes = run_encoded(task, ctx.env().clone());
    codec::decode(&bytes, "test").unwrap()
}

#[test]
fn a_description_naming_an_unknown_rdd_fails_naming_it() {
    let ctx = Context::local(1).unwrap();
    let r = run(&ctx, &describe(987_654, 1, 0, TaskKind::Result));
    assert_eq!(r.task_id, 7);
    let failure = r.outcome.unwrap_err();
    assert_eq!(
        failure,
        TaskFailure::Unresolved {
            kind: "rdd".into(),
            id: 987_654
        }
    );
    let msg = failure.into_error().to_string();
    assert!(msg.contains("rdd 987654"), "{msg}");
}

#[test]
fn a_description_naming_an_unknown_shuffle_or_job_fails_naming_it() {
    let ctx = Context::local(1).unwrap();
    let rdd = ctx.parallelize_with(vec![1, 2, 3], 1);
    let shuffle = run(
        &ctx,
        &describe(
            rdd.id(),
            rdd.fingerprint(),
            0,
            TaskKind::ShuffleMap { shuffle_id: 4242 },
        ),
    );
    let e = shuffle.outcome.unwrap_err().into_error();
    assert!(
        matches!(
            e,
            Error::Unresolved {
                kind: "shuffle",
                id: 4242
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("shuffle 4242"), "{e}");
    let job = run(
        &ctx,
        &describe(rdd.id(), rdd.fingerprint(), 999, TaskKind::Result),
    );
    let e = job.outcome.unwrap_err().into_error();
    assert!(e.to_string().contains("job 999"), "{e}");
}

#[test]
fn a_description_with_another_lineage_fails_naming_the_operation() {
    let ctx = Context::local(1).unwrap();
    let rdd = ctx.parallelize_with(vec![1, 2, 3], 1).map(|x| x + 1);
    let r = run(
        &ctx,
        &describe(rdd.id(), rdd.fingerprint() ^ 1, 0, TaskKind::Result),
    );
    let e = r.outcome.unwrap_err().into_error().to_string();
    assert!(e.contains("lineage mismatch") && e.contains("map"), "{e}");
}

#[test]
fn undecodable_task_bytes_are_a_failure_not_a_panic() {
    let ctx = Context::local(1).unwrap();
    let r = run(
        &ctx,
        &EncodedTask {
            task_id: 3,
            bytes: vec![0xff; 3],
            preferred: None,
        },
    );
    assert_eq!(r.task_id, 3);
    assert!(matches!(r.outcome, Err(TaskFailure::Error(m)) if m.contains("task description")));
}

/// Serializes as its value and deserializes as value + 1000: if results travel as bytes,
/// the driver sees every value shifted.
#[derive(Debug, Clone, PartialEq)]
struct Shifted(i64);

impl Serialize for Shifted {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Shifted {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Shifted(i64::deserialize(d)? + 1000))
    }
}

#[test]
fn results_and_accumulator_updates_travel_as_bytes_on_the_local_executor() {
    let ctx = Context::local(2).unwrap();
    let rdd = ctx.parallelize_with(vec![1i64, 2, 3, 4], 2);
    let got = rdd.run_job(|_, it| Ok(Shifted(it.sum::<i64>()))).unwrap();
    assert_eq!(got, vec![Shifted(1003), Shifted(1007)]);

    // A custom accumulator whose encoding drops odd additions: the driver merges what the
    // tasks sent as bytes, not the tasks' in-memory copies.
    #[derive(Debug, Clone, Default)]
    struct EvenOnly(i64);
    impl Serialize for EvenOnly {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            (self.0 - self.0 % 2).serialize(s)
        }
    }
    impl<'de> Deserialize<'de> for EvenOnly {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            Ok(EvenOnly(i64::deserialize(d)?))
        }
    }
    impl spate_core::AccumulatorV2 for EvenOnly {
        type In = i64;
        type Out = i64;
        fn add(&mut self, v: i64) {
            self.0 += v;
        }
        fn merge(&mut self, o: Self) {
            self.0 += o.0;
        }
        fn value(&self) -> i64 {
            self.0
        }
    }
    let acc = ctx.register_accumulator(EvenOnly::default(), Some("even"));
    let a = acc.clone();
    // Partition sums: 1+2 = 3 (sent as 2) and 3+4 = 7 (sent as 6).
    rdd.foreach(move |x| a.add(x)).unwrap();
    assert_eq!(acc.value(), 8);
}
