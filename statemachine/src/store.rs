//! On-disk persistence as append-only JSON-lines files.
//!
//! Why JSON lines rather than an embedded database: every write the engine makes is an append
//! (history only grows, statuses only move forward), a line written with one `write` call is
//! either whole or detectably torn (a torn last line fails to parse and is dropped, which rolls
//! the execution back to its previous commit), the files are readable with `jq` when debugging a
//! local run, and it needs no extra dependency. Durability is "survives a process crash" (data
//! reaches the OS on every commit); an OS crash may lose the last commits, which is acceptable
//! for a local engine and re-runs the interrupted task (at-least-once, as in AWS).
//!
//! Layout under the root directory:
//! - `state-machines.jsonl`: one [`StateMachineRecord`] per created state machine;
//! - `index.jsonl`: [`IndexEntry`] lines (one when an execution starts, one when it closes),
//!   folded at open into the in-memory index that ListExecutions reads. An entry is deliberately
//!   small (ARN, status, dates): a restart reads the whole index, so its cost must not grow with
//!   what executions carried. Input, output, error and cause are read from the execution's own
//!   file when DescribeExecution asks (its first and last lines only);
//! - `executions/<encoded ARN>.jsonl`: one [`Commit`] per line, holding the new history events
//!   and the execution's runtime snapshot (position, data, timers, live token). Only running
//!   executions' files are read at open.
//!
//! Compaction rewrites `index.jsonl` with one line per retained execution (to a temporary file,
//! synced, then renamed over the old one, so a crash leaves either the old or the new index);
//! expired executions' files are deleted before that, and an index line whose file is gone is
//! dropped again at the next compaction (expiry is decided by time, so it is decided the same
//! way again).

use crate::engine::ExecutionStatus;
use crate::error::Result;
use crate::history::HistoryEvent;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// A created state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateMachineRecord {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// The definition exactly as given (before substitution).
    pub definition: String,
    /// roleArn as given.
    pub role_arn: String,
    /// Creation time.
    pub created: DateTime<Utc>,
}

/// What a running execution keeps in memory (and what its runner needs): the facts fixed at
/// start.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionRecord {
    /// Execution ARN.
    pub arn: String,
    /// State machine ARN.
    pub state_machine_arn: String,
    /// Execution name.
    pub name: String,
    /// Start time.
    pub start: DateTime<Utc>,
    /// Input JSON text.
    pub input: String,
}

/// One line of `index.jsonl`: an execution's summary at start or at close.
///
/// The state machine ARN and the name are not stored (both are parts of the execution ARN), and
/// dates are epoch milliseconds: a restart parses every line, and this keeps that cheap. Lines
/// written by earlier versions (RFC 3339 dates, input, output, ...) are still read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// Start order, unique and increasing (ListExecutions' page tokens are made of it, so it
    /// must survive restarts and compactions). Absent in lines written by earlier versions: the
    /// position in the file is used then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Execution ARN.
    pub arn: String,
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED (stored with the API spelling); `None`
    /// for a spelling this version cannot read (the engine skips such an entry).
    #[serde(with = "status")]
    pub status: Option<ExecutionStatus>,
    /// Start time.
    #[serde(with = "millis")]
    pub start: DateTime<Utc>,
    /// Stop time, once closed.
    #[serde(default, with = "millis_opt", skip_serializing_if = "Option::is_none")]
    pub stop: Option<DateTime<Utc>>,
}

/// The API spelling (`RUNNING`, ...); an unknown one reads as `None` rather than as a torn line.
mod status {
    use crate::engine::ExecutionStatus;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<ExecutionStatus>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(st) => s.serialize_str(st.as_str()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<ExecutionStatus>, D::Error> {
        let s = String::deserialize(d)?;
        Ok(ExecutionStatus::parse(&s))
    }
}

/// Epoch milliseconds on write; milliseconds or RFC 3339 (earlier versions) on read.
mod millis {
    use chrono::{DateTime, Utc};
    use serde::de::{self, Deserializer, Visitor};
    use serde::Serializer;
    use std::fmt;

    pub(super) struct Millis;

    impl Visitor<'_> for Millis {
        type Value = DateTime<Utc>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("epoch milliseconds or an RFC 3339 date")
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            DateTime::from_timestamp_millis(v).ok_or_else(|| E::custom("date out of range"))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v)
                .map_err(E::custom)
                .and_then(|v| self.visit_i64(v))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            DateTime::parse_from_rfc3339(v)
                .map(|d| d.with_timezone(&Utc))
                .map_err(E::custom)
        }
    }

    pub(super) fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(t.timestamp_millis())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        d.deserialize_any(Millis)
    }
}

