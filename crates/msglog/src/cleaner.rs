//! Removes what has outlived its retention (TT-3.8.4): database records once archived and
//! older than `db_retention_days` (or, for services not archived, older than their own
//! retention), whole time-stamp batches at a time so every remaining record keeps its
//! proof; segment files no record refers to any more; archive files whose every record has
//! expired; operational monitoring records.
//! The last record always stays, so the chain continues across restarts.

use sqlx::Row;

use crate::MsgLogError;
use crate::log::MessageLog;

const DAY_MS: i64 = 86_400_000;

/// What one cleaning removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanReport {
    /// Records removed from the database.
    pub records: u64,
    /// Archive files removed.
    pub archive_files: u64,
    /// Segment files removed (no record left in them).
    pub segment_files: u64,
    /// Operational monitoring records removed.
    pub operational: u64,
}

impl MessageLog {
    /// Removes everything whose retention ended before `now_ms`.
    pub async fn clean_once(&self, now_ms: i64) -> Result<CleanReport, MsgLogError> {
        self.caught_up().await?;
        let s = &self.inner.settings;
        let pool = self.inner.db.pool();
        let mut report = CleanReport::default();
        let db_cutoff = now_ms - i64::from(s.db_retention_days) * DAY_MS;
        let batches = sqlx::query(
            "SELECT ts_batch FROM log_record WHERE ts_batch IS NOT NULL GROUP BY ts_batch \
             HAVING SUM(CASE WHEN (archive = 1 AND archived = 1 AND time_ms < $1) \
                              OR (archive = 0 AND time_ms + retention_days * 86400000 < $2) THEN 0 ELSE 1 END) = 0 \
                AND MAX(seq) < (SELECT MAX(seq) FROM log_record)",
        )
        .bind(db_cutoff)
        .bind(now_ms)
        .fetch_all(pool)
        .await?;
        for b in batches {
            let id: i64 = b.try_get(0)?;
            let mut tx = self.inner.db.begin_write().await.map_err(MsgLogError::from_write)?;
            let n = sqlx::query("DELETE FROM log_record WHERE ts_batch = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM ts_batch WHERE id = $1").bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
            report.records += n.rows_affected();
        }
        report.segment_files = self.remove_unused_segments().await?;
        let files =
            sqlx::query("SELECT name FROM archive_file WHERE expires_ms < $1").bind(now_ms).fetch_all(pool).await?;
        for f in files {
            let name: String = f.try_get(0)?;
            let path = s.archive_dir.join(&name);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(MsgLogError::io(&path, e)),
            }
            sqlx::query("DELETE FROM archive_file WHERE name = $1").bind(&name).execute(pool).await?;
            report.archive_files += 1;
        }
        let op_cutoff = now_ms - i64::from(s.op_retention_days) * DAY_MS;
        report.operational = sqlx::query(
            "DELETE FROM op_record WHERE time_ms < $1 AND record_id < (SELECT MAX(record_id) FROM op_record)",
        )
        .bind(op_cutoff)
        .execute(pool)
        .await?
        .rows_affected();
        if report != CleanReport::default() {
            tracing::info!(?report, "message log cleaned");
        }
        Ok(report)
    }

    /// Removes the segment files before the oldest one a record still refers to (the last
    /// record always stays, so the segment being written is never among them).
    async fn remove_unused_segments(&self) -> Result<u64, MsgLogError> {
        let oldest: Option<i64> =
            sqlx::query_scalar("SELECT MIN(segment) FROM log_record").fetch_one(self.inner.db.pool()).await?;
        let Some(oldest) = oldest else { return Ok(0) };
        let dir = &self.inner.segment_dir;
        let mut removed = 0;
        for number in crate::segment::segment_numbers(dir)?.into_iter().filter(|n| *n < oldest) {
            let path = crate::segment::segment_path(dir, number);
            match std::fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(MsgLogError::io(&path, e)),
            }
        }
        Ok(removed)
    }

    /// Archives every `archive_interval` and cleans every `clean_interval` until the
    /// runtime stops.
    pub fn spawn_maintenance(&self) -> tokio::task::JoinHandle<()> {
        let log = self.clone();
        tokio::spawn(async move {
            let mut archive = tokio::time::interval(log.inner.settings.archive_interval);
            let mut clean = tokio::time::interval(log.inner.settings.clean_interval);
            archive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            clean.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = archive.tick() => {
                        if let Err(e) = log.archive_all().await {
                            tracing::error!(error = %e, "archiving the message log failed; will retry");
                        }
                    }
                    _ = clean.tick() => {
                        if let Err(e) = log.clean_once(crate::log::now_ms()).await {
                            tracing::error!(error = %e, "cleaning the message log failed; will retry");
                        }
                    }
                }
            }
        })
    }
}
