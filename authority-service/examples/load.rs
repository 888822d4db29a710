//! Load test of the write authority service (a benchmark, not a test): N simulated
//! counters write concurrently over HTTPS with mutual TLS on 127.0.0.1, each a
//! thread with its own in-process simulated card (write application, the
//! deployment's write PKI) and its own client certificate; first against **one
//! instance on SQLite**, then against **two instances sharing a PostgreSQL
//! cluster** (a private one under `target/`, fsync on), the counters' messages
//! alternating between the two instances.
//!
//! ```sh
//! cargo run --release -p zairyu-authority --example load -- --counters 8 --writes 10
//! ```
//!
//! Prints writes per second and the p50/p99 latency of one round trip (one HTTPS
//! request: TLS 1.3 handshake with client certificate, the service's work, the
//! answer), then checks that every card holds exactly the content of its receipt,
//! that the receipt's audit record is in the log (`written`, same content hash, same
//! chain hash), and that the audit chain is whole. Bounded: `--counters` ≤ 32,
//! `--writes` ≤ 100 per counter, and no write starts after `--max-seconds`.
//! Loopback only.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use common::{card, file, pg, to_postgres, write};
use zairyu::files::CardType;
use zairyu::write::authority::{Batch, Next};
use zairyu::write::relay::{AuthorityLink, LinkError, OpenRequest};
use zairyu::write::sha256;
use zairyu_authority::config::Config;
use zairyu_authority::http::RunningServer;
use zairyu_authority::service::open_store;
use zairyu_authority_core::audit::{AuditResult, verify_chain};
use zairyu_authority_core::remote::{RemoteAuthority, RemoteOptions};

/// An authority link that times each round trip.
struct Timed {
    inner: RemoteAuthority,
    samples: Vec<Duration>,
}

impl AuthorityLink for Timed {
    fn open(&mut self, r: &OpenRequest) -> Result<Batch, LinkError> {
        let t = Instant::now();
        let out = self.inner.open(r);
        self.samples.push(t.elapsed());
        out
    }
    fn send(&mut self, r: &[Vec<u8>]) -> Result<Next, LinkError> {
        let t = Instant::now();
        let out = self.inner.send(r);
        self.samples.push(t.elapsed());
        out
    }
}

struct Args {
    counters: usize,
    writes: usize,
    max_seconds: u64,
    only: Option<String>,
}

fn args() -> Result<Args, String> {
    let mut a = Args { counters: 8, writes: 10, max_seconds: 60, only: None };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or(format!("{k} needs a value"));
        match k.as_str() {
            "--counters" => a.counters = v()?.parse().map_err(|_| "--counters N")?,
            "--writes" => a.writes = v()?.parse().map_err(|_| "--writes N")?,
            "--max-seconds" => a.max_seconds = v()?.parse().map_err(|_| "--max-seconds N")?,
            "--only" => a.only = Some(v()?),
            _ => {
                return Err(format!(
                    "unknown argument {k}; use --counters N --writes N --max-seconds N --only sqlite|postgres"
                ));
            }
        }
    }
    if !(1..=32).contains(&a.counters) || !(1..=100).contains(&a.writes) || !(1..=600).contains(&a.max_seconds) {
        return Err("bounds: --counters 1..32, --writes 1..100, --max-seconds 1..600".into());
    }
    Ok(a)
}

/// One finished write: the card's file, the receipt's content hash and audit head.
struct Done {
    counter: String,
    file_sha256: String,
    receipt_sha256: String,
    audit_seq: u64,
    audit_hash: String,
}

struct Run {
    done: Vec<Done>,
    failed: Vec<String>,
    samples: Vec<Duration>,
    wall: Duration,
}

fn counters(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("load-{i:02}")).collect()
}