/// [`millis`] for an optional date (`null` or absent is `None`).
mod millis_opt {
    use chrono::{DateTime, Utc};
    use serde::de::{self, Deserializer, Visitor};
    use serde::Serializer;
    use std::fmt;

    struct Opt;

    impl<'de> Visitor<'de> for Opt {
        type Value = Option<DateTime<Utc>>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("null or a date")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(super::millis::Millis).map(Some)
        }
    }

    pub(super) fn serialize<S: Serializer>(
        t: &Option<DateTime<Utc>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_i64(t.timestamp_millis()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        d.deserialize_option(Opt)
    }
}

/// The folded index: each execution's latest entry, in start order.
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// The entries, each with its `seq` filled in.
    pub entries: Vec<IndexEntry>,
    /// Lines read (superseded and torn ones included): what a compaction would save.
    pub lines: usize,
}

/// One atomic step of an execution: new events plus the runtime snapshot after them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Commit {
    /// Events appended by this step.
    pub events: Vec<HistoryEvent>,
    /// The runtime state after this step (opaque to the store).
    pub runtime: Value,
}

/// The on-disk store.
pub struct Store {
    root: PathBuf,
    // Appends to the shared files and the index rewrite are serialised, so lines never
    // interleave and no append lands in an index that is about to be replaced.
    lock: Mutex<()>,
    /// Lines in `index.jsonl` (as read at open, plus appends since, or as rewritten).
    index_lines: AtomicUsize,
}

const INDEX: &str = "index.jsonl";
const INDEX_TMP: &str = "index.jsonl.tmp";

fn open_existing(path: &Path) -> Result<Option<File>> {
    match File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// What reading a JSON-lines file found.
#[derive(Debug, Clone, Copy, Default)]
struct Scan {
    /// Lines that parsed.
    lines: usize,
    /// Bytes up to the end of the last line that parsed (or of a blank line after it).
    good: u64,
    /// The bytes read.
    len: u64,
    /// The last line that parsed has no newline (a crash cut the write just before it).
    unterminated: bool,
}

/// Calls `f` on every line of `path` that parses, stopping at the first that does not (only a
/// torn last line, from a crash mid-write, can fail); a missing file has no lines.
fn each_line<T: for<'de> Deserialize<'de>>(path: &Path, mut f: impl FnMut(T)) -> Result<Scan> {
    let Some(file) = open_existing(path)? else {
        return Ok(Scan::default());
    };
    let mut scan = Scan::default();
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)? as u64;
        if n == 0 {
            break;
        }
        let terminated = line.last() == Some(&b'\n');
        if line.trim_ascii().is_empty() {
            scan.len += n;
            if terminated && !scan.unterminated {
                scan.good = scan.len;
            }
            continue;
        }
        match serde_json::from_slice(&line) {
            Ok(v) => {
                f(v);
                scan.lines += 1;
                scan.len += n;
                scan.good = scan.len;
                scan.unterminated = !terminated;
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "ignoring a torn record");
                scan.len += n;
                break;
            }
        }
    }
    Ok(scan)
}

/// Makes `path` end with its last whole line, so that the next append starts a line of its own
/// instead of being glued to a torn one (which would make both unreadable).
fn repair_tail(path: &Path, scan: Scan) -> Result<()> {
    let Some(file) = (scan.good < scan.len || scan.unterminated)
        .then(|| OpenOptions::new().write(true).open(path))
        .transpose()?
    else {
        return Ok(());
    };
    let actual = file.metadata()?.len();
    if scan.good < actual {
        tracing::warn!(file = %path.display(), kept = scan.good, length = actual, "cutting a torn record");
        file.set_len(scan.good)?;
    }
    if scan.unterminated {
        let mut file = file;
        file.seek(SeekFrom::End(0))?;
        file.write_all(b"\n")?;
    }
    Ok(())
}

fn read_lines<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    let mut out = Vec::new();
    let scan = each_line(path, |v| out.push(v))?;
    repair_tail(path, scan)?;
    Ok(out)
}

fn append_line<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut line = serde_json::to_vec(value)?;
    line.push(b'\n');
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(&line)?;
    Ok(())
}

