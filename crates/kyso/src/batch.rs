//! Many documents in one process: a fixed pool of threads takes the next document from a shared
//! counter, with a progress bar on a terminal. One failed document does not stop the others.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};

use kyso_i18n::{Lang, UserError};

/// Run `work` on every job with `threads` threads; returns the failures in job order.
pub fn run<J: Sync, F>(jobs: &[J], threads: usize, lang: Lang, work: F) -> Vec<(&J, UserError)>
where
    F: Fn(&J) -> Result<(), UserError> + Sync,
{
    let bar = ProgressBar::new(jobs.len() as u64);
    if let Ok(style) = ProgressStyle::with_template(lang.pick(
        "{bar:40} {pos}/{len} tệp  {per_sec}  còn {eta}",
        "{bar:40} {pos}/{len} files  {per_sec}  {eta} left",
    )) {
        bar.set_style(style);
    }
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.min(jobs.len()).max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                if let Err(e) = work(job) {
                    if let Ok(mut f) = failures.lock() {
                        f.push((i, e));
                    }
                }
                bar.inc(1);
            });
        }
    });
    bar.finish_and_clear();
    let mut failures = failures.into_inner().unwrap_or_default();
    failures.sort_by_key(|(i, _)| *i);
    failures
        .into_iter()
        .filter_map(|(i, e)| jobs.get(i).map(|j| (j, e)))
        .collect()
}
