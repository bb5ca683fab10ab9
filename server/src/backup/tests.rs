use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ioc_protocol::{Body, Domain, Message, Topic, Value};

use super::*;
use crate::alerts::store::AlertStore;
use crate::auth::audit::Audit;
use crate::auth::gateways::Gateways;
use crate::auth::{AuthStore, Lifetimes, Principal, Role};
use crate::lock::DataDirLock;
use crate::store::embedded::folder::EmbeddedWriter;
use crate::store::embedded::journal::Journal;
use crate::store::embedded::{EmbeddedReader, Retention};
use crate::store::spool::Spool;

/// An hour before the tests started: readings from then on are inside retention.
static BASE_MS: std::sync::LazyLock<i64> =
    std::sync::LazyLock::new(|| chrono::Utc::now().timestamp_millis() - 3_600_000);

/// A reading of source `source` at `ts` ms past [`BASE_MS`].
fn reading(source: &str, ts: i64) -> Message {
    Message {
        topic: Topic::new(Domain::Env, "q1", source),
        ts: *BASE_MS + ts,
        seq: Some(ts as u64),
        body: Body::Reading([("pm25_ugm3".to_owned(), Value::Number(ts as f64))].into()),
    }
}

/// The sources and times (ms past [`BASE_MS`]) of every reading a data directory holds for
/// the store: in the store with its journal folded in (as opening it does), and in the spool
/// (which the server writes back at start).
fn stored(data: &Path) -> BTreeSet<(String, i64)> {
    let path = data.join("ioc.sqlite");
    drop(EmbeddedWriter::open(&path, Retention::default()).unwrap());
    let mut all = EmbeddedReader::open_file(&path)
        .unwrap()
        .readings_since(Domain::Env, 0)
        .unwrap();
    let mut spool = Spool::open(&data.join("spool"), 1 << 20).unwrap();
    while let Some(batch) = spool.front().unwrap() {
        all.extend(batch);
        spool.pop_front().unwrap();
    }
    all.into_iter()
        .map(|m| (m.topic.source, m.ts - *BASE_MS))
        .collect()
}

fn names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Every part a server keeps, made by the modules that own them: readings folded into the
/// store, a batch still in the journal, one in the spool, alerts' baselines, a user, a
/// session, a display key, a gateway and its Mosquitto files, the audit log with a line being
/// written; and two things that are not the server's to restore.
struct Made {
    session: String,
    gateway_token: String,
}

fn make_data_dir(data: &Path) -> Made {
    let store = data.join("ioc.sqlite");
    let (writer, _) = EmbeddedWriter::open(&store, Retention::default()).unwrap();
    writer
        .append(Arc::new(vec![reading("folded", 1), reading("folded", 2)]))
        .unwrap();
    writer.flush().unwrap();
    drop(writer);
    let (mut journal, _) = Journal::open(&data.join("ioc.sqlite.journal")).unwrap();
    journal
        .append([[reading("journaled", 3)].as_slice()])
        .unwrap();
    drop(journal);
    fs::write(
        data.join("ioc.sqlite.journal/0000000000000009.jnl.corrupt-20250101T000000.000Z"),
        b"damaged",
    )
    .unwrap();
    let mut spool = Spool::open(&data.join("spool"), 1 << 20).unwrap();
    spool.append(&[reading("spooled", 4)]).unwrap();
    AlertStore::open(data)
        .unwrap()
        .save_baselines(&[("env/q1/a#pm25_ugm3".into(), vec![1, 2, 3])])
        .unwrap();
    let auth = AuthStore::open(data, Lifetimes::default()).unwrap();
    auth.add_user("lan", Role::Officer, "a long enough password")
        .unwrap();
    let session = auth
        .start_session(Principal {
            name: "lan".into(),
            role: Role::Officer,
            display_key: None,
        })
        .unwrap();
    auth.create_key("wall 1", "admin").unwrap();
    let gateways = Gateways::open(data).unwrap();
    let gateway_token = gateways
        .add("portal", vec!["q1".into()], vec!["*".into()])
        .unwrap();
    gateways
        .write_mosquitto_files(&data.join("mosquitto"), None)
        .unwrap();
    let audit = Audit::open(data).unwrap();
    audit.record("admin", "user_added", "lan", None);
    use std::io::Write;
    fs::OpenOptions::new()
        .append(true)
        .open(data.join("audit.jsonl"))
        .unwrap()
        .write_all(b"{\"at\":\"2025-")
        .unwrap();
    fs::write(data.join("notes.txt"), b"the operator's").unwrap();
    Made {
        session,
        gateway_token,
    }
}

