//! Scaling the Gearman way: two servers, each with its own persistent queue (its own table) on one
//! shared PostgreSQL server, workers connected to both, one client library configured with both.
//!
//! The client is Perl's Gearman::Client (Debian libgearman-client-perl) with
//! `job_servers => [a, b]`. Every job has a unique: with a database queue, background jobs with an
//! empty unique collide in the table (PostgreSQL refuses the second, as with C gearmand). The
//! client picks the server by hashing the unique, which spreads jobs over both servers, but does
//! not fail over by itself, so the driver retries a failed submission through a second client
//! listing the servers in the other order, as an application would. The `gearman` CLI is no use
//! here: given several `-h`/`-p` it talks to one server only.
//!
//! 1. 30 jobs spread over both servers and run by the workers of both;
//! 2. 20 jobs for a function without workers: queued (and persisted) on both servers;
//! 3. `kill -9` server A: the same client goes on through B, and B's worker runs every job;
//! 4. A restarts on the same port and table: its queued jobs replay and run, and the client
//!    sends jobs to A again once its back-off for A (`backoff_max => 1`) is over.
//!
//! PostgreSQL at 127.0.0.1:5432 (user postgres, db test) or the Perl client missing: loud SKIP,
//! a failure under CI.

mod common;
#[path = "common/ops.rs"]
mod ops;

use common::{skip_unless, wait_for};
use ops::{Behaviour, Gearmand, Worker};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const CONNINFO: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";
/// How long one batch of submissions may take.
const BATCH_TIMEOUT: Duration = Duration::from_secs(60);

/// The Perl client driver: reads `submit <function> <prefix> <n>` lines, submits `n` background
/// jobs with workloads `<prefix>-1..n` through one Gearman::Client, answers one line per job
/// (`ok <workload> <handle> <retries>` or `failed <workload> <error>`) and `end`.
const PERL_CLIENT: &str = r#"
use strict; use warnings;
use Gearman::Client;
$SIG{PIPE} = 'IGNORE';   # a write to a dead server must fail, not kill the client
$| = 1;
# Gearman::Client sends a job with a unique to the server its hash picks, and fails if that one is
# down; the second client (servers in the other order) is the application's fallback.
# A server that refused a connection is skipped for at most a second (backoff_max).
my @clients = map { Gearman::Client->new(job_servers => $_, backoff_max => 1) }
    [@ARGV], [reverse @ARGV];
while (my $line = <STDIN>) {
    my ($cmd, $func, $prefix, $n) = split ' ', $line;
    next unless defined $cmd && $cmd eq 'submit';
    for my $i (1 .. $n) {
        my ($handle, $err, $retries) = (undef, '', 0);
        for my $try (0 .. 4) {
            my $client = $clients[$try % 2];
            $handle = eval {
                $client->dispatch_background($func, "$prefix-$i", { uniq => "$prefix-$i" })
            };
            $err = $@ || 'no handle';
            last if defined $handle;
            $retries++;
        }
        $err =~ s/\s+/ /g;
        print defined $handle ? "ok $prefix-$i $handle $retries\n" : "failed $prefix-$i $err\n";
    }
    print "end\n";
}
"#;

/// One accepted submission: its workload, the port of the server that took it, retries needed.
#[derive(Debug, Clone)]
struct Submitted {
    payload: String,
    port: u16,
    retries: u32,
}

/// A long-lived Perl client process configured with every server.
struct PerlClient {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl PerlClient {
    fn start(ports: &[u16]) -> PerlClient {
        let servers: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let mut child = Command::new("perl")
            .args(["-e", PERL_CLIENT])
            .args(&servers)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn perl");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        PerlClient {
            child,
            stdin,
            lines,
        }
    }

    /// Submits `n` background jobs; panics if one could not be submitted at all.
    fn submit(&mut self, function: &str, prefix: &str, n: usize) -> Vec<Submitted> {
        writeln!(self.stdin, "submit {function} {prefix} {n}").expect("write to perl");
        let deadline = Instant::now() + BATCH_TIMEOUT;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("perl client: no answer for {function} {prefix}"));
            if line == "end" {
                break;
            }
            let parts: Vec<&str> = line.splitn(4, ' ').collect();
            match parts[..] {
                ["ok", payload, handle, retries] => out.push(Submitted {
                    payload: payload.to_string(),
                    port: port_of_handle(handle),
                    retries: retries.parse().unwrap(),
                }),
                _ => panic!("perl client could not submit: {line}"),
            }
        }
        assert_eq!(out.len(), n, "{function} {prefix}: {out:?}");
        out
    }
}

