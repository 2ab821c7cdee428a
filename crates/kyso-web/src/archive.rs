//! The filing job (issue 19 item 2): documents registered wait in the store's archive queue
//! (written in the registering transaction); this job reads each one's file from the blob store
//! (re-hashed), extracts its text layer with kyso's own reader (`kyso_pdf::text`), and files it
//! (`kyso_store::archive::file`: the entry and its index row in one transaction).
//!
//! It runs right after a registration commits ([`file_soon`]) and every [`FILE_INTERVAL`] on the
//! node holding the `archive` lease, so what a stopped server missed is filed by the next round.
//! One round at a time per process; two nodes filing the same document file it once (the store
//! refuses the second).

use std::time::Duration;

use kyso_domain::archive::MAX_BODY_CHARS;
use kyso_store::archive::{self, TextLayer, Unfiled};

use crate::AppState;

/// How often the lease holder looks at the queue.
pub(crate) const FILE_INTERVAL: Duration = Duration::from_secs(20);
/// Documents read per batch of a round.
const BATCH: i64 = 200;

/// Whether a round is running in this process (the trigger after a registration and the
/// periodic round do not overlap).
static RUNNING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The text layer of a filed PDF, as the index takes it.
pub(crate) fn text_layer(bytes: &[u8]) -> TextLayer {
    match kyso_pdf::text::document_text(bytes, kyso_pdf::Limits::default(), MAX_BODY_CHARS) {
        Ok(t) if t.trim().is_empty() => TextLayer::None,
        Ok(t) => TextLayer::Text(t),
        Err(e) => TextLayer::Unreadable(e.to_string()),
    }
}

async fn file_one(st: &AppState, blobs: &kyso_store::blobs::Blobs, item: &Unfiled) -> bool {
    let (b, name) = (blobs.clone(), item.sha256.clone());
    let read =
        tokio::task::spawn_blocking(move || b.get(&name).map(|bytes| text_layer(&bytes))).await;
    let text = match read {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            let _ = archive::filing_failed(&st.store, item, &e.to_string()).await;
            return false;
        }
        Err(e) => {
            let _ = archive::filing_failed(&st.store, item, &e.to_string()).await;
            return false;
        }
    };
    match archive::file(&st.store, item, &text, st.now()).await {
        Ok(_) => true,
        Err(e) => {
            let _ = archive::filing_failed(&st.store, item, &e.to_string()).await;
            false
        }
    }
}

/// File what the queue holds; how many were filed.
pub async fn file_round(st: &AppState) -> usize {
    let Some(blobs) = st.blobs.clone() else {
        return 0;
    };
    let _one = RUNNING.lock().await;
    let mut filed = 0;
    loop {
        let items = match archive::queued(&st.store, BATCH).await {
            Ok(i) => i,
            Err(e) => {
                tracing::error!(error = %e, "the archive queue could not be read");
                return filed;
            }
        };
        if items.is_empty() {
            break;
        }
        let mut all = true;
        for item in &items {
            if file_one(st, &blobs, item).await {
                filed += 1;
            } else {
                all = false;
            }
        }
        // A failure is retried by the next round, not this one.
        if !all || items.len() < usize::try_from(BATCH).unwrap_or(usize::MAX) {
            break;
        }
    }
    if filed > 0 {
        tracing::info!(filed, "{filed} registered document(s) filed in the archive");
    }
    filed
}

/// After a registration commits: file it now, in the background.
pub(crate) fn file_soon(st: &AppState) {
    let st = st.clone();
    tokio::spawn(async move {
        file_round(&st).await;
    });
}

/// The periodic round on the holder of the `archive` lease.
pub async fn run_filing_job(st: AppState) {
    let mut interval = tokio::time::interval(FILE_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if st.leads("archive", FILE_INTERVAL * 3).await {
            file_round(&st).await;
        }
    }
}