#[test]
fn every_part_the_server_keeps_is_copied_while_it_runs_and_restored_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let made = make_data_dir(&data);
    // The server runs: it holds the lock, and the backup goes on.
    let server = DataDirLock::acquire(&data, "serving").unwrap();
    let dest = tmp.path().join("backups/today");
    let manifest = backup(&data, &dest).unwrap();
    drop(server);

    assert_eq!(manifest.format, FORMAT);
    assert_eq!(manifest.data_dir, data.canonicalize().unwrap());
    assert!(manifest.started_at <= manifest.finished_at);
    let copied: BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    for part in [
        "ioc.sqlite",
        "alerts.sqlite",
        "users.json",
        "sessions.json",
        "display-keys.json",
        "gateways.json",
        "audit.jsonl",
        "mosquitto/passwd",
        "mosquitto/acl",
        "spool/00000000000000000001.batch",
    ] {
        assert!(copied.contains(part), "{part} not in {copied:?}");
    }
    assert!(copied.iter().any(|p| p.starts_with("ioc.sqlite.journal/")));
    let left: Vec<&str> = manifest.left_out.iter().map(|l| l.path.as_str()).collect();
    assert_eq!(
        left,
        [
            "ioc.sqlite.journal/0000000000000009.jnl.corrupt-20250101T000000.000Z",
            "notes.txt"
        ]
    );
    // No WAL beside the copied databases, no lock, nothing being written.
    assert_eq!(
        names(&dest),
        [
            "alerts.sqlite",
            "audit.jsonl",
            "display-keys.json",
            "gateways.json",
            "ioc-backup.json",
            "ioc.sqlite",
            "ioc.sqlite.journal",
            "mosquitto",
            "sessions.json",
            "spool",
            "users.json"
        ]
        .map(String::from)
        .into()
    );
    assert_eq!(Manifest::read(&dest).unwrap(), manifest);

    // Restored into a directory that does not exist yet.
    let restored_dir = tmp.path().join("new/data");
    let restored = restore(&dest, &restored_dir).unwrap();
    assert!(restored.aside.is_none() && restored.warnings.is_empty());
    let expected: BTreeSet<(String, i64)> = [
        ("folded".to_owned(), 1),
        ("folded".to_owned(), 2),
        ("journaled".to_owned(), 3),
        ("spooled".to_owned(), 4),
    ]
    .into();
    let spool = Spool::open(&restored_dir.join("spool"), 1 << 20).unwrap();
    assert_eq!(spool.front().unwrap().unwrap(), vec![reading("spooled", 4)]);
    drop(spool);
    assert_eq!(stored(&restored_dir), expected);
    let auth = AuthStore::open(&restored_dir, Lifetimes::default()).unwrap();
    assert_eq!(auth.users().len(), 1);
    assert!(auth.verify("lan", "a long enough password").is_some());
    assert_eq!(auth.session(&made.session).unwrap().who.name, "lan");
    assert_eq!(auth.keys()[0].name, "wall 1");
    assert!(
        Gateways::open(&restored_dir)
            .unwrap()
            .check("portal", &made.gateway_token)
    );
    assert_eq!(
        fs::read(restored_dir.join("mosquitto/acl")).unwrap(),
        fs::read(data.join("mosquitto/acl")).unwrap()
    );
    let baselines = AlertStore::open(&restored_dir)
        .unwrap()
        .load_baselines()
        .unwrap();
    assert_eq!(
        baselines,
        [("env/q1/a#pm25_ugm3".to_owned(), vec![1, 2, 3])]
    );
    // The audit log without the line being written: the next entry starts a line of its own.
    let audit = Audit::open(&restored_dir).unwrap();
    audit.record("admin", "login", "", None);
    let entries = audit.recent(10).unwrap();
    assert_eq!(
        entries.iter().map(|e| e.what.as_str()).collect::<Vec<_>>(),
        ["login", "user_added"]
    );
    assert!(!restored_dir.join("notes.txt").exists());
}

