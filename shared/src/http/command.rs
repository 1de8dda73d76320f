//! A write command served over HTTP: [`crate::command::execute`], with the request's
//! `Idempotency-Key` (if any) recorded in the same transaction as the effect.

use super::{ApiRequest, ApiResponse, ApiResult};
use crate::command::{execute, execute_keyed, Command, Keyed};
use crate::store::Store;

/// Runs `command` for `req` and answers `render(output)`. A keyed request records
/// exactly that answer with its effect, or answers the response recorded earlier.
pub async fn run_command<C, R>(req: &ApiRequest, store: &Store, command: &C, render: R) -> ApiResult
where
    C: Command,
    R: Fn(&C::Output) -> ApiResult + Sync,
{
    let Some(intent) = &req.intent else {
        let output = execute(store, command).await?;
        return render(&output);
    };
    let record = |output: &C::Output| Ok(render(output)?.to_stored(&intent.trace_id));
    match execute_keyed(store, command, intent, &record).await? {
        Keyed::Done(output) => {
            let mut response = render(&output)?;
            response.recorded = true;
            Ok(response)
        }
        Keyed::Replay(stored) => {
            let mut response = ApiResponse::no_content();
            response.status = stored.status;
            response.replayed = Some(stored);
            Ok(response)
        }
    }
}