/// The last non-empty line of `file` (read from the end, so a long history costs one seek).
fn last_line(file: &mut File) -> Result<Option<String>> {
    let len = file.metadata()?.len();
    let mut chunk: u64 = 64 * 1024;
    loop {
        let from = len.saturating_sub(chunk);
        file.seek(SeekFrom::Start(from))?;
        let mut buf = Vec::with_capacity((len - from) as usize);
        file.take(len - from).read_to_end(&mut buf)?;
        let body = buf.strip_suffix(b"\n").unwrap_or(&buf);
        match body.iter().rposition(|b| *b == b'\n') {
            Some(i) => return Ok(Some(String::from_utf8_lossy(&body[i + 1..]).into_owned())),
            None if from == 0 => {
                return Ok((!body.is_empty()).then(|| String::from_utf8_lossy(body).into_owned()))
            }
            None => chunk = chunk.saturating_mul(4),
        }
    }
}

fn encode_file_name(arn: &str) -> String {
    arn.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl Store {
    /// Opens (creating if needed) a store under `root`.
    pub fn open(root: &Path) -> Result<Store> {
        fs::create_dir_all(root.join("executions"))?;
        // A leftover from a compaction interrupted before its rename: the index is the old one.
        let _ = fs::remove_file(root.join(INDEX_TMP));
        Ok(Store {
            root: root.to_path_buf(),
            lock: Mutex::new(()),
            index_lines: AtomicUsize::new(0),
        })
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// All state machines, in creation order.
    pub fn state_machines(&self) -> Result<Vec<StateMachineRecord>> {
        let _g = self.guard();
        read_lines(&self.root.join("state-machines.jsonl"))
    }

    /// Records a new state machine.
    pub fn put_state_machine(&self, rec: &StateMachineRecord) -> Result<()> {
        let _g = self.guard();
        append_line(&self.root.join("state-machines.jsonl"), rec)
    }

    /// Calls `f` on every line of the index, oldest first (an execution's later line supersedes
    /// its earlier ones). A torn last line is dropped, from the file too (this runs at open,
    /// before anything appends). Returns the number of lines read.
    pub fn scan_index(&self, f: impl FnMut(IndexEntry)) -> Result<usize> {
        let path = self.root.join(INDEX);
        let _g = self.guard();
        let scan = each_line(&path, f)?;
        repair_tail(&path, scan)?;
        self.index_lines.store(scan.lines, Ordering::Relaxed);
        Ok(scan.lines)
    }

    /// The index folded to each execution's latest entry, in order of first appearance, each
    /// with its `seq` (the position of its first line if no line gave one).
    pub fn index(&self) -> Result<Index> {
        let mut entries: Vec<IndexEntry> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        let mut next_seq = 0u64;
        let lines = self.scan_index(|mut e: IndexEntry| match at.get(&e.arn) {
            Some(&i) => {
                // A line with its own seq belongs to a later execution of the same name (the
                // earlier one expired); its seq is the one that orders it.
                match e.seq {
                    Some(seq) => next_seq = next_seq.max(seq + 1),
                    None => e.seq = entries[i].seq,
                }
                entries[i] = e;
            }
            None => {
                let seq = *e.seq.get_or_insert(next_seq);
                next_seq = next_seq.max(seq + 1);
                at.insert(e.arn.clone(), entries.len());
                entries.push(e);
            }
        })?;
        Ok(Index { entries, lines })
    }

    /// Records an execution's summary (at start and at close).
    pub fn put_index(&self, entry: &IndexEntry) -> Result<()> {
        let _g = self.guard();
        append_line(&self.root.join(INDEX), entry)?;
        self.index_lines.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Lines in the index file: read at the last [`Store::index`], appended or rewritten since.
    pub fn index_lines(&self) -> usize {
        self.index_lines.load(Ordering::Relaxed)
    }

    /// Replaces the index with `snapshot()`'s entries. The snapshot is taken while appends are
    /// held back, so an entry appended concurrently is either in it or appended after the
    /// replacement, never lost; callers must not hold a lock that an appender holds while
    /// appending.
    pub fn rewrite_index(&self, snapshot: impl FnOnce() -> Vec<IndexEntry>) -> Result<usize> {
        let _g = self.guard();
        let entries = snapshot();
        let tmp = self.root.join(INDEX_TMP);
        {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, File::create(&tmp)?);
            for e in &entries {
                serde_json::to_writer(&mut out, e)?;
                out.write_all(b"\n")?;
            }
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        }
        fs::rename(&tmp, self.root.join(INDEX))?;
        self.index_lines.store(entries.len(), Ordering::Relaxed);
        // Make the rename itself durable (best effort: not every platform syncs directories).
        if let Ok(dir) = File::open(&self.root) {
            let _ = dir.sync_all();
        }
        Ok(entries.len())
    }

    fn execution_path(&self, arn: &str) -> PathBuf {
        self.root
            .join("executions")
            .join(format!("{}.jsonl", encode_file_name(arn)))
    }

    /// Appends one commit to an execution's log.
    pub fn append_commit(&self, arn: &str, commit: &Commit) -> Result<()> {
        append_line(&self.execution_path(arn), commit)
    }

    /// Reads an execution's full history and its last runtime snapshot.
    pub fn load_execution(&self, arn: &str) -> Result<(Vec<HistoryEvent>, Option<Value>)> {
        self.read_execution(arn, false)
    }

    /// [`Store::load_execution`] for an execution about to be resumed: a torn last commit is
    /// also cut from the file, since the resumed execution appends after it.
    pub fn load_execution_to_resume(
        &self,
        arn: &str,
    ) -> Result<(Vec<HistoryEvent>, Option<Value>)> {
        self.read_execution(arn, true)
    }

    fn read_execution(
        &self,
        arn: &str,
        repair: bool,
    ) -> Result<(Vec<HistoryEvent>, Option<Value>)> {
        let path = self.execution_path(arn);
        let mut events = Vec::new();
        let mut runtime = None;
        let scan = each_line(&path, |c: Commit| {
            events.extend(c.events);
            runtime = Some(c.runtime);
        })?;
        if repair {
            repair_tail(&path, scan)?;
        }
        Ok((events, runtime))
    }

    /// The first and the last event of an execution's history, reading only the first and the
    /// last line of its log (what DescribeExecution needs: the input and how it closed).
    pub fn execution_ends(&self, arn: &str) -> Result<Option<(HistoryEvent, HistoryEvent)>> {
        let path = self.execution_path(arn);
        let Some(mut file) = open_existing(&path)? else {
            return Ok(None);
        };
        let mut first = String::new();
        BufReader::new(&mut file).read_line(&mut first)?;
        let first: Option<Commit> = serde_json::from_str(&first).ok();
        let last: Option<Commit> =
            last_line(&mut file)?.and_then(|l| serde_json::from_str(&l).ok());
        let ends = match (first, last) {
            (Some(f), Some(l)) => f.events.first().cloned().zip(l.events.last().cloned()),
            // A torn last line: read the whole log, which drops it.
            _ => {
                let (events, _) = self.load_execution(arn)?;
                events.first().cloned().zip(events.last().cloned())
            }
        };
        Ok(ends)
    }

    /// Deletes an execution's log (a missing one is fine: the deletion may be a repeat).
    pub fn remove_execution(&self, arn: &str) -> Result<()> {
        match fs::remove_file(self.execution_path(arn)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::EventType;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("sfn-store-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&d).expect("temp dir");
        d
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("valid")
            .with_timezone(&Utc)
    }

    fn entry(arn: &str, status: ExecutionStatus) -> IndexEntry {
        IndexEntry {
            seq: None,
            arn: arn.into(),
            status: Some(status),
            start: t("2024-05-01T12:00:00Z"),
            stop: (status != ExecutionStatus::Running).then(|| t("2024-05-01T13:00:00Z")),
        }
    }

    #[test]
    fn index_folds_old_and_new_lines_and_survives_a_torn_tail() {
        let root = dir();
        // A line as earlier versions wrote it (no seq, the whole record).
        fs::write(
            root.join(INDEX),
            concat!(
                r#"{"arn":"a","state_machine_arn":"s","name":"a","status":"RUNNING","start":"2024-05-01T12:00:00Z","stop":null,"input":"{}","output":null,"error":null,"cause":null}"#,
                "\n"
            ),
        )
        .expect("write");
        let store = Store::open(&root).expect("open");
        let mut b = entry("b", ExecutionStatus::Running);
        b.seq = Some(7);
        store.put_index(&b).expect("append");
        store
            .put_index(&entry("a", ExecutionStatus::Succeeded))
            .expect("append");
        let mut f = OpenOptions::new()
            .append(true)
            .open(root.join(INDEX))
            .expect("open");
        f.write_all(br#"{"arn":"b","sta"#).expect("torn");
        let index = store.index().expect("index");
        assert_eq!(index.lines, 3);
        let text = fs::read_to_string(root.join(INDEX)).expect("read");
        assert!(
            text.ends_with("SUCCEEDED\",\"start\":1714564800000,\"stop\":1714568400000}\n"),
            "{text}"
        );
        let got: Vec<(Option<u64>, &str, Option<ExecutionStatus>)> = index
            .entries
            .iter()
            .map(|e| (e.seq, e.arn.as_str(), e.status))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some(0), "a", Some(ExecutionStatus::Succeeded)),
                (Some(7), "b", Some(ExecutionStatus::Running))
            ]
        );

        let n = store
            .rewrite_index(|| index.entries.clone())
            .expect("rewrite");
        assert_eq!(n, 2);
        let again = store.index().expect("index");
        assert_eq!(again.lines, 2);
        assert_eq!(again.entries, index.entries);
        assert!(!root.join(INDEX_TMP).exists());
        fs::remove_dir_all(root).expect("clean");
    }

    #[test]
    fn an_unknown_status_reads_as_none_and_does_not_tear_the_index() {
        let root = dir();
        fs::write(
            root.join(INDEX),
            concat!(
                r#"{"arn":"a","status":"PENDING_REDRIVE","start":1714564800000}"#,
                "\n",
                r#"{"arn":"b","status":"TIMED_OUT","start":1714564800000}"#,
                "\n"
            ),
        )
        .expect("write");
        let store = Store::open(&root).expect("open");
        let index = store.index().expect("index");
        assert_eq!(index.lines, 2);
        let got: Vec<Option<ExecutionStatus>> = index.entries.iter().map(|e| e.status).collect();
        assert_eq!(got, vec![None, Some(ExecutionStatus::TimedOut)]);
        fs::remove_dir_all(root).expect("clean");
    }

    #[test]
    fn a_torn_tail_is_cut_before_anything_is_appended_after_it() {
        let root = dir();
        let store = Store::open(&root).expect("open");
        let commit = |id: u64| Commit {
            events: vec![HistoryEvent {
                id,
                previous_event_id: 0,
                timestamp: t("2024-05-01T12:00:00Z"),
                event_type: EventType::PassStateEntered,
                details_key: None,
                details: Value::Null,
            }],
            runtime: Value::Null,
        };
        store.append_commit("x", &commit(1)).expect("append");
        let path = store.execution_path("x");
        let mut f = OpenOptions::new().append(true).open(&path).expect("open");
        f.write_all(br#"{"events":[{"id":2,"#).expect("torn");
        // Reading alone leaves the file as it is.
        assert_eq!(store.load_execution("x").expect("read").0.len(), 1);
        let (events, _) = store.load_execution_to_resume("x").expect("read");
        assert_eq!(events.len(), 1);
        store.append_commit("x", &commit(2)).expect("append");
        assert_eq!(store.load_execution("x").expect("read").0.len(), 2);

        // A last line cut just before its newline is whole: it is kept and terminated.
        let mut line = serde_json::to_vec(&commit(3)).expect("json");
        f.write_all(&line).expect("unterminated");
        assert_eq!(
            store.load_execution_to_resume("x").expect("read").0.len(),
            3
        );
        line.clear();
        store.append_commit("x", &commit(4)).expect("append");
        assert_eq!(store.load_execution("x").expect("read").0.len(), 4);
        fs::remove_dir_all(root).expect("clean");
    }

    #[test]
    fn execution_ends_reads_the_first_and_last_event() {
        let root = dir();
        let store = Store::open(&root).expect("open");
        let ev = |id: u64, ty: EventType| HistoryEvent {
            id,
            previous_event_id: id.saturating_sub(1),
            timestamp: t("2024-05-01T12:00:00Z"),
            event_type: ty,
            details_key: None,
            // Long enough that the last line needs more than one read from the end.
            details: serde_json::json!({"pad": "x".repeat(100_000)}),
        };
        assert!(store.execution_ends("x").expect("missing").is_none());
        for (i, ty) in [
            EventType::ExecutionStarted,
            EventType::PassStateEntered,
            EventType::ExecutionSucceeded,
        ]
        .into_iter()
        .enumerate()
        {
            store
                .append_commit(
                    "x",
                    &Commit {
                        events: vec![ev(i as u64 + 1, ty)],
                        runtime: Value::Null,
                    },
                )
                .expect("append");
        }
        let (first, last) = store.execution_ends("x").expect("read").expect("some");
        assert_eq!(first.event_type, EventType::ExecutionStarted);
        assert_eq!(last.event_type, EventType::ExecutionSucceeded);
        store.remove_execution("x").expect("remove");
        store.remove_execution("x").expect("a repeat is fine");
        assert!(store.execution_ends("x").expect("gone").is_none());
        fs::remove_dir_all(root).expect("clean");
    }
}
