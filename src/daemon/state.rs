//! The embedded state: one SQLite database (WAL) in the state folder with the
//! run history, each input's content hash and remembered result, every
//! assessment with its date, each job's standings as of its last complete
//! run, and connector cursors. Every change is one transaction, so a process
//! killed at any moment leaves either the old state or the new.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use crate::history::{Change, Standing};

/// The database file inside the state folder.
pub const DB_NAME: &str = "iorready.sqlite";

/// Versioned schema migrations; `PRAGMA user_version` says how many ran.
const MIGRATIONS: &[&str] = &[
    // 1: runs, inputs, assessments, standings, changes, cursors.
    "CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        job TEXT NOT NULL,
        started TEXT NOT NULL,
        finished TEXT,
        outcome TEXT NOT NULL,
        inputs INTEGER NOT NULL DEFAULT 0,
        scored INTEGER NOT NULL DEFAULT 0,
        unchanged INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        changes INTEGER NOT NULL DEFAULT 0,
        written_back INTEGER NOT NULL DEFAULT 0,
        message TEXT
    );
    CREATE INDEX runs_by_job ON runs(job, id);
    CREATE TABLE run_connectors (
        run_id INTEGER NOT NULL,
        connector TEXT NOT NULL,
        files INTEGER NOT NULL,
        written INTEGER NOT NULL,
        errors INTEGER NOT NULL,
        PRIMARY KEY (run_id, connector)
    );
    CREATE TABLE inputs (
        job TEXT NOT NULL,
        key TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        settings TEXT NOT NULL,
        run_id INTEGER NOT NULL,
        error TEXT,
        summaries TEXT,
        json BLOB,
        flags BLOB,
        annotated INTEGER NOT NULL DEFAULT 0,
        standings TEXT,
        written_back INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (job, key)
    );
    CREATE TABLE assessments (
        run_id INTEGER NOT NULL,
        job TEXT NOT NULL,
        input TEXT NOT NULL,
        provider TEXT NOT NULL,
        provider_name TEXT NOT NULL,
        country TEXT NOT NULL,
        as_of TEXT NOT NULL,
        tier TEXT NOT NULL,
        score REAL NOT NULL,
        coverage_class TEXT NOT NULL,
        confidence TEXT NOT NULL,
        flags TEXT NOT NULL
    );
    CREATE INDEX assessments_by_provider ON assessments(provider, country, run_id);
    CREATE INDEX assessments_by_name ON assessments(provider_name);
    CREATE TABLE standings (
        job TEXT NOT NULL,
        provider TEXT NOT NULL,
        country TEXT NOT NULL,
        standing TEXT NOT NULL,
        PRIMARY KEY (job, provider, country)
    );
    CREATE TABLE changes (
        run_id INTEGER NOT NULL,
        job TEXT NOT NULL,
        change TEXT NOT NULL
    );
    CREATE INDEX changes_by_run ON changes(run_id);
    CREATE TABLE cursors (
        connector TEXT NOT NULL,
        stream TEXT NOT NULL,
        cursor TEXT NOT NULL,
        updated TEXT NOT NULL,
        PRIMARY KEY (connector, stream)
    );",
    // 2: where each input's annotated copy is, so that it is reused only
    // under the name this run gives it.
    "ALTER TABLE inputs ADD COLUMN output TEXT;",
    // 3: the nothing-changed check reads every input's fingerprint; added
    // last, `output` sits behind each row's large results, so without an
    // index holding it SQLite reads through all of them.
    "CREATE INDEX inputs_fingerprints ON inputs(job, key, content_hash, settings, annotated, output);",
    // 4: errors a run listed but did not remember (passing faults, files
    // not fetched): its outputs cannot be reused once those clear.
    "ALTER TABLE runs ADD COLUMN unremembered INTEGER NOT NULL DEFAULT 0;",
];

