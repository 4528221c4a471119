//! Micro-benchmarks of the gear codec: decoding a batch of pipelined requests (what one socket
//! read hands the plugin) and encoding responses. Run with `cargo bench -p gearmand-protocol-gear`;
//! they measure, they assert nothing about time.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use gearmand_plugin_api::gear::ptype;
use gearmand_plugin_api::{Codec, DecodeSink};
use gearmand_protocol_gear::GearCodec;

/// Counts what the codec hands over, like the host's sink but without copying.
#[derive(Default)]
struct CountingSink {
    requests: usize,
    arg_bytes: usize,
}

impl DecodeSink for CountingSink {
    fn request(&mut self, _kind: u32, args: &[&[u8]]) {
        self.requests += 1;
        self.arg_bytes += args.iter().map(|a| a.len()).sum::<usize>();
    }
    fn write(&mut self, _bytes: &[u8]) {}
}

/// `\0REQ` packet bytes with the arguments joined by NULs.
fn request(kind: u32, args: &[&[u8]]) -> Vec<u8> {
    let body: Vec<u8> = args.join(&0u8);
    let mut v = b"\0REQ".to_vec();
    v.extend_from_slice(&kind.to_be_bytes());
    v.extend_from_slice(&(body.len() as u32).to_be_bytes());
    v.extend_from_slice(&body);
    v
}

fn batch(n: usize, payload: usize) -> Vec<u8> {
    let data = vec![b'x'; payload];
    (0..n)
        .flat_map(|i| {
            let unique = format!("u{i}");
            request(ptype::SUBMIT_JOB_BG, &[b"bench", unique.as_bytes(), &data])
        })
        .collect()
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("gear_decode");
    for (n, payload) in [(64usize, 100usize), (1, 65536)] {
        let input = batch(n, payload);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("{n}x{payload}B_submit_bg"), |b| {
            let mut codec = GearCodec::new();
            b.iter(|| {
                let mut sink = CountingSink::default();
                let (used, _) = codec.decode(black_box(&input), &mut sink);
                assert_eq!(used, input.len());
                sink.requests
            })
        });
    }
    let admin = b"status\r\n".repeat(16);
    g.throughput(Throughput::Elements(16));
    g.bench_function("16_admin_lines", |b| {
        let mut codec = GearCodec::new();
        b.iter(|| {
            codec
                .decode(black_box(&admin), &mut CountingSink::default())
                .0
        })
    });
    g.finish();
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("gear_encode");
    for payload in [100usize, 65536] {
        let data = vec![b'x'; payload];
        g.throughput(Throughput::Elements(1));
        g.bench_function(format!("job_assign_{payload}B"), |b| {
            let mut codec = GearCodec::new();
            b.iter_batched_ref(
                || Vec::with_capacity(payload + 64),
                |out| {
                    let args: [&[u8]; 3] = [b"H:host:123456", b"bench", &data];
                    codec.encode(ptype::JOB_ASSIGN, black_box(&args), out)
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.bench_function("job_created", |b| {
        let mut codec = GearCodec::new();
        let mut out = Vec::with_capacity(64);
        b.iter(|| {
            out.clear();
            codec.encode(ptype::JOB_CREATED, black_box(&[b"H:host:123456"]), &mut out)
        })
    });
    g.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