#[test]
fn a_backup_taken_while_batches_are_appended_holds_every_one_acknowledged_before_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    fs::create_dir_all(&data).unwrap();
    let (writer, _) = EmbeddedWriter::open(&data.join("ioc.sqlite"), Retention::default()).unwrap();
    let writer = Arc::new(writer);
    let acknowledged = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let appender = {
        let (writer, acknowledged, stop) = (writer.clone(), acknowledged.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let batch: Vec<Message> = (n..n + 20).map(|i| reading("a", i)).collect();
                writer.append(Arc::new(batch)).unwrap();
                n += 20;
                // Appended means durable: what a gateway would have seen acknowledged.
                acknowledged.store(n as u64, Ordering::SeqCst);
            }
        })
    };
    let (mut checked, mut journaled) = (0, 0);
    for round in 0..4 {
        // Each backup starts at another point of the folds (every 250 ms) and appends.
        let deadline = Instant::now() + Duration::from_secs(20);
        while acknowledged.load(Ordering::SeqCst) < 2_000 * (round + 1) {
            assert!(Instant::now() < deadline, "the appends stalled");
            std::thread::yield_now();
        }
        let before = acknowledged.load(Ordering::SeqCst);
        let dest = tmp.path().join(format!("backup-{round}"));
        let manifest = backup(&data, &dest).unwrap();
        journaled += manifest
            .files
            .iter()
            .filter(|f| f.path.starts_with("ioc.sqlite.journal/"))
            .map(|f| f.bytes)
            .sum::<u64>();
        let after = acknowledged.load(Ordering::SeqCst);
        let into = tmp.path().join(format!("restored-{round}"));
        restore(&dest, &into).unwrap();
        let seqs: BTreeSet<i64> = stored(&into).into_iter().map(|(_, t)| t).collect();
        let missing = (0..before as i64).filter(|t| !seqs.contains(t)).count();
        assert_eq!(missing, 0, "round {round}: {missing} of {before} lost");
        assert!(seqs.len() as u64 <= after + 20, "round {round}");
        checked += before;
    }
    stop.store(true, Ordering::Relaxed);
    appender.join().unwrap();
    assert!(checked > 0);
    // The backups caught batches not yet folded: the journal's copy was put to the test.
    assert!(journaled > 0);
}

/// A data directory with a reading in each place (1 in the store, 2 in the journal, 3 in the
/// spool), backed up while `mover` moves them on after each part is copied; what the backup,
/// restored, holds.
fn backup_while_moving(mover: fn(&str, &[String], &EmbeddedWriter, &mut Spool)) -> Vec<i64> {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    fs::create_dir_all(&data).unwrap();
    let (writer, _) = EmbeddedWriter::open(&data.join("ioc.sqlite"), Retention::default()).unwrap();
    writer.append(Arc::new(vec![reading("a", 1)])).unwrap();
    writer.flush().unwrap();
    writer.append(Arc::new(vec![reading("a", 2)])).unwrap();
    let mut spool = Spool::open(&data.join("spool"), 1 << 20).unwrap();
    spool.append(&[reading("a", 3)]).unwrap();
    let dest = tmp.path().join("backup");
    let mut copied = Vec::new();
    take::backup_with(&data, &dest, &mut |part| {
        copied.push(part.to_owned());
        mover(part, &copied, &writer, &mut spool);
    })
    .unwrap();
    drop(writer);
    let into = tmp.path().join("restored");
    restore(&dest, &into).unwrap();
    stored(&into).into_iter().map(|(_, t)| t).collect()
}

