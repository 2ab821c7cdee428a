//! Scheduled backups of `kyso serve --backup-dir DIR --backup-every 24h`: one at start, then one
//! each period, through `kyso_store::backup::create` (what `kyso backup create` runs). A run is
//! never started while another is going in this process (the store's lock); of several nodes on
//! one database, the one holding the job's lease (`kyso_store::leases`) makes the period's run. Progress and failures go to the
//! log (target `kyso::backup`); the last run's time and outcome to the metrics
//! (`kyso_backup_runs`, `kyso_backup_last_timestamp_seconds`).

use std::path::PathBuf;
use std::sync::Arc;

use kyso_store::backup::{self, Objects};
use kyso_store::blobs::Blobs;

use super::{AuditFiles, Now};
use crate::AppState;

/// What a scheduled run needs besides the store.
#[derive(Debug, Clone)]
pub struct Job {
    pub every: std::time::Duration,
    /// Where the backups go (a folder, a bucket).
    pub target: Arc<dyn Objects>,
    /// What is backed up: the server's blob store.
    pub blobs: Blobs,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub audit_files: AuditFiles,
}

/// Run the backups until the server stops.
pub(crate) async fn run(state: AppState, job: Job, now: Now) {
    let target = job.target.clone();
    let mut tick = tokio::time::interval(job.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // One node of several on the database makes the period's backup.
        if !state.leads("backup", job.every).await {
            continue;
        }
        let src = backup::Source {
            store: &state.store,
            blobs: &job.blobs,
            database_url: job.database_url.as_deref(),
            audit_key: &job.audit_files.key_file(&job.data_dir),
            audit_checkpoints: &job.audit_files.checkpoint_file(&job.data_dir),
            work_dir: &job.data_dir,
        };
        let outcome = backup::create(&src, target.clone(), now).await;
        let at = now().unix_timestamp();
        match outcome {
            Ok(m) => {
                state.metrics.backup_ended(true, at);
                tracing::info!(
                    target: "kyso::backup",
                    id = %m.id,
                    to = %target.describe(),
                    blobs = m.blobs.count,
                    copied = m.blobs.copied,
                    "scheduled backup made"
                );
            }
            Err(e) => {
                state.metrics.backup_ended(false, at);
                tracing::error!(
                    target: "kyso::backup",
                    to = %target.describe(),
                    error = %e.message(true),
                    "scheduled backup failed"
                );
            }
        }
    }
}
