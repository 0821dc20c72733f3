//! The job queue under concurrency, lease expiry, failure and retry.

use crate::common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::TestDb;
use kensa_store::{FailOutcome, JobState, RetryPolicy, StoreError};
use serde_json::json;

/// 500 jobs, 4 workers with a connection each: every job done exactly
/// once. On PostgreSQL the workers skip each other's locked rows; on
/// SQLite they take turns on the write lock.
fn every_job_is_done_exactly_once_by_concurrent_workers(t: &TestDb) {
    const N: usize = 500;
    let db = t.open();
    let mut ids = BTreeSet::new();
    for i in 0..N {
        ids.insert(
            db.enqueue("evaluate", &json!({ "asset": i }), None)
                .expect("enqueue"),
        );
    }
    assert_eq!(ids.len(), N);
    let clock = Instant::now();
    // The workers start claiming together, so that they contend.
    let start = std::sync::Barrier::new(4);
    let done: Vec<Vec<(kensa_store::JobId, serde_json::Value)>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let start = &start;
                s.spawn(move || {
                    let db = t.open();
                    let name = format!("worker-{w}");
                    start.wait();
                    let mut done = Vec::new();
                    while let Some(job) = db
                        .claim(&name, &["evaluate"], Duration::from_secs(60))
                        .expect("claim")
                    {
                        assert_eq!(job.attempt, 1);
                        // The work: without it, SQLite's unfair lock lets
                        // one worker take every job while the others sleep
                        // in the busy handler.
                        std::thread::sleep(Duration::from_millis(1));
                        db.complete(&job).expect("complete");
                        done.push((job.id, job.payload));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|h| h.join().expect("worker"))
            .collect()
    });
    let per_worker: Vec<usize> = done.iter().map(Vec::len).collect();
    let all: Vec<_> = done.into_iter().flatten().collect();
    let unique: BTreeSet<_> = all.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        all.len(),
        N,
        "{}: a job was done twice: {per_worker:?}",
        t.name()
    );
    assert_eq!(unique, ids);
    assert!(
        per_worker.iter().filter(|n| **n > 0).count() >= 2,
        "the workers did not run concurrently: {per_worker:?}"
    );
    let payloads: BTreeSet<u64> = all
        .iter()
        .filter_map(|(_, p)| p["asset"].as_u64())
        .collect();
    assert_eq!(payloads.len(), N);
    eprintln!(
        "{}: {N} jobs in {:?}, per worker {per_worker:?}",
        t.name(),
        clock.elapsed()
    );
    let jobs = db.jobs(Some("evaluate")).expect("jobs");
    assert!(
        jobs.iter()
            .all(|j| j.state == JobState::Done && j.attempts == 1)
    );
    assert!(
        db.claim("late", &[], Duration::from_secs(1))
            .expect("claim")
            .is_none()
    );
}

/// A worker that claims a job and dies: the job comes back when its lease
/// runs out, and the dead worker's late result is refused.
fn an_expired_lease_is_claimed_again_and_the_late_result_refused(t: &TestDb) {
    let db1 = t.open();
    let db2 = t.open();
    let id = db1
        .enqueue("export", &json!({"format": "csv"}), None)
        .expect("enqueue");
    let first = db1
        .claim("w1", &["export"], Duration::from_secs(1))
        .expect("claim")
        .expect("a job");
    assert_eq!((first.id, first.attempt), (id, 1));
    // Leased: nobody else gets it, whatever kinds they ask for.
    assert!(
        db2.claim("w2", &[], Duration::from_secs(30))
            .expect("claim")
            .is_none()
    );
    std::thread::sleep(Duration::from_millis(1100));
    let second = db2
        .claim("w2", &["export"], Duration::from_secs(30))
        .expect("claim")
        .expect("the job again");
    assert_eq!((second.id, second.attempt), (id, 2));
    match db1.complete(&first) {
        Err(StoreError::LeaseLost { job, attempt, .. }) => assert_eq!((job, attempt), (id.0, 1)),
        other => panic!("{}: late complete: {other:?}", t.name()),
    }
    assert!(matches!(
        db1.fail(&first, "late"),
        Err(StoreError::LeaseLost { .. })
    ));
    let mut renewed = first.clone();
    assert!(matches!(
        db1.extend_lease(&mut renewed, Duration::from_secs(5)),
        Err(StoreError::LeaseLost { .. })
    ));
    let mut second = second;
    db2.extend_lease(&mut second, Duration::from_secs(60))
        .expect("owner renews");
    db2.complete(&second).expect("the owner completes");
    let info = db2.job(id).expect("read").expect("exists");
    assert_eq!(info.state, JobState::Done);
    assert_eq!(info.attempts, 2);
    assert_eq!(info.locked_by.as_deref(), Some("w2"));
    // Done is final: completing twice is refused too.
    assert!(db2.complete(&second).is_err());
}