/// The spool's batch written back into the store's journal, as the writer does.
fn write_back(writer: &EmbeddedWriter, spool: &mut Spool) {
    if let Some(batch) = spool.front().unwrap() {
        writer.append(Arc::new(batch)).unwrap();
        spool.pop_front().unwrap();
    }
}

#[test]
fn a_message_moved_on_while_the_backup_copies_is_in_the_copy_of_where_it_went() {
    // The worst moments for each part: the spool written back just after it was copied, the
    // journal folded into the store (its segments removed) just after it was copied.
    let moved = backup_while_moving(|part, _, writer, spool| match part {
        "spool" => write_back(writer, spool),
        "ioc.sqlite.journal" => writer.flush().unwrap(),
        _ => {}
    });
    assert_eq!(moved, [1, 2, 3]);
    // Whatever the order of the copies, a message leaving a place not yet copied for one
    // already copied would be lost: in the order the backup copies, none ever does.
    let adversary = backup_while_moving(|_, copied, writer, spool| {
        let has = |p: &str| copied.iter().any(|c| c == p);
        if has("ioc.sqlite.journal") && !has("spool") {
            write_back(writer, spool);
        }
        if has("ioc.sqlite") && !has("ioc.sqlite.journal") {
            writer.flush().unwrap();
        }
    });
    assert_eq!(adversary, [1, 2, 3]);
}

#[test]
fn a_backup_goes_into_a_new_or_empty_directory_outside_the_data_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    fs::create_dir_all(&data).unwrap();
    fs::write(data.join("users.json"), b"[]").unwrap();
    let full = tmp.path().join("full");
    fs::create_dir_all(&full).unwrap();
    fs::write(full.join("x"), b"x").unwrap();
    let e = backup(&data, &full).unwrap_err();
    assert!(matches!(e, BackupError::NotEmpty(_)), "{e}");
    assert!(e.to_string().contains("new or empty directory"), "{e}");
    assert_eq!(names(&full), ["x".to_owned()].into());
    let e = backup(&data, &data.join("backup")).unwrap_err();
    assert!(matches!(e, BackupError::Inside { .. }), "{e}");
    assert!(!data.join("backup").exists());
    let e = backup(&tmp.path().join("nowhere"), &tmp.path().join("b")).unwrap_err();
    assert!(matches!(e, BackupError::NoDataDir(_)), "{e}");
    let empty = tmp.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    backup(&data, &empty).unwrap();
    assert!(empty.join(MANIFEST).is_file());
}

/// A data directory holding `users.json` with `text`, and a backup of another one whose
/// `users.json` holds `[]`.
fn data_and_backup(tmp: &Path, text: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let data = tmp.join("data");
    fs::create_dir_all(&data).unwrap();
    fs::write(data.join("users.json"), text).unwrap();
    let other = tmp.join("other");
    fs::create_dir_all(&other).unwrap();
    fs::write(other.join("users.json"), b"[]").unwrap();
    let dest = tmp.join("backup");
    backup(&other, &dest).unwrap();
    (data, dest)
}

/// The data directory holds what it held, and nothing was set aside beside it.
fn unchanged(tmp: &Path, data: &Path, text: &str) {
    assert_eq!(fs::read_to_string(data.join("users.json")).unwrap(), text);
    assert!(
        !names(tmp).iter().any(|n| n.contains("before-restore")),
        "{:?}",
        names(tmp)
    );
    assert!(
        !names(data).iter().any(|n| n.starts_with(".restoring")),
        "{:?}",
        names(data)
    );
}

