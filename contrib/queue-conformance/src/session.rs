//! [`Session`]: one plugin under test and its live instance, driven the way the server drives it.
//!
//! The server creates an instance, replays it once at startup, then only adds, flushes and marks
//! jobs done until it destroys the instance at exit. The suite keeps to that life cycle: to look
//! at what is stored it *restarts* (destroy, create with the same options, replay), so every
//! observation also proves that the data survives a restart and that `destroy` flushed.
//!
//! Isolation: the store may already hold jobs (a shared database, a previous run). Every job the
//! suite adds has a function name starting with this run's prefix plus the check's name (its
//! *scope*); replays are filtered to a scope and everything else is counted as foreign and never
//! touched.

use crate::job::Job;
use gearmand::plugin::LoadedPlugin;
use gearmand::queue::{QueueStore, StoredJob};
use std::time::{SystemTime, UNIX_EPOCH};

/// The plugin under test, its resolved options and its current instance.
pub struct Session {
    meta: LoadedPlugin,
    options: Vec<(String, Vec<u8>)>,
    store: Option<Box<dyn QueueStore>>,
    prefix: Vec<u8>,
}

impl Session {
    /// Creates the first instance.
    pub fn start(meta: LoadedPlugin, options: Vec<(String, Vec<u8>)>) -> Result<Session, String> {
        let store = meta.create_queue(&options).map_err(|e| e.to_string())?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        // Short: some backends limit function names (C gearmand's tables use VARCHAR(255)).
        let prefix = format!("gmc{:x}{:x}.", std::process::id(), nanos & 0xffff);
        Ok(Session {
            meta,
            options,
            store: Some(store),
            prefix: prefix.into_bytes(),
        })
    }

    /// What the plugin's header says.
    pub fn meta(&self) -> &LoadedPlugin {
        &self.meta
    }

    /// The function-name prefix of check `name`: every job the check adds starts with it.
    pub fn scope(&self, name: &str) -> Vec<u8> {
        let mut s = self.prefix.clone();
        s.extend_from_slice(name.as_bytes());
        s.push(b'.');
        s
    }

    /// The prefix of every job of this run.
    pub fn run_prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// The live instance; an error if the last restart failed.
    pub fn store(&mut self) -> Result<&mut (dyn QueueStore + 'static), String> {
        match self.store.as_deref_mut() {
            Some(store) => Ok(store),
            None => Err("no instance: the last create failed".to_string()),
        }
    }

    /// Whether an instance is live.
    pub fn is_live(&self) -> bool {
        self.store.is_some()
    }

    /// `add`, with the call named in the error.
    pub fn add(&mut self, job: &Job) -> Result<(), String> {
        self.store()?
            .add(&job.stored())
            .map_err(|e| format!("add of {job} failed: {e}"))
    }

    /// `add_batch` (the server's way of adding its group of new jobs): one result per job, or
    /// an error if the instance is gone or the backend answered another number of results.
    pub fn add_batch(&mut self, jobs: &[Job]) -> Result<Vec<Result<(), String>>, String> {
        let stored: Vec<_> = jobs.iter().map(Job::stored).collect();
        let results = self.store()?.add_batch(&stored);
        if results.len() != jobs.len() {
            return Err(format!(
                "add_batch of {} jobs gave {} results",
                jobs.len(),
                results.len()
            ));
        }
        Ok(results)
    }

    /// Adds every job with one `add_batch`, then flushes once; any refusal is an error.
    pub fn add_all_batched(&mut self, jobs: &[Job]) -> Result<(), String> {
        let results = self.add_batch(jobs)?;
        if let Some((job, Err(e))) = jobs.iter().zip(&results).find(|(_, r)| r.is_err()) {
            return Err(format!("add_batch refused {job}: {e}"));
        }
        self.flush()
    }

    /// `flush`, with the call named in the error.
    pub fn flush(&mut self) -> Result<(), String> {
        self.store()?
            .flush()
            .map_err(|e| format!("flush failed: {e}"))
    }

    /// `done` of the job's (unique, function), with the call named in the error.
    pub fn done(&mut self, job: &Job) -> Result<(), String> {
        self.store()?
            .done(&job.unique, &job.function)
            .map_err(|e| format!("done of {job} failed: {e}"))
    }

    /// Adds every job, then flushes once (as the server's group commit does).
    pub fn add_all(&mut self, jobs: &[Job]) -> Result<(), String> {
        for job in jobs {
            self.add(job)?;
        }
        self.flush()
    }

    /// Marks every job done, then flushes once.
    pub fn done_all(&mut self, jobs: &[Job]) -> Result<(), String> {
        for job in jobs {
            self.done(job)?;
        }
        self.flush()
    }

    /// Destroys the instance (which must flush) and creates a new one with the same options.
    pub fn restart(&mut self) -> Result<(), String> {
        if let Some(mut old) = self.store.take() {
            old.shutdown();
        }
        let store = self
            .meta
            .create_queue(&self.options)
            .map_err(|e| format!("create after restart failed: {e}"))?;
        self.store = Some(store);
        Ok(())
    }

    /// Replays the current instance through `sink` (the one replay the server does at startup).
    pub fn replay_with(
        &mut self,
        sink: &mut dyn FnMut(&StoredJob<'_>) -> Result<(), String>,
    ) -> Result<(), String> {
        self.store()?
            .replay(sink)
            .map_err(|e| format!("replay failed: {e}"))
    }

    /// Every job the current instance replays, split into (this run's, foreign count).
    pub fn replay_all(&mut self) -> Result<(Vec<Job>, usize), String> {
        let prefix = self.prefix.clone();
        let mut ours = Vec::new();
        let mut foreign = 0usize;
        self.replay_with(&mut |job| {
            if job.function.starts_with(&prefix) {
                ours.push(Job::from_stored(job));
            } else {
                foreign += 1;
            }
            Ok(())
        })?;
        Ok((ours, foreign))
    }

    /// Restarts and replays: (this run's jobs, foreign count), what the server sees at startup.
    pub fn observe_all(&mut self) -> Result<(Vec<Job>, usize), String> {
        self.restart()?;
        self.replay_all()
    }

    /// Restarts, replays, and returns the jobs of `scope`.
    pub fn observe(&mut self, scope: &[u8]) -> Result<Vec<Job>, String> {
        let (ours, _) = self.observe_all()?;
        Ok(ours
            .into_iter()
            .filter(|j| j.function.starts_with(scope))
            .collect())
    }

    /// Removes whatever is left in `scope` (after a failed check), so later checks start clean.
    pub fn clean(&mut self, scope: &[u8]) -> Result<(), String> {
        let left = self.observe(scope)?;
        self.done_all(&left)
    }

    /// Destroys the instance (the server's exit).
    pub fn finish(mut self) {
        if let Some(mut store) = self.store.take() {
            store.shutdown();
        }
    }
}

/// Epoch seconds now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
