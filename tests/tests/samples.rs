//! The sample chain of `events/chain.json` through every function's handler in-process,
//! the way Lambda would call it: each step's sample event (`events/<function>.json`)
//! with the substitution of `events/README.md` (dates moved to today, the ids created by
//! earlier steps, the key), parsed as API Gateway would deliver it and dispatched
//! through the function; the scheduled cutoff gets its event with `time` = now and the
//! deployed clock check. Every answer is checked against the step (status, fields) and
//! the OpenAPI document. `make chain` (`infra/local/chain.py`) runs the same file
//! through `cargo lambda watch`.
//!
//! Run on DynamoDB Local at the real date, and with a clock far in the future at an hour
//! where the establishment's date (Europe/Paris) is already the next day in UTC terms.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, TimeZone, Utc};
use serde_json::{json, Value};
use shared::http::{Ctx, Function};

fn chain() -> Value {
    let path = kit::events_dir().join("chain.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `YYYY-MM-DD` of `text` moved by `days` (a date standing alone: not inside a
/// longer run of digits or letters; a time may follow, as in `2026-08-20T10:00:00Z`).
fn shift_dates(text: &str, days: i64) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i + 10 <= b.len() {
        let at_date = (0..10).all(|k| match k {
            4 | 7 => b[i + k] == b'-',
            _ => b[i + k].is_ascii_digit(),
        }) && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
            && b.get(i + 10).is_none_or(|c| !c.is_ascii_digit());
        if at_date {
            if let Ok(d) = NaiveDate::parse_from_str(&text[i..i + 10], "%Y-%m-%d") {
                out.push_str(&text[copied..i]);
                out.push_str(&(d + Duration::days(days)).to_string());
                i += 10;
                copied = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// One run of the chain: the clock, the variables so far, the key.
struct Run {
    doc: Value,
    now: DateTime<Utc>,
    shift: i64,
    vars: BTreeMap<String, String>,
    key: String,
    ctx: Ctx,
}

impl Run {
    async fn new(now: DateTime<Utc>) -> Run {
        let doc = chain();
        let zone = shared::domain::validate::time_zone(&doc["timeZone"]).unwrap();
        let sample_today =
            NaiveDate::parse_from_str(doc["sampleToday"].as_str().unwrap(), "%Y-%m-%d").unwrap();
        let today = now.with_timezone(&zone).date_naive();
        let ctx = Ctx::with_now(kit::store().await, now);
        let key = kit::key(&ctx.store, "demo").await;
        Run {
            doc,
            now,
            shift: (today - sample_today).num_days(),
            vars: BTreeMap::new(),
            key,
            ctx,
        }
    }

    /// The substitution of `events/README.md`, for a step whose `use` may make a sample
    /// id stand for another variable.
    fn substitute(&self, text: &str, uses: &Value) -> String {
        let mut text = shift_dates(text, self.shift);
        for (sample, var) in self.doc["ids"].as_object().unwrap() {
            let var = uses[var.as_str().unwrap()]
                .as_str()
                .unwrap_or(var.as_str().unwrap());
            if let Some(value) = self.vars.get(var) {
                text = text.replace(sample.as_str(), value);
            }
        }
        text = text.replace("REPLACE_WITH_API_KEY", &self.key);
        for (var, value) in &self.vars {
            text = text.replace(&format!("${{{var}}}"), value);
        }
        text
    }

    fn substitute_value(&self, v: &Value, uses: &Value) -> Value {
        serde_json::from_str(&self.substitute(&v.to_string(), uses)).unwrap()
    }

    /// Runs one step: `(status, headers, body)`.
    async fn invoke(&self, step: &Value) -> (u16, BTreeMap<String, String>, Value) {
        let uses = &step["use"];
        let function = step["invoke"].as_str().unwrap();
        let event_name = step["event"].as_str().unwrap_or(function);
        let path = kit::events_dir().join(format!("{event_name}.json"));
        let text = self.substitute(&std::fs::read_to_string(&path).unwrap(), uses);
        let mut event: Value = serde_json::from_str(&text).unwrap();
        if let Some(headers) = step["headers"].as_object() {
            for (name, value) in headers {
                event["headers"][name.to_ascii_lowercase()] = self.substitute_value(value, uses);
            }
        }
        if function == cutoff_release::NAME {
            // The next scheduled run, a minute on: a night made due by a write is released at
            // the earliest a minute after that write (the release index's eligibility rule).
            let run_at = self.now + chrono::Duration::seconds(61);
            event["time"] = json!(run_at.to_rfc3339_opts(SecondsFormat::Secs, true));
            // With the clock check of the deployed function (and of `cargo lambda watch`).
            return match cutoff_release::handle_event(&self.ctx.store, &event, Some(run_at)).await {
                Ok(body) => (200, BTreeMap::new(), body),
                Err(e) => panic!("{function}: {e}"),
            };
        }
        let f = http_function(function);
        let route = event["routeKey"].as_str().unwrap().to_string();
        let req = lambda_http::request::from_str(&event.to_string())
            .unwrap_or_else(|e| panic!("{event_name}: not an API Gateway event: {e}"));
        let resp = shared::http::dispatch(&f, &self.ctx, req).await;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap().to_string()))
            .collect();
        let raw = String::from_utf8(resp.body().to_vec()).unwrap();
        kit::spec::assert_response(&route, status, &raw);
        let body = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&raw).unwrap()
        };
        (status, headers, body)
    }

    /// Every step in order, each answer checked; the story is printed as it goes.
    /// Returns the functions invoked.
    async fn run(mut self) -> Vec<String> {
        let mut invoked = Vec::new();
        println!(
            "The sample chain at {} (sample dates moved by {} days)",
            self.now.to_rfc3339_opts(SecondsFormat::Secs, true),
            self.shift
        );
        let steps = self.doc["steps"].as_array().unwrap().clone();
        for (n, step) in steps.iter().enumerate() {
            let uses = &step["use"];
            let function = step["invoke"].as_str().unwrap();
            let (status, headers, body) = self.invoke(step).await;
            let what = format!("step {} ({function})", n + 1);
            let say = fill(
                &self.substitute(step["say"].as_str().unwrap_or(""), uses),
                &body,
            );
            println!("{:>2}. {function} -> {status}  {say}", n + 1);
            let expected_status = step["status"].as_u64().unwrap_or(200) as u16;
            assert_eq!(status, expected_status, "{what}: {body}");
            for (pointer, expected) in step["expect"].as_object().into_iter().flatten() {
                let expected = self.substitute_value(expected, uses);
                let actual = body.pointer(pointer).cloned().unwrap_or(Value::Null);
                assert_eq!(actual, expected, "{what} {pointer}: {body}");
            }
            for (name, expected) in step["expectHeaders"].as_object().into_iter().flatten() {
                let expected = self.substitute_value(expected, uses);
                assert_eq!(
                    headers.get(name.as_str()).map(|v| json!(v)),
                    Some(expected),
                    "{what} header {name}: {headers:?}"
                );
            }
            for (var, pointer) in step["remember"].as_object().into_iter().flatten() {
                let value = match body.pointer(pointer.as_str().unwrap()) {
                    Some(Value::String(s)) => s.clone(),
                    Some(v @ Value::Number(_)) => v.to_string(),
                    other => panic!("{what} {pointer}: {other:?}"),
                };
                self.vars.insert(var.clone(), value);
            }
            invoked.push(function.to_string());
        }
        invoked
    }
}

/// `{/pointer}` in a step's `say`: the answer's value there (a string without quotes).
fn fill(say: &str, body: &Value) -> String {
    let mut out = String::new();
    let mut rest = say;
    while let Some(start) = rest.find("{/") {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        let pointer = &rest[start + 1..start + len];
        match body.pointer(pointer) {
            Some(Value::String(s)) => out.push_str(s),
            Some(v) => out.push_str(&v.to_string()),
            None => out.push('?'),
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

fn http_function(name: &str) -> Function {
    local_server::functions()
        .into_iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no function {name}"))
}

#[tokio::test]
async fn the_sample_chain_runs_today() {
    let now = Utc::now();
    let now = Utc.timestamp_opt(now.timestamp(), 0).unwrap();
    let invoked = Run::new(now).await.run().await;
    // Every function's sample is part of the story.
    let all: BTreeSet<String> = local_server::functions()
        .iter()
        .map(|f| f.name.to_string())
        .chain([cutoff_release::NAME.to_string()])
        .collect();
    let seen: BTreeSet<String> = invoked.into_iter().collect();
    assert_eq!(
        all.difference(&seen).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "functions the chain never invokes"
    );
}

#[tokio::test]
async fn the_sample_chain_runs_in_2099_after_midnight_in_paris() {
    // 22:30Z in July is 00:30 the next day in Paris: the establishment's date decides.
    let now = Utc.with_ymd_and_hms(2099, 7, 14, 22, 30, 0).unwrap();
    Run::new(now).await.run().await;
}

#[test]
fn dates_move_by_whole_days_and_nothing_else_does() {
    let text = r#"{"from": "2026-09-01", "time": "2026-08-20T10:00:00Z", "id": "2489e9ad-2ee2-8e00-8ec9-32d5f69181c0", "n": "12026-08-20", "q": "from=2026-12-31&to=2027-01-01", "bad": "2026-02-30"}"#;
    assert_eq!(
        shift_dates(text, 1),
        r#"{"from": "2026-09-02", "time": "2026-08-21T10:00:00Z", "id": "2489e9ad-2ee2-8e00-8ec9-32d5f69181c0", "n": "12026-08-20", "q": "from=2027-01-01&to=2027-01-02", "bad": "2026-02-30"}"#
    );
    assert_eq!(shift_dates("2026-03-01", -1), "2026-02-28");
    assert_eq!(shift_dates("2026-08-20", 0), "2026-08-20");
}

#[test]
fn say_shows_values_of_the_answer() {
    let body = json!({"data": {"n": 3, "s": "x", "a": [{"d": "2026-09-01"}]}});
    assert_eq!(
        fill(
            "{/data/n} and {/data/s} on {/data/a/0/d}, {/nope}; {not a pointer}",
            &body
        ),
        "3 and x on 2026-09-01, ?; {not a pointer}"
    );
}