/// The state could not be opened or changed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The database refused.
    #[error("state {path}: {source}")]
    Db {
        /// The database file.
        path: PathBuf,
        /// The cause.
        source: rusqlite::Error,
    },
    /// The folder cannot be created or locked.
    #[error("state {path}: {source}")]
    Io {
        /// The folder or lock file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Someone else holds the lock.
    #[error("{0}")]
    Busy(String),
    /// The database was written by a newer iorready.
    #[error("state {path}: schema version {found} is newer than this iorready knows ({known}); upgrade iorready")]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// The version found.
        found: usize,
        /// The newest this build knows.
        known: usize,
    },
    /// A stored value could not be read back.
    #[error("state {path}: a stored value is damaged: {message}")]
    Damaged {
        /// The database file.
        path: PathBuf,
        /// What.
        message: String,
    },
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Outcome {
    /// Still going (or killed: see `Interrupted`).
    Running,
    /// Every input scored, every write done.
    Ok,
    /// Done, but some inputs were not scored.
    Partial,
    /// The run could not finish.
    Failed,
    /// The process stopped during the run; found by the next start.
    Interrupted,
}

impl Outcome {
    /// The identifier (`partial`).
    pub fn id(self) -> &'static str {
        self.into()
    }

    /// The run reached its end and wrote its outputs.
    pub fn completed(self) -> bool {
        matches!(self, Outcome::Ok | Outcome::Partial)
    }
}

/// One run as recorded.
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// Run number.
    pub id: i64,
    /// The job.
    pub job: String,
    /// Start.
    pub started: DateTime<Utc>,
    /// End, if it ended.
    pub finished: Option<DateTime<Utc>>,
    /// How it ended.
    pub outcome: Outcome,
    /// Inputs seen.
    pub inputs: i64,
    /// Inputs scored afresh.
    pub scored: i64,
    /// Inputs unchanged since an earlier run.
    pub unchanged: i64,
    /// Inputs that failed.
    pub failed: i64,
    /// Changes found.
    pub changes: i64,
    /// Write-backs done.
    pub written_back: i64,
    /// Errors listed but not remembered (see [`RunCounts::unremembered`]).
    pub unremembered: i64,
    /// Why it failed, or a note.
    pub message: Option<String>,
}

/// The counts a finished run records.
#[derive(Debug, Clone, Default)]
pub struct RunCounts {
    /// Inputs seen.
    pub inputs: usize,
    /// Inputs scored afresh.
    pub scored: usize,
    /// Inputs unchanged.
    pub unchanged: usize,
    /// Inputs that failed.
    pub failed: usize,
    /// Write-backs done.
    pub written_back: usize,
    /// Errors listed in the outputs but not remembered for the inputs
    /// (passing faults, files not fetched): the next run cannot take the
    /// outputs as current.
    pub unremembered: usize,
}

/// Per connector figures of a run, for `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct ConnectorCounts {
    /// Workbooks fetched.
    pub files: usize,
    /// Write-backs done.
    pub written: usize,
    /// Failures.
    pub errors: usize,
}

/// What the state remembers of one input.
#[derive(Debug, Clone)]
pub struct InputRecord {
    /// blake3 of the content.
    pub content_hash: String,
    /// Fingerprint of what scored it (profile, mappings, date, version).
    pub settings: String,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// Provider summaries (JSON).
    pub summaries: Option<String>,
    /// JSON entries.
    pub json: Vec<u8>,
    /// Flags rows.
    pub flags: Vec<u8>,
    /// Whether an annotated copy was written.
    pub annotated: bool,
    /// Standings (JSON).
    pub standings: Option<String>,
    /// The annotated copy, when one was written.
    pub output: Option<String>,
}

/// What the quick "did anything change?" check needs of a remembered input.
#[derive(Debug, Clone)]
pub struct Fingerprint {
    /// blake3 of the content.
    pub content_hash: String,
    /// Fingerprint of what scored it.
    pub settings: String,
    /// Whether an annotated copy was written.
    pub annotated: bool,
    /// Where the annotated copy was written, when it was.
    pub output: Option<String>,
}

/// One line of a provider's history.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// The run that scored it.
    pub run_id: i64,
    /// When that run started.
    pub run_started: String,
    /// The job.
    pub job: String,
    /// Provider name.
    pub provider_name: String,
    /// Alpha-2.
    pub country: String,
    /// The as-of date.
    pub as_of: String,
    /// The tier id.
    pub tier: String,
    /// 0 to 100.
    pub score: f64,
    /// Coverage class id.
    pub coverage_class: String,
    /// Flag codes, comma separated.
    pub flags: String,
}

