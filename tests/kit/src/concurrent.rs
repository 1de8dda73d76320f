//! Races: the same request sent by many tasks at once.

use std::future::Future;

/// Runs `n` copies of `task(i)` at once (each on its own task) and returns their
/// outputs in the order of `i`.
pub async fn concurrently<T, F, Fut>(n: usize, task: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(task(i))).collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.expect("a racing task panicked"));
    }
    out
}