/// Every counter writes `writes` times (or until the deadline), all at once.
fn drive(dir: &Path, urls: &[String], a: &Args) -> Run {
    let pki = zairyu_sim::write_pki::WritePki::load(&dir.join("pki")).expect("the write PKI");
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    let start = std::sync::Barrier::new(a.counters + 1);
    let deadline = Duration::from_secs(a.max_seconds);
    let mut run = Run { done: Vec::new(), failed: Vec::new(), samples: Vec::new(), wall: Duration::ZERO };
    std::thread::scope(|s| {
        let threads: Vec<_> = counters(a.counters)
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let (pki, urls, start) = (&pki, &urls, &start);
                s.spawn(move || {
                    let tls = dir.join("tls");
                    let opts = RemoteOptions {
                        connect_timeout: Duration::from_secs(5),
                        io_timeout: Duration::from_secs(30),
                        retries: 2,
                        retry_pause: Duration::from_millis(100),
                        round_robin: urls.len() > 1,
                    };
                    let remote = RemoteAuthority::from_files(
                        urls,
                        &tls.join(format!("{c}.pem")),
                        &tls.join(format!("{c}.key")),
                        &tls.join("ca.pem"),
                    )
                    .expect("the counter's TLS files")
                    .with_options(opts);
                    let mut link = Timed { inner: remote, samples: Vec::new() };
                    // Half the counters write first-generation cards, half second.
                    let t = if i % 2 == 0 { CardType::ResidenceCard } else { CardType::Gen2ResidenceCard };
                    let (mut done, mut failed) = (Vec::new(), Vec::new());
                    start.wait();
                    let began = Instant::now();
                    for _ in 0..a.writes {
                        if began.elapsed() > deadline {
                            break;
                        }
                        let (out, after) = write(zairyu_sim::SimCard::new(card(pki, t)), &mut link, "131016");
                        match out {
                            Ok(o) => {
                                let head = link.inner.last_audit_head();
                                done.push(Done {
                                    counter: c.clone(),
                                    file_sha256: hex::encode(sha256(&file(&after, t))),
                                    receipt_sha256: o.receipt.content_sha256.clone(),
                                    audit_seq: head.map_or(0, |h| h.seq),
                                    audit_hash: head.map(|h| hex::encode(h.hash)).unwrap_or_default(),
                                })
                            }
                            Err(e) => failed.push(format!("{c}: {e}")),
                        }
                    }
                    (done, failed, link.samples)
                })
            })
            .collect();
        start.wait();
        let began = Instant::now();
        for t in threads {
            let (d, f, samples) = t.join().expect("a counter thread");
            run.done.extend(d);
            run.failed.extend(f);
            run.samples.extend(samples);
        }
        run.wall = began.elapsed();
    });
    run
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let k = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[k.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// Checks the run against the log; the problems found.
fn check(config: &Config, run: &Run) -> Vec<String> {
    let mut problems = Vec::new();
    let mut store = match open_store(config) {
        Ok(s) => s,
        Err(e) => return vec![format!("database: {e}")],
    };
    let entries = match store.audit_entries() {
        Ok(e) => e,
        Err(e) => return vec![format!("database: {e}")],
    };
    match verify_chain(&entries, None) {
        Ok(v) => println!("  audit chain whole: {} records, head {}", v.records, v.head.seq),
        Err(b) => problems.push(format!("audit chain broken: {b}")),
    }
    let entries: Vec<_> = entries.into_iter().flatten().collect();
    let written = entries.iter().filter(|e| e.record.result == AuditResult::Written).count();
    if written != run.done.len() {
        problems.push(format!("{} receipts but {written} `written` records", run.done.len()));
    }
    for d in &run.done {
        if d.file_sha256 != d.receipt_sha256 {
            problems.push(format!("{}: the card does not hold the receipt's content", d.counter));
        }
        let e = d.audit_seq.checked_sub(1).and_then(|i| entries.get(usize::try_from(i).ok()?));
        let ok = e.is_some_and(|e| {
            e.seq == d.audit_seq
                && hex::encode(e.hash) == d.audit_hash
                && e.record.result == AuditResult::Written
                && e.record.counter_id == d.counter
                && e.record.new_content_sha256.map(hex::encode).as_deref() == Some(d.receipt_sha256.as_str())
        });
        if !ok {
            problems.push(format!("{}: receipt's audit record {} is not in the log as issued", d.counter, d.audit_seq));
        }
    }
    if problems.is_empty() {
        println!(
            "  every card holds exactly its receipt's content; every receipt's `written` record is in the chain ({} writes)",
            run.done.len()
        );
    }
    problems
}

fn report(name: &str, instances: usize, a: &Args, run: &mut Run) {
    run.samples.sort();
    let n = run.done.len();
    println!(
        "{name:<9} instances {instances}  counters {:>2}  writes {n:>4} ok, {} failed  in {:>6.2} s  {:>6.1} writes/s  \
         round trips {}  p50 {:>6.1} ms  p99 {:>6.1} ms",
        a.counters,
        run.failed.len(),
        run.wall.as_secs_f64(),
        n as f64 / run.wall.as_secs_f64().max(1e-9),
        run.samples.len(),
        percentile(&run.samples, 50.0),
        percentile(&run.samples, 99.0),
    );
    for f in run.failed.iter().take(5) {
        println!("  failed: {f}");
    }
}

/// A deployment for the load: `init` with the load counters, a policy without rate limits.
fn deployment(a: &Args) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let r = zairyu_authority::init::init(dir.path(), &counters(a.counters), "127.0.0.1:0").expect("init");
    let mut policy = String::from("version = 1\n");
    for c in counters(a.counters) {
        policy.push_str(&format!("\n[[counter]]\nid = \"{c}\"\nmunicipalities = [\"*\"]\n"));
    }
    std::fs::write(dir.path().join("policy.toml"), policy).expect("policy");
    (dir, r.config)
}