/// Failures are retried after a doubling wait, counted, and given up
/// after the last attempt; a worker that dies on its last attempt fails
/// the job instead of looping forever.
fn failures_retry_with_backoff_then_give_up(t: &TestDb) {
    let mut db = t.open();
    // The default policy: the first retry 30 s later.
    let id = db
        .enqueue("feed-update", &json!({"feed": "osv"}), None)
        .expect("enqueue");
    let job = db
        .claim("w", &[], Duration::from_secs(30))
        .expect("claim")
        .expect("job");
    let Ok(FailOutcome::Retry { at }) = db.fail(&job, "HTTP 503") else {
        panic!("first failure retries");
    };
    let info = db.job(id).expect("read").expect("exists");
    assert_eq!(info.state, JobState::Queued);
    assert_eq!(info.attempts, 1);
    assert_eq!(info.last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(info.run_at, at);
    assert_eq!(at.unix_ms() - info.updated_at.unix_ms(), 30_000);
    assert!(
        db.claim("w", &[], Duration::from_secs(30))
            .expect("claim")
            .is_none(),
        "not yet due"
    );

    db.set_retry_policy(RetryPolicy {
        max_attempts: 3,
        base: Duration::from_millis(200),
        max: Duration::from_secs(10),
    });
    let id = db
        .enqueue("evaluate", &json!({"asset": 7}), None)
        .expect("enqueue");
    let mut waits = Vec::new();
    for attempt in 1..=3 {
        let job = loop {
            if let Some(j) = db
                .claim("w", &["evaluate"], Duration::from_secs(30))
                .expect("claim")
            {
                break j;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!((job.id, job.attempt), (id, attempt));
        match db.fail(&job, &format!("boom {attempt}")).expect("fail") {
            FailOutcome::Retry { at } => {
                let info = db.job(id).expect("read").expect("exists");
                waits.push(at.unix_ms() - info.updated_at.unix_ms());
            }
            FailOutcome::GaveUp => assert_eq!(attempt, 3),
        }
    }
    assert_eq!(waits, [200, 400]);
    let info = db.job(id).expect("read").expect("exists");
    assert_eq!(info.state, JobState::Failed);
    assert_eq!(info.attempts, 3);
    assert_eq!(info.last_error.as_deref(), Some("boom 3"));
    assert!(info.finished_at.is_some());

    // A job whose worker dies on every attempt.
    let id = db.enqueue("poison", &json!({}), None).expect("enqueue");
    for attempt in 1..=3 {
        let job = db
            .claim("doomed", &["poison"], Duration::from_millis(100))
            .expect("claim")
            .expect("job");
        assert_eq!(job.attempt, attempt);
        std::thread::sleep(Duration::from_millis(150));
    }
    assert!(
        db.claim("w", &["poison"], Duration::from_secs(1))
            .expect("claim")
            .is_none()
    );
    let info = db.job(id).expect("read").expect("exists");
    assert_eq!(info.state, JobState::Failed);
    assert!(
        info.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("doomed")
    );
}

/// A dedupe key folds requests for the same work into the queued job; once
/// it runs, a new request queues a new job.
fn dedupe_keys_fold_queued_jobs(t: &TestDb) {
    let db = t.open();
    let a = db
        .enqueue("evaluate", &json!({"v": 1}), Some("asset:1"))
        .expect("enqueue");
    let b = db
        .enqueue("evaluate", &json!({"v": 2}), Some("asset:1"))
        .expect("enqueue");
    let other = db
        .enqueue("evaluate", &json!({"v": 1}), Some("asset:2"))
        .expect("enqueue");
    let export = db
        .enqueue("export", &json!({}), Some("asset:1"))
        .expect("enqueue");
    assert_eq!(a, b);
    assert_ne!(a, other);
    assert_ne!(a, export);
    assert_eq!(
        db.job(a).expect("read").expect("exists").payload,
        json!({"v": 2})
    );
    let job = db
        .claim("w", &["evaluate"], Duration::from_secs(30))
        .expect("claim")
        .expect("job");
    assert_eq!(job.id, a);
    let c = db
        .enqueue("evaluate", &json!({"v": 3}), Some("asset:1"))
        .expect("enqueue");
    assert_ne!(c, a, "the running job does not absorb newer requests");
    // Its retry would duplicate the queued job: it gives up instead.
    assert_eq!(db.fail(&job, "boom").expect("fail"), FailOutcome::GaveUp);
    let info = db.job(a).expect("read").expect("exists");
    assert_eq!(info.state, JobState::Failed);
    assert!(
        info.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("queued for the same work")
    );
}

/// A worker process killed while it holds a job: its connection is gone
/// but its claim was committed, so the job waits out the lease and then
/// goes to another worker.
fn a_killed_worker_process_loses_no_work(t: &TestDb) {
    use std::io::BufRead;
    let db = t.open();
    let id = db
        .enqueue("evaluate", &json!({"asset": 1}), None)
        .expect("enqueue");
    let spec = match &t.backend {
        kensa_store::Backend::Sqlite(p) => format!("sqlite:{}", p.display()),
        kensa_store::Backend::Postgres(url) => url.clone(),
    };
    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "queue::doomed_worker_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KENSA_STORE_DOOMED_WORKER", spec)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the worker process");
    let out = child.stdout.take().expect("stdout");
    // libtest may print its own "test … " before the line on the same
    // line; a reader thread, so that a silent child cannot hang the test.
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let claimed = std::io::BufReader::new(out)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| l.split_once("claimed ").map(|(_, id)| id.trim().to_owned()));
        let _ = send.send(claimed);
    });
    let claimed = receive.recv_timeout(Duration::from_secs(60)).ok().flatten();
    child.kill().expect("kill");
    child.wait().expect("reap");
    assert_eq!(
        claimed,
        Some(id.0.to_string()),
        "the worker process claimed the job"
    );

    assert!(
        db.claim("w2", &[], Duration::from_secs(30))
            .expect("claim")
            .is_none()
    );
    std::thread::sleep(Duration::from_millis(1100));
    let job = db
        .claim("w2", &[], Duration::from_secs(30))
        .expect("claim")
        .expect("the dead worker's job");
    assert_eq!((job.id, job.attempt), (id, 2));
    db.complete(&job).expect("complete");
}

/// The worker process of `a_killed_worker_process_loses_no_work`: claims
/// one job for 1 s and hangs until killed. A no-op when run as a test.
#[test]
fn doomed_worker_process() {
    use std::io::Write;
    let Ok(spec) = std::env::var("KENSA_STORE_DOOMED_WORKER") else {
        return;
    };
    let backend = match spec.strip_prefix("sqlite:") {
        Some(path) => kensa_store::Backend::Sqlite(path.into()),
        None => kensa_store::Backend::Postgres(spec),
    };
    let db = kensa_store::Db::open(&backend).expect("open");
    let job = db
        .claim("doomed", &[], Duration::from_secs(1))
        .expect("claim")
        .expect("a job");
    println!("claimed {}", job.id.0);
    std::io::stdout().flush().expect("flush");
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

both!(
    a_killed_worker_process_loses_no_work,
    every_job_is_done_exactly_once_by_concurrent_workers,
    an_expired_lease_is_claimed_again_and_the_late_result_refused,
    failures_retry_with_backoff_then_give_up,
    dedupe_keys_fold_queued_jobs
);
