//! Races: the same request sent by many tasks at once.

use std::future::Future;

/// Runs `n` copies of `task(with, i)` at once, each on its own task with its own clone
/// of `with`, and returns their outputs in the order of `i`.
pub async fn concurrently<C, T, F, Fut>(n: usize, with: &C, task: F) -> Vec<T>
where
    C: Clone,
    F: Fn(C, usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = (0..n)
        .map(|i| tokio::spawn(task(with.clone(), i)))
        .collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.expect("a racing task panicked"));
    }
    out
}