fn main() -> ExitCode {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("load: {e}");
            return ExitCode::from(2);
        }
    };
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "load test: {} counters x {} writes, HTTPS mutual TLS on 127.0.0.1, {cpus} CPUs, cards alternating generation 1 / 2",
        a.counters, a.writes
    );
    let mut problems = Vec::new();
    if a.only.as_deref().is_none_or(|o| o == "sqlite") {
        let (dir, config_path) = deployment(&a);
        let config = Config::load(&config_path).expect("config");
        let server = RunningServer::start(&config).expect("the instance");
        let mut run = drive(dir.path(), &[server.url()], &a);
        drop(server);
        report("sqlite", 1, &a, &mut run);
        problems.extend(check(&config, &run));
        problems.extend(run.failed);
    }
    if a.only.as_deref().is_none_or(|o| o == "postgres") {
        let (dir, config_path) = deployment(&a);
        let cluster = pg::Cluster::start_with(true);
        cluster.create_database("authority");
        let text = std::fs::read_to_string(&config_path).expect("config");
        std::fs::write(&config_path, to_postgres(&text, &cluster, "authority")).expect("config");
        let config = Config::load(&config_path).expect("config");
        let (s1, s2) =
            (RunningServer::start(&config).expect("instance 1"), RunningServer::start(&config).expect("instance 2"));
        let mut run = drive(dir.path(), &[s1.url(), s2.url()], &a);
        let served = (s1.service().requests_served(), s2.service().requests_served());
        drop((s1, s2));
        report("postgres", 2, &a, &mut run);
        println!("  requests served by the two instances: {} and {}", served.0, served.1);
        problems.extend(check(&config, &run));
        problems.extend(run.failed);
        drop(cluster);
    }
    if problems.is_empty() {
        println!("load test passed");
        ExitCode::SUCCESS
    } else {
        for p in &problems {
            println!("PROBLEM: {p}");
        }
        ExitCode::from(1)
    }
}