#[test]
fn restore_refuses_what_is_not_a_whole_backup_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, dest) = data_and_backup(tmp.path(), "[\"mine\"]");

    let e = restore(&tmp.path().join("other"), &data).unwrap_err();
    assert!(matches!(e, BackupError::NotABackup(_)), "{e}");
    assert!(e.to_string().contains("is not a backup"), "{e}");
    unchanged(tmp.path(), &data, "[\"mine\"]");

    let manifest = fs::read_to_string(dest.join(MANIFEST)).unwrap();
    for (bad, says) in [
        ("{not json", "cannot be read as a backup's manifest"),
        ("{\"format\": 99}", "format 99"),
        (
            &manifest.replace("\"users.json\"", "\"../users.json\""),
            "not a path inside the backup",
        ),
    ] {
        fs::write(dest.join(MANIFEST), bad).unwrap();
        let e = restore(&dest, &data).unwrap_err();
        assert!(matches!(e, BackupError::BadManifest { .. }), "{e}");
        assert!(e.to_string().contains(says), "{e}");
        unchanged(tmp.path(), &data, "[\"mine\"]");
    }
    fs::write(dest.join(MANIFEST), &manifest).unwrap();

    fs::write(dest.join("users.json"), b"{}").unwrap();
    let e = restore(&dest, &data).unwrap_err();
    assert!(matches!(e, BackupError::Damaged { .. }), "{e}");
    assert!(e.to_string().contains("users.json"), "{e}");
    unchanged(tmp.path(), &data, "[\"mine\"]");
    fs::write(dest.join("users.json"), b"xx").unwrap();
    let e = restore(&dest, &data).unwrap_err();
    assert!(e.to_string().contains("SHA-256"), "{e}");
    fs::remove_file(dest.join("users.json")).unwrap();
    let e = restore(&dest, &data).unwrap_err();
    assert!(e.to_string().contains("users.json is missing"), "{e}");
    unchanged(tmp.path(), &data, "[\"mine\"]");
}

#[test]
fn restore_refuses_while_a_server_holds_the_data_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, dest) = data_and_backup(tmp.path(), "[\"mine\"]");
    let server = DataDirLock::acquire(&data, "serving").unwrap();
    let e = restore(&dest, &data).unwrap_err();
    assert!(matches!(e, BackupError::Locked(_)), "{e}");
    assert!(
        e.to_string().contains("ioc-server serving") && e.to_string().contains("stop it first"),
        "{e}"
    );
    unchanged(tmp.path(), &data, "[\"mine\"]");
    drop(server);
    restore(&dest, &data).unwrap();
}

#[test]
fn restore_replaces_the_contents_and_keeps_the_old_ones_aside() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, dest) = data_and_backup(tmp.path(), "[\"mine\"]");
    fs::create_dir_all(data.join("spool")).unwrap();
    fs::write(data.join("spool/00000000000000000001.batch"), b"{}\n").unwrap();
    let restored = restore(&dest, &data).unwrap();
    assert_eq!(fs::read_to_string(data.join("users.json")).unwrap(), "[]");
    assert!(!data.join("spool").exists());
    let aside = restored.aside.unwrap();
    let name = aside.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("data.before-restore-"), "{name}");
    assert_eq!(aside.parent(), data.canonicalize().unwrap().parent());
    assert_eq!(
        fs::read_to_string(aside.join("users.json")).unwrap(),
        "[\"mine\"]"
    );
    assert!(aside.join("spool/00000000000000000001.batch").is_file());
    // The lock stays where a server looks for it; nothing of the restore is left behind.
    assert_eq!(
        names(&data),
        ["ioc-server.lock".to_owned(), "users.json".to_owned()].into()
    );
    assert!(!aside.join(crate::lock::LOCK_FILE).exists());
}