impl Drop for PerlClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Gearman::Client handles are `<host>:<port>//<server handle>`.
fn port_of_handle(handle: &str) -> u16 {
    let (addr, _) = handle
        .split_once("//")
        .unwrap_or_else(|| panic!("handle {handle:?}"));
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

fn on(subs: &[Submitted], port: u16) -> BTreeSet<String> {
    subs.iter()
        .filter(|s| s.port == port)
        .map(|s| s.payload.clone())
        .collect()
}

fn payloads(w: &Worker) -> BTreeSet<String> {
    w.payloads().into_iter().collect()
}

/// A server with its queue in `table`, on `port` ("0" for any).
fn server(port: &str, table: &str) -> Gearmand {
    Gearmand::start(&[
        "-p",
        port,
        "-q",
        "postgres",
        "--libpq-conninfo",
        CONNINFO,
        "--libpq-table",
        table,
    ])
}

/// Drops the test's tables when the test ends, however it ends (best effort, needs psql).
struct Tables(Vec<String>);

impl Drop for Tables {
    fn drop(&mut self) {
        if !common::have_program("psql") {
            eprintln!("psql missing: tables {:?} left in db test", self.0);
            return;
        }
        let sql = format!("DROP TABLE IF EXISTS {}", self.0.join(", "));
        let args = [
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-qc",
            &sql,
        ];
        let _ = ops::run("psql", &args, Duration::from_secs(30));
    }
}

fn postgres_reachable() -> bool {
    let addr: SocketAddr = "127.0.0.1:5432".parse().unwrap();
    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
}

fn perl_client_installed() -> bool {
    Command::new("perl")
        .args(["-MGearman::Client", "-e", "1"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn two_servers_one_shared_database_one_killed_and_restarted() {
    if skip_unless(postgres_reachable(), "PostgreSQL at 127.0.0.1:5432")
        || skip_unless(
            perl_client_installed(),
            "Perl Gearman::Client (libgearman-client-perl)",
        )
    {
        return;
    }
    let tag = format!("{}_{}", std::process::id(), unique_suffix());
    let (table_a, table_b) = (format!("gm_two_a_{tag}"), format!("gm_two_b_{tag}"));
    let _cleanup = Tables(vec![table_a.clone(), table_b.clone()]);
    let mut a = server("0", &table_a);
    let b = server("0", &table_b);
    let (pa, pb) = (a.gear_port, b.gear_port);
    let worker_a = Worker::start(pa, "worker-a", &["work"], Behaviour::Echo);
    let worker_b = Worker::start(pb, "worker-b", &["work"], Behaviour::Echo);
    let mut client = PerlClient::start(&[pa, pb]);

    // 1. The client spreads jobs over both servers; the workers of both run them.
    let first = client.submit("work", "one", 30);
    let (first_a, first_b) = (on(&first, pa), on(&first, pb));
    assert!(
        !first_a.is_empty() && !first_b.is_empty(),
        "not spread: {first:?}"
    );
    wait_for("every first job ran", Duration::from_secs(30), || {
        worker_a.count() + worker_b.count() == 30
    });
    assert_eq!(payloads(&worker_a), first_a);
    assert_eq!(payloads(&worker_b), first_b);

    // 2. Jobs nobody works on yet stay queued, each in its server's table.
    let later = client.submit("later", "later", 20);
    let (later_a, later_b) = (on(&later, pa), on(&later, pb));
    assert!(
        !later_a.is_empty() && !later_b.is_empty(),
        "not spread: {later:?}"
    );

    // 3. Server A dies. The same client carries on through B, B's worker runs everything.
    a.kill9();
    let during = client.submit("work", "two", 20);
    assert!(during.iter().all(|s| s.port == pb), "{during:?}");
    let retried: u32 = during.iter().map(|s| s.retries).sum();
    eprintln!("submissions retried after the kill: {retried}");
    let want_b: BTreeSet<String> = first_b.union(&on(&during, pb)).cloned().collect();
    wait_for(
        "B ran the jobs sent while A was down",
        Duration::from_secs(30),
        || worker_b.count() == want_b.len(),
    );
    assert_eq!(payloads(&worker_b), want_b);

    // 4. A restarts on the same port and table: its queued jobs replay and run.
    let a2 = server(&pa.to_string(), &table_a);
    assert_eq!(a2.gear_port, pa);
    let later_on_a = Worker::start(pa, "later-a", &["later"], Behaviour::Echo);
    let later_on_b = Worker::start(pb, "later-b", &["later"], Behaviour::Echo);
    wait_for(
        "the queued jobs of both servers ran",
        Duration::from_secs(30),
        || later_on_a.count() == later_a.len() && later_on_b.count() == later_b.len(),
    );
    assert_eq!(payloads(&later_on_a), later_a);
    assert_eq!(payloads(&later_on_b), later_b);

    // The client sends jobs to A again once its back-off for A is over (polled, bounded).
    let worker_a2 = Worker::start(pa, "worker-a2", &["work"], Behaviour::Echo);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut after = Vec::new();
    while on(&after, pa).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the restarted server gets no jobs: {after:?}"
        );
        if !after.is_empty() {
            std::thread::sleep(Duration::from_millis(100));
        }
        after.extend(client.submit("work", &format!("three{}", after.len()), 4));
    }
    let want_b: BTreeSet<String> = want_b.union(&on(&after, pb)).cloned().collect();
    wait_for("both ran them", Duration::from_secs(30), || {
        payloads(&worker_a2) == on(&after, pa) && payloads(&worker_b) == want_b
    });
    drop(b);
}

/// Nanoseconds of the clock: table names stay unique across runs with the same pid.
fn unique_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000_000)
        .unwrap_or(0)
}
