//! Micro-benchmarks of the scheduler: background submits into an empty and into a deep queue,
//! and a whole foreground cycle (submit, grab, complete) — what the engine does per job, without
//! sockets. Run with `cargo bench -p gearmand --bench engine`; they measure, they assert nothing
//! about time.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use gearmand::engine::{Clock, Engine, EngineConfig, Outbox};
use gearmand::frame::Frame;
use gearmand::msg::{AdminRights, ConnId, ConnInfo, ToEngine};
use gearmand::queue::Builtin;
use gearmand_plugin_api::gear::ptype;

const CLIENT: ConnId = ConnId(1);
const WORKER: ConnId = ConnId(2);

fn engine() -> Engine {
    let cfg = EngineConfig {
        handle_prefix: "H:bench".into(),
        job_retries: -1,
        worker_wakeup: 0,
        round_robin: true,
        exceptions: false,
        verbose_name: "ERROR".into(),
        version: "bench".into(),
        pid: 1,
        remote_shutdown: false,
        grab_hold: std::time::Duration::ZERO,
    };
    let mut e = Engine::new(cfg, Box::new(Builtin));
    let mut out = Outbox::default();
    for c in [CLIENT, WORKER] {
        let info = ConnInfo {
            peer: "127.0.0.1:1".parse().unwrap(),
            fd: 0,
            protocol: "gear",
            admin: AdminRights::ALL,
        };
        e.handle(ToEngine::Opened(c, info), Clock::now(), &mut out);
    }
    e
}

fn send(e: &mut Engine, c: ConnId, f: Frame, now: Clock, out: &mut Outbox) {
    e.handle(ToEngine::Request(c, f), now, out);
}

/// `n` background jobs with distinct uniques (so the coalescing index is exercised too).
fn submit_bg(e: &mut Engine, from: u64, n: u64, out: &mut Outbox) {
    let now = Clock::now();
    let data = [b'x'; 100];
    for i in from..from + n {
        let unique = format!("u{i}");
        let f = Frame::with_args(ptype::SUBMIT_JOB_BG, &[b"bench", unique.as_bytes(), &data]);
        send(e, CLIENT, f, now, out);
        out.msgs.clear();
    }
}

fn submit(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine_submit_bg");
    g.throughput(Throughput::Elements(1000));
    g.bench_function("1000_into_empty_queue", |b| {
        b.iter_batched(
            engine,
            |mut e| {
                let mut out = Outbox::default();
                submit_bg(&mut e, 0, 1000, &mut out);
                e
            },
            BatchSize::LargeInput,
        )
    });
    // The same 1000 submits on top of 200k queued jobs: the cost must not grow with depth.
    let mut deep = engine();
    let mut out = Outbox::default();
    submit_bg(&mut deep, 0, 200_000, &mut out);
    let mut next = 200_000;
    g.bench_function("1000_into_200k_deep_queue", |b| {
        b.iter(|| {
            submit_bg(&mut deep, next, 1000, &mut out);
            next += 1000;
        })
    });
    g.finish();
}

/// One foreground job end to end: SUBMIT_JOB, GRAB_JOB, WORK_COMPLETE.
fn cycle(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine_cycle");
    g.throughput(Throughput::Elements(1));
    let mut e = engine();
    let mut out = Outbox::default();
    let now = Clock::now();
    send(
        &mut e,
        WORKER,
        Frame::with_args(ptype::CAN_DO, &[b"bench"]),
        now,
        &mut out,
    );
    let data = [b'x'; 100];
    g.bench_function("submit_grab_complete_100B", |b| {
        b.iter(|| {
            let now = Clock::now();
            let f = Frame::with_args(ptype::SUBMIT_JOB, &[b"bench", b"", &data]);
            send(&mut e, CLIENT, f, now, &mut out);
            send(&mut e, WORKER, Frame::new(ptype::GRAB_JOB), now, &mut out);
            let handle = out
                .msgs
                .iter()
                .find_map(|m| match m {
                    gearmand::msg::ToIo::Send(c, f)
                        if *c == WORKER && f.kind() == ptype::JOB_ASSIGN =>
                    {
                        Some(f.arg(0).to_vec())
                    }
                    _ => None,
                })
                .expect("the worker got the job");
            let done = Frame::with_args(ptype::WORK_COMPLETE, &[&handle, &data]);
            send(&mut e, WORKER, done, now, &mut out);
            black_box(out.msgs.len());
            out.msgs.clear();
        })
    });
    g.finish();
}

criterion_group!(benches, submit, cycle);
criterion_main!(benches);
