//! Durability: every write the SQLite store acknowledged survives `kill -9` of its process.
//!
//! This binary is its own child: started with `--durability-writer DB ROUND` it opens the store, runs
//! 32 concurrent writers and prints `acked KEY REVISION` after each acknowledged create. The parent
//! SIGKILLs it mid-stream, three times on the same database, then reopens the database and checks that
//! every acknowledged key is there with its revision. (`kill -9` loses the process, not the page
//! cache; surviving power loss rests on `synchronous=FULL`, which fsyncs the WAL at every commit.)

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use clusterd_store::{Bytes, SqliteConfig, SqliteStore, Store};

const CHILD_FLAG: &str = "--durability-writer";
const ROUNDS: usize = 3;
const KILL_AFTER_ACKS: usize = 400;
const WRITERS: usize = 32;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|arg| arg == CHILD_FLAG) {
        let (Some(db), Some(round)) = (args.get(at + 1), args.get(at + 2)) else {
            panic!("usage: {CHILD_FLAG} DB ROUND");
        };
        write_until_killed(Path::new(db), round);
        return;
    }
    acknowledged_writes_survive_kill_9();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The child: write as fast as possible, reporting each acknowledged write on stdout.
fn write_until_killed(db: &Path, round: &str) {
    runtime().block_on(async {
        let store = SqliteStore::open(SqliteConfig::new(db))
            .await
            .expect("open store");
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let store = store.clone();
                let round = round.to_owned();
                tokio::spawn(async move {
                    for i in 0..100_000 {
                        let key = format!("/durability/r{round}/w{writer}/k{i}");
                        let value = Bytes::from(format!("{{\"round\":{round},\"i\":{i}}}"));
                        let revision = store.create(&key, value).await.expect("create");
                        // One println is one locked, line-buffered write: a line is an ack.
                        println!("acked {key} {revision}");
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.expect("writer task");
        }
    });
}

fn parse_ack(line: &str) -> Option<(String, i64)> {
    let rest = line.strip_suffix('\n')?.strip_prefix("acked ")?;
    let (key, revision) = rest.rsplit_once(' ')?;
    Some((key.to_owned(), revision.parse().ok()?))
}

fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("state.db");
    let exe = std::env::current_exe().expect("own path");
    let mut acked: Vec<(String, i64)> = Vec::new();
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .arg(CHILD_FLAG)
            .arg(&db)
            .arg(round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start writer child");
        let mut reader = BufReader::new(child.stdout.take().expect("child stdout"));
        let mut this_round = Vec::new();
        let mut line = String::new();
        while this_round.len() < KILL_AFTER_ACKS {
            line.clear();
            let read = reader.read_line(&mut line).expect("read child output");
            assert!(read > 0, "the writer exited before it was killed");
            this_round
                .push(parse_ack(&line).unwrap_or_else(|| panic!("unexpected output {line:?}")));
        }
        child.kill().expect("kill -9 the writer");
        // Acks printed before the kill are still in the pipe; a torn last line is not an ack.
        let mut rest = String::new();
        reader
            .read_to_string(&mut rest)
            .expect("drain child output");
        this_round.extend(rest.split_inclusive('\n').filter_map(parse_ack));
        let status = child.wait().expect("reap writer");
        assert!(
            !status.success(),
            "the writer must have been killed, got {status}"
        );

        let previous_max = acked.iter().map(|(_, r)| *r).max().unwrap_or(0);
        let round_min = this_round.iter().map(|(_, r)| *r).min().unwrap_or(i64::MAX);
        assert!(
            round_min > previous_max,
            "round {round} reused revision {round_min} (previous rounds reached {previous_max})"
        );
        acked.extend(this_round);
    }

    runtime().block_on(async {
        let store = SqliteStore::open(SqliteConfig::new(&db))
            .await
            .expect("reopen store");
        let mut lost = Vec::new();
        for (key, revision) in &acked {
            match store.get(key).await.expect("get") {
                Some(kv) if kv.mod_revision == *revision => {}
                other => lost.push((key.clone(), *revision, other)),
            }
        }
        assert!(
            lost.is_empty(),
            "{} of {} acknowledged writes were lost or changed, e.g. {:?}",
            lost.len(),
            acked.len(),
            &lost[..lost.len().min(5)]
        );
        let highest = acked.iter().map(|(_, r)| *r).max().unwrap_or(0);
        assert!(store.current_revision().await.expect("revision") >= highest);
        store.close().await.expect("close");
    });
    eprintln!(
        "durability: all {} writes acknowledged before {ROUNDS} kill -9s survived",
        acked.len()
    );
}