/// The state database of one state folder.
pub struct State {
    path: PathBuf,
    conn: Mutex<Connection>,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.to_utc())
}

impl State {
    /// Opens (creating if needed) the state in `dir`, running any pending
    /// migrations.
    pub fn open(dir: &Path) -> Result<State, StateError> {
        create_private_dir(dir)?;
        let path = dir.join(DB_NAME);
        let db = |source| StateError::Db {
            path: path.clone(),
            source,
        };
        let mut conn = Connection::open(&path).map_err(db)?;
        // WAL lets `status` and `/metrics` read while a run writes; FULL
        // sync makes each committed transaction survive a power cut too.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(db)?;
        migrate(&mut conn, &path)?;
        Ok(State {
            path,
            conn: Mutex::new(conn),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection usable: every
        // change is a transaction that rolled back.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn db(&self, source: rusqlite::Error) -> StateError {
        StateError::Db {
            path: self.path.clone(),
            source,
        }
    }

    fn damaged(&self, message: impl Into<String>) -> StateError {
        StateError::Damaged {
            path: self.path.clone(),
            message: message.into(),
        }
    }

    /// Records the start of a run; runs of the job left `running` by a
    /// process that died are marked `interrupted` first (the caller holds
    /// the job's lock, so no other process runs it).
    pub fn begin_run(&self, job: &str) -> Result<i64, StateError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.db(e))?;
        tx.execute(
            "UPDATE runs SET outcome = 'interrupted', finished = ?2,
                 message = 'the process stopped during this run' WHERE job = ?1 AND outcome = 'running'",
            params![job, now()],
        )
        .map_err(|e| self.db(e))?;
        tx.execute(
            "INSERT INTO runs (job, started, outcome) VALUES (?1, ?2, 'running')",
            params![job, now()],
        )
        .map_err(|e| self.db(e))?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(|e| self.db(e))?;
        Ok(id)
    }

    /// What the state remembers of `key` in `job`.
    pub fn input(&self, job: &str, key: &str) -> Result<Option<InputRecord>, StateError> {
        self.conn()
            .prepare_cached(
                "SELECT content_hash, settings, error, summaries, json, flags, annotated, standings, output
                 FROM inputs WHERE job = ?1 AND key = ?2",
            )
            .and_then(|mut st| {
                st.query_row(params![job, key], |r| {
                    Ok(InputRecord {
                        content_hash: r.get(0)?,
                        settings: r.get(1)?,
                        error: r.get(2)?,
                        summaries: r.get(3)?,
                        json: r.get::<_, Option<Vec<u8>>>(4)?.unwrap_or_default(),
                        flags: r.get::<_, Option<Vec<u8>>>(5)?.unwrap_or_default(),
                        annotated: r.get(6)?,
                        standings: r.get(7)?,
                        output: r.get(8)?,
                    })
                })
                .optional()
            })
            .map_err(|e| self.db(e))
    }

    /// For every input `job` remembers, by key: what the quick "did
    /// anything change?" check needs of it. One query.
    pub fn input_fingerprints(&self, job: &str) -> Result<HashMap<String, Fingerprint>, StateError> {
        let conn = self.conn();
        let mut st = conn
            .prepare("SELECT key, content_hash, settings, annotated, output FROM inputs WHERE job = ?1")
            .map_err(|e| self.db(e))?;
        let rows = st
            .query_map(params![job], |r| {
                Ok((
                    r.get(0)?,
                    Fingerprint {
                        content_hash: r.get(1)?,
                        settings: r.get(2)?,
                        annotated: r.get(3)?,
                        output: r.get(4)?,
                    },
                ))
            })
            .and_then(|rows| rows.collect::<Result<HashMap<_, _>, _>>())
            .map_err(|e| self.db(e))?;
        Ok(rows)
    }

    /// Keeps what `key` came to in run `run_id`, and appends its
    /// assessments to the history, in one transaction. `pending_write_back`
    /// marks an input whose results still have to be written back.
    #[allow(clippy::too_many_arguments)] // one row, written once
    pub fn put_input(
        &self,
        job: &str,
        key: &str,
        run_id: i64,
        record: &InputRecord,
        standings: &[Standing],
        as_of: chrono::NaiveDate,
        pending_write_back: bool,
    ) -> Result<(), StateError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.db(e))?;
        tx.execute(
            "INSERT OR REPLACE INTO inputs
             (job, key, content_hash, settings, run_id, error, summaries, json, flags, annotated, standings, written_back, output)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                job,
                key,
                record.content_hash,
                record.settings,
                run_id,
                record.error,
                record.summaries,
                record.json,
                record.flags,
                record.annotated,
                record.standings,
                !pending_write_back,
                record.output
            ],
        )
        .map_err(|e| self.db(e))?;
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT INTO assessments
                     (run_id, job, input, provider, provider_name, country, as_of, tier, score, coverage_class, confidence, flags)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )
                .map_err(|e| self.db(e))?;
            let as_of = as_of.to_string();
            for s in standings {
                st.execute(params![
                    run_id,
                    job,
                    key,
                    s.provider,
                    s.provider_name,
                    s.country,
                    as_of,
                    s.tier.id(),
                    s.score,
                    s.coverage_class.id(),
                    s.confidence,
                    s.flags.join(",")
                ])
                .map_err(|e| self.db(e))?;
            }
        }
        tx.commit().map_err(|e| self.db(e))
    }

    /// The inputs of `job` whose results still wait to be written back.
    pub fn pending_write_backs(&self, job: &str) -> Result<Vec<String>, StateError> {
        let conn = self.conn();
        let rows = strings(
            &conn,
            "SELECT key FROM inputs WHERE job = ?1 AND written_back = 0 AND error IS NULL",
            params![job],
        )
        .map_err(|e| self.db(e))?;
        Ok(rows)
    }

    /// Marks `key`'s results as written back.
    pub fn written_back(&self, job: &str, key: &str) -> Result<(), StateError> {
        self.conn()
            .execute(
                "UPDATE inputs SET written_back = 1 WHERE job = ?1 AND key = ?2",
                params![job, key],
            )
            .map(|_| ())
            .map_err(|e| self.db(e))
    }

    /// Every input key `job` remembers.
    pub fn input_keys(&self, job: &str) -> Result<Vec<String>, StateError> {
        let conn = self.conn();
        let keys = strings(&conn, "SELECT key FROM inputs WHERE job = ?1", params![job]).map_err(|e| self.db(e))?;
        Ok(keys)
    }

    /// `job`'s standings as of its last complete run.
    pub fn standings(&self, job: &str) -> Result<Vec<Standing>, StateError> {
        let conn = self.conn();
        let texts =
            strings(&conn, "SELECT standing FROM standings WHERE job = ?1", params![job]).map_err(|e| self.db(e))?;
        texts
            .iter()
            .map(|t| serde_json::from_str(t).map_err(|e| self.damaged(format!("standing: {e}"))))
            .collect()
    }

    /// Ends run `run_id` in one transaction: its outcome and counts; for a
    /// run that completed, the job's standings become `standings`, the
    /// changes are kept, and inputs not in `seen` are forgotten (their
    /// annotated copies are the caller's to tidy, see
    /// [`super::housekeeping`]). `cursors` (owner, stream, cursor) are
    /// saved in the same transaction: they never move on for a run whose
    /// end could not be recorded.
    #[allow(clippy::too_many_arguments)] // the run's whole ending, in one transaction
    pub fn finish_run(
        &self,
        job: &str,
        run_id: i64,
        outcome: Outcome,
        counts: &RunCounts,
        message: Option<&str>,
        completed: Option<(&[Standing], &[Change], &[String])>,
        connectors: &[(String, ConnectorCounts)],
        cursors: &[(String, String, String)],
    ) -> Result<(), StateError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.db(e))?;
        for (owner, stream, cursor) in cursors {
            tx.execute(
                "INSERT OR REPLACE INTO cursors (connector, stream, cursor, updated) VALUES (?1, ?2, ?3, ?4)",
                params![owner, stream, cursor, now()],
            )
            .map_err(|e| self.db(e))?;
            // A link kept per parent (`stream@id`) replaces the one an older
            // iorready kept for the whole stream: forget that one, so no
            // other parent can ever resume from it.
            if let Some((legacy, _)) = stream.split_once('@') {
                tx.execute(
                    "DELETE FROM cursors WHERE connector = ?1 AND stream = ?2",
                    params![owner, legacy],
                )
                .map_err(|e| self.db(e))?;
            }
        }
        let change_count = completed.map(|(_, c, _)| c.len()).unwrap_or(0);
        tx.execute(
            "UPDATE runs SET finished = ?2, outcome = ?3, inputs = ?4, scored = ?5, unchanged = ?6, failed = ?7,
                 changes = ?8, written_back = ?9, message = ?10, unremembered = ?11 WHERE id = ?1",
            params![
                run_id,
                now(),
                outcome.id(),
                counts.inputs as i64,
                counts.scored as i64,
                counts.unchanged as i64,
                counts.failed as i64,
                change_count as i64,
                counts.written_back as i64,
                message,
                counts.unremembered as i64
            ],
        )
        .map_err(|e| self.db(e))?;
        for (name, c) in connectors {
            tx.execute(
                "INSERT OR REPLACE INTO run_connectors (run_id, connector, files, written, errors) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![run_id, name, c.files as i64, c.written as i64, c.errors as i64],
            )
            .map_err(|e| self.db(e))?;
        }
        if let Some((standings, changes, seen)) = completed {
            tx.execute("DELETE FROM standings WHERE job = ?1", params![job])
                .map_err(|e| self.db(e))?;
            {
                let mut st = tx
                    .prepare_cached(
                        "INSERT OR REPLACE INTO standings (job, provider, country, standing) VALUES (?1, ?2, ?3, ?4)",
                    )
                    .map_err(|e| self.db(e))?;
                for s in standings {
                    let text = serde_json::to_string(s).map_err(|e| self.damaged(e.to_string()))?;
                    st.execute(params![job, s.provider, s.country, text])
                        .map_err(|e| self.db(e))?;
                }
                let mut st = tx
                    .prepare_cached("INSERT INTO changes (run_id, job, change) VALUES (?1, ?2, ?3)")
                    .map_err(|e| self.db(e))?;
                for c in changes {
                    let text = serde_json::to_string(c).map_err(|e| self.damaged(e.to_string()))?;
                    st.execute(params![run_id, job, text]).map_err(|e| self.db(e))?;
                }
            }
            let known = strings(&tx, "SELECT key FROM inputs WHERE job = ?1", params![job]).map_err(|e| self.db(e))?;
            let seen: std::collections::HashSet<&String> = seen.iter().collect();
            for key in known.iter().filter(|k| !seen.contains(k)) {
                tx.execute("DELETE FROM inputs WHERE job = ?1 AND key = ?2", params![job, key])
                    .map_err(|e| self.db(e))?;
            }
        }
        tx.commit().map_err(|e| self.db(e))
    }

    /// The changes recorded by run `run_id`.
    pub fn changes_of(&self, run_id: i64) -> Result<Vec<Change>, StateError> {
        let conn = self.conn();
        let texts = strings(
            &conn,
            "SELECT change FROM changes WHERE run_id = ?1 ORDER BY rowid",
            params![run_id],
        )
        .map_err(|e| self.db(e))?;
        texts
            .iter()
            .map(|t| serde_json::from_str(t).map_err(|e| self.damaged(format!("change: {e}"))))
            .collect()
    }

    /// The latest runs, newest first; of one job when given.
    pub fn runs(&self, job: Option<&str>, limit: usize) -> Result<Vec<RunRecord>, StateError> {
        let conn = self.conn();
        let mut st = conn
            .prepare(
                "SELECT id, job, started, finished, outcome, inputs, scored, unchanged, failed, changes, written_back, message,
                 unremembered FROM runs WHERE ?1 IS NULL OR job = ?1 ORDER BY id DESC LIMIT ?2",
            )
            .map_err(|e| self.db(e))?;
        let rows = st
            .query_map(params![job, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, String>(4)?,
                    [
                        r.get::<_, i64>(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                        r.get(9)?,
                        r.get(10)?,
                        r.get(12)?,
                    ],
                    r.get::<_, Option<String>>(11)?,
                ))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.db(e))?;
        rows.into_iter()
            .map(|(id, job, started, finished, outcome, n, message)| {
                Ok(RunRecord {
                    id,
                    job,
                    started: parse_time(&started)
                        .ok_or_else(|| self.damaged(format!("run {id}: start '{started}'")))?,
                    finished: finished.as_deref().and_then(parse_time),
                    outcome: outcome
                        .parse()
                        .map_err(|_| self.damaged(format!("run {id}: outcome '{outcome}'")))?,
                    inputs: n[0],
                    scored: n[1],
                    unchanged: n[2],
                    failed: n[3],
                    changes: n[4],
                    written_back: n[5],
                    unremembered: n[6],
                    message,
                })
            })
            .collect()
    }

    /// The jobs that have runs.
    pub fn jobs(&self) -> Result<Vec<String>, StateError> {
        let conn = self.conn();
        let rows = strings(&conn, "SELECT DISTINCT job FROM runs ORDER BY job", []).map_err(|e| self.db(e))?;
        Ok(rows)
    }

    /// How many runs of `job` failed in a row, counting from the latest
    /// finished one.
    pub fn failures_in_a_row(&self, job: &str) -> Result<usize, StateError> {
        let runs = self.runs(Some(job), 100)?;
        Ok(runs
            .iter()
            .filter(|r| r.outcome != Outcome::Running)
            .take_while(|r| !r.outcome.completed())
            .count())
    }

    /// Totals of finished runs per job and outcome, for `/metrics`: (job, outcome, runs,
    /// seconds, inputs, scored, unchanged, failed, written back).
    pub fn run_totals(&self) -> Result<Vec<(String, String, [f64; 7])>, StateError> {
        let conn = self.conn();
        let mut st = conn
            .prepare(
                "SELECT job, outcome, COUNT(*),
                    COALESCE(SUM((julianday(finished) - julianday(started)) * 86400.0), 0),
                    SUM(inputs), SUM(scored), SUM(unchanged), SUM(failed), SUM(written_back)
                 FROM runs WHERE outcome != 'running' GROUP BY job, outcome ORDER BY job, outcome",
            )
            .map_err(|e| self.db(e))?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    [
                        r.get::<_, i64>(2)? as f64,
                        r.get(3)?,
                        r.get::<_, i64>(4)? as f64,
                        r.get::<_, i64>(5)? as f64,
                        r.get::<_, i64>(6)? as f64,
                        r.get::<_, i64>(7)? as f64,
                        r.get::<_, i64>(8)? as f64,
                    ],
                ))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.db(e))?;
        Ok(rows)
    }

    /// Totals per job and connector: (job, connector, files, written, errors).
    pub fn connector_totals(&self) -> Result<Vec<(String, String, [i64; 3])>, StateError> {
        let conn = self.conn();
        let mut st = conn
            .prepare(
                "SELECT runs.job, c.connector, SUM(c.files), SUM(c.written), SUM(c.errors)
                 FROM run_connectors c JOIN runs ON runs.id = c.run_id
                 GROUP BY runs.job, c.connector ORDER BY runs.job, c.connector",
            )
            .map_err(|e| self.db(e))?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, [r.get(2)?, r.get(3)?, r.get(4)?])))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.db(e))?;
        Ok(rows)
    }

    /// A provider's assessments over time (by id, or name without case),
    /// oldest first; of one country when given.
    pub fn history(&self, provider: &str, country: Option<&str>) -> Result<Vec<HistoryEntry>, StateError> {
        let conn = self.conn();
        let mut st = conn
            .prepare(
                "SELECT a.run_id, r.started, a.job, a.provider_name, a.country, a.as_of, a.tier, a.score,
                        a.coverage_class, a.flags
                 FROM assessments a JOIN runs r ON r.id = a.run_id
                 WHERE (a.provider = ?1 OR lower(a.provider_name) = lower(?1))
                   AND (?2 IS NULL OR a.country = upper(?2))
                 ORDER BY a.country, a.run_id",
            )
            .map_err(|e| self.db(e))?;
        let rows = st
            .query_map(params![provider, country], |r| {
                Ok(HistoryEntry {
                    run_id: r.get(0)?,
                    run_started: r.get(1)?,
                    job: r.get(2)?,
                    provider_name: r.get(3)?,
                    country: r.get(4)?,
                    as_of: r.get(5)?,
                    tier: r.get(6)?,
                    score: r.get(7)?,
                    coverage_class: r.get(8)?,
                    flags: r.get(9)?,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.db(e))?;
        Ok(rows)
    }

    /// The saved cursor of a connector's stream.
    pub fn cursor(&self, connector: &str, stream: &str) -> Result<Option<String>, StateError> {
        self.conn()
            .query_row(
                "SELECT cursor FROM cursors WHERE connector = ?1 AND stream = ?2",
                params![connector, stream],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.db(e))
    }

    /// Every saved cursor of `connector`: (stream, cursor).
    pub fn cursors(&self, connector: &str) -> Result<Vec<(String, String)>, StateError> {
        let conn = self.conn();
        let mut st = conn
            .prepare("SELECT stream, cursor FROM cursors WHERE connector = ?1 ORDER BY stream")
            .map_err(|e| self.db(e))?;
        let rows = st
            .query_map(params![connector], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.db(e))?;
        Ok(rows)
    }

    /// Saves a stream's cursor; call only once what it covers is stored.
    pub fn save_cursor(&self, connector: &str, stream: &str, cursor: &str) -> Result<(), StateError> {
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO cursors (connector, stream, cursor, updated) VALUES (?1, ?2, ?3, ?4)",
                params![connector, stream, cursor, now()],
            )
            .map(|_| ())
            .map_err(|e| self.db(e))
    }
}

/// The first column of every row `sql` selects, as text.
fn strings(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<Vec<String>> {
    conn.prepare(sql)?.query_map(params, |r| r.get(0))?.collect()
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StateError> {
    let db = |source| StateError::Db {
        path: path.to_owned(),
        source,
    };
    // Read the version and migrate under one write lock, so two processes
    // opening a new state at once do not both migrate it.
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(db)?;
    let version: usize = tx
        .pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
        .map_err(db)?
        .try_into()
        .unwrap_or(0);
    if version > MIGRATIONS.len() {
        return Err(StateError::TooNew {
            path: path.to_owned(),
            found: version,
            known: MIGRATIONS.len(),
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.execute_batch(sql).map_err(db)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64).map_err(db)?;
        tracing::info!(state = %path.display(), version = i + 1, "state schema migrated");
    }
    tx.commit().map_err(db)
}

/// Creates the state folder readable by the service user only: it holds
/// rotated tokens' neighbours and every provider's results.
fn create_private_dir(dir: &Path) -> Result<(), StateError> {
    let io = |source| StateError::Io {
        path: dir.to_owned(),
        source,
    };
    if !dir.is_dir() {
        std::fs::create_dir_all(dir).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
    }
    Ok(())
}

/// An exclusive lock on a file in the state folder, held until dropped; the
/// operating system releases it when the process dies, so a killed daemon
/// never leaves a stale lock.
pub struct Lock {
    _file: std::fs::File,
}

impl Lock {
    /// Takes the lock `name` in `dir`, or says who holds it.
    pub fn take(dir: &Path, name: &str, what: &str) -> Result<Lock, StateError> {
        create_private_dir(dir)?;
        let path = dir.join(name);
        let io = |source| StateError::Io {
            path: path.clone(),
            source,
        };
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {
                use std::io::{Seek, Write};
                file.set_len(0).map_err(io)?;
                file.seek(std::io::SeekFrom::Start(0)).map_err(io)?;
                writeln!(file, "{}", std::process::id()).map_err(io)?;
                Ok(Lock { _file: file })
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                Err(StateError::Busy(format!(
                    "{what} is already running on the state in {} (process {}); stop it first",
                    dir.display(),
                    holder.trim()
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_state_is_migrated_to_the_latest_schema_once() {
        let dir = tempfile::tempdir().unwrap();
        State::open(dir.path()).unwrap();
        let state = State::open(dir.path()).unwrap();
        let version: i64 = state
            .conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
    }

    #[test]
    fn a_state_of_an_older_schema_is_migrated_keeping_what_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(dir.path().join(DB_NAME)).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO inputs (job, key, content_hash, settings, run_id) VALUES ('inbox', 'a.xlsx', 'h', 's', 1)",
                [],
            )
            .unwrap();
        }
        let state = State::open(dir.path()).unwrap();
        let kept = state.input("inbox", "a.xlsx").unwrap().unwrap();
        assert_eq!((kept.content_hash.as_str(), kept.output), ("h", None));
    }

    #[test]
    fn a_state_from_a_newer_iorready_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        State::open(dir.path())
            .unwrap()
            .conn()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let err = State::open(dir.path()).err().unwrap();
        assert!(matches!(err, StateError::TooNew { found: 99, .. }), "{err}");
    }

    #[test]
    fn a_run_left_running_is_marked_interrupted_when_the_job_starts_again() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(dir.path()).unwrap();
        let first = state.begin_run("inbox").unwrap();
        state.begin_run("inbox").unwrap();
        let runs = state.runs(Some("inbox"), 10).unwrap();
        let old = runs.iter().find(|r| r.id == first).unwrap();
        assert_eq!(old.outcome, Outcome::Interrupted);
        assert!(old.finished.is_some());
    }

    #[test]
    fn failures_in_a_row_stop_at_the_last_completed_run() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(dir.path()).unwrap();
        let counts = RunCounts::default();
        for outcome in [Outcome::Failed, Outcome::Ok, Outcome::Failed, Outcome::Failed] {
            let id = state.begin_run("inbox").unwrap();
            state
                .finish_run("inbox", id, outcome, &counts, None, None, &[], &[])
                .unwrap();
        }
        assert_eq!(state.failures_in_a_row("inbox").unwrap(), 2);
    }

    #[test]
    fn cursors_move_on_with_the_runs_end_in_one_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(dir.path()).unwrap();
        let id = state.begin_run("vendor").unwrap();
        let cursors = [(
            "vendor/vendor".to_owned(),
            "suppliers".to_owned(),
            "2026-11-03".to_owned(),
        )];
        state
            .finish_run(
                "vendor",
                id,
                Outcome::Ok,
                &RunCounts::default(),
                None,
                None,
                &[],
                &cursors,
            )
            .unwrap();
        assert_eq!(
            state.cursor("vendor/vendor", "suppliers").unwrap().as_deref(),
            Some("2026-11-03")
        );
    }

    #[test]
    fn a_link_kept_per_parent_forgets_the_whole_streams_link_of_an_older_iorready() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(dir.path()).unwrap();
        state.save_cursor("job/graph", "questionnaires", "https://old").unwrap();
        state.save_cursor("job/graph", "suppliers", "2026-11-01").unwrap();
        let id = state.begin_run("job").unwrap();
        let cursors = [(
            "job/graph".to_owned(),
            "questionnaires@F1".to_owned(),
            "https://new".to_owned(),
        )];
        state
            .finish_run("job", id, Outcome::Ok, &RunCounts::default(), None, None, &[], &cursors)
            .unwrap();
        let kept: Vec<String> = state
            .cursors("job/graph")
            .unwrap()
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(kept, ["questionnaires@F1", "suppliers"]);
    }

    #[test]
    fn the_lock_is_refused_while_held_and_free_once_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let held = Lock::take(dir.path(), "daemon.lock", "a daemon").unwrap();
        let err = Lock::take(dir.path(), "daemon.lock", "a daemon").err().unwrap();
        assert!(err.to_string().contains("already running"), "{err}");
        drop(held);
        Lock::take(dir.path(), "daemon.lock", "a daemon").unwrap();
    }
}
