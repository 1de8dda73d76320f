//! `infra/template.yaml` read as an AWS engineer would before a first deploy: what a fresh
//! account's quotas refuse, what leaves billing resources behind, and the settings every
//! function must carry (logs that expire and can be filtered, a timeout that fits the
//! request budget, alarms that notify someone). We cannot deploy from here, so these rules
//! are the check.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::{Mapping, Value};

/// Read when the test runs (not the copy compiled into `shared`), so an edit of the
/// template is judged without a rebuild.
fn doc() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    let text = std::fs::read_to_string(&path).expect("read infra/template.yaml");
    serde_yaml::from_str(&text).expect("infra/template.yaml is YAML")
}

/// The value under the intrinsic `!Name`, if `v` is one.
fn intrinsic<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    match v {
        Value::Tagged(t) if t.tag == name => Some(&t.value),
        _ => None,
    }
}

fn is_ref(v: &Value, target: &str) -> bool {
    intrinsic(v, "Ref").and_then(Value::as_str) == Some(target)
}

fn resources(doc: &Value) -> &Mapping {
    doc["Resources"].as_mapping().expect("Resources")
}

fn of_type<'a>(doc: &'a Value, ty: &str) -> Vec<(String, &'a Value)> {
    resources(doc)
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(ty))
        .map(|(k, r)| (k.as_str().unwrap().to_string(), r))
        .collect()
}

/// `base` with `over` merged in, maps key by key (SAM's Globals semantics).
fn merged(base: &Value, over: &Value) -> Value {
    match (base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            let mut out = b.clone();
            for (k, v) in o {
                let m = match b.get(k) {
                    Some(bv) => merged(bv, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), m);
            }
            Value::Mapping(out)
        }
        (_, Value::Null) => base.clone(),
        _ => over.clone(),
    }
}

/// Every function's properties with the Globals applied.
fn functions(doc: &Value) -> Vec<(String, Value)> {
    let globals = &doc["Globals"]["Function"];
    of_type(doc, "AWS::Serverless::Function")
        .into_iter()
        .map(|(name, r)| (name, merged(globals, &r["Properties"])))
        .collect()
}

fn default_of(doc: &Value, parameter: &str) -> Value {
    doc["Parameters"][parameter]["Default"].clone()
}

/// Evaluates a value with every parameter at its default (the intrinsics the template
/// uses for settings: Ref, If, Equals, Not). `None` is AWS::NoValue.
fn eval(doc: &Value, v: &Value) -> Option<Value> {
    if let Some(name) = intrinsic(v, "Ref").and_then(Value::as_str) {
        if name == "AWS::NoValue" {
            return None;
        }
        let d = default_of(doc, name);
        assert!(!d.is_null(), "Ref {name}: no parameter with a default");
        return Some(d);
    }
    if let Some(args) = intrinsic(v, "If").and_then(Value::as_sequence) {
        let cond = args[0].as_str().expect("If names a condition");
        let branch = if condition(doc, cond) {
            &args[1]
        } else {
            &args[2]
        };
        return eval(doc, branch);
    }
    Some(v.clone())
}

fn truth(doc: &Value, v: &Value) -> bool {
    if let Some(args) = intrinsic(v, "Not").and_then(Value::as_sequence) {
        return !truth(doc, &args[0]);
    }
    if let Some(args) = intrinsic(v, "Equals").and_then(Value::as_sequence) {
        let a = eval(doc, &args[0]).map(|v| scalar(&v));
        let b = eval(doc, &args[1]).map(|v| scalar(&v));
        return a == b;
    }
    if let Some(name) = intrinsic(v, "Condition").and_then(Value::as_str) {
        return condition(doc, name);
    }
    panic!("condition not understood: {v:?}");
}

fn condition(doc: &Value, name: &str) -> bool {
    truth(doc, &doc["Conditions"][name])
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

fn number(v: &Value) -> u64 {
    scalar(v)
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {v:?}"))
}

/// What is reserved with every parameter at its default: a new account's quota may be
/// 10 executions, of which none can be reserved (100 must stay unreserved), so nothing.
#[test]
fn nothing_reserves_concurrency_by_default() {
    let doc = doc();
    assert!(
        doc["Globals"]["Function"]
            .get("ReservedConcurrentExecutions")
            .is_none(),
        "a global reservation multiplies by every function"
    );
    let mut total = 0;
    let mut reserving = Vec::new();
    for (name, f) in functions(&doc) {
        if let Some(v) = f.get("ReservedConcurrentExecutions") {
            if let Some(n) = eval(&doc, v) {
                total += number(&n);
                reserving.push(name);
            }
        }
    }
    assert_eq!(total, 0, "reserved by default: {reserving:?}");
}

/// A failed first create must not leave a table behind, billing; later, the table stays.
#[test]
fn tables_are_kept_except_when_their_creation_fails() {
    let doc = doc();
    let tables = of_type(&doc, "AWS::DynamoDB::Table");
    assert!(!tables.is_empty());
    for (name, t) in tables {
        assert_eq!(
            t["DeletionPolicy"].as_str(),
            Some("RetainExceptOnCreate"),
            "{name}"
        );
        assert_eq!(t["UpdateReplacePolicy"].as_str(), Some("Retain"), "{name}");
        // The rollback of a failed first create deletes the table: deletion protection
        // would stop it (ROLLBACK_FAILED, the table left behind). A parameter turns it on.
        let protection = &t["Properties"]["DeletionProtectionEnabled"];
        assert!(
            intrinsic(protection, "Ref").is_some(),
            "{name}: deletion protection is a parameter"
        );
        assert_eq!(
            eval(&doc, protection).map(|v| scalar(&v)).as_deref(),
            Some("false"),
            "{name}: off by default, so that a failed first create rolls back"
        );
        // The AWS managed KMS key adds request charges over the default encryption and
        // gives no more control.
        assert_ne!(
            t["Properties"]["SSESpecification"]["SSEType"].as_str(),
            Some("KMS"),
            "{name}"
        );
    }
}

/// Every function: JSON logs filtered by the LogLevel parameter, Lambda's START/REPORT
/// lines kept, its own log group that expires, a timeout inside the request budget, no
/// X-Ray recording, no hard-coded log filter.
#[test]
fn every_function_carries_the_operational_settings() {
    let doc = doc();
    let groups: BTreeMap<String, &Value> =
        of_type(&doc, "AWS::Logs::LogGroup").into_iter().collect();
    let mut used_groups = BTreeSet::new();
    let fns = functions(&doc);
    assert_eq!(fns.len(), 29, "one per function crate (routes.rs)");
    for (name, f) in &fns {
        let logging = &f["LoggingConfig"];
        assert_eq!(logging["LogFormat"].as_str(), Some("JSON"), "{name}");
        assert!(
            is_ref(&logging["ApplicationLogLevel"], "LogLevel"),
            "{name}: ApplicationLogLevel from the LogLevel parameter"
        );
        assert_eq!(
            logging["SystemLogLevel"].as_str(),
            Some("INFO"),
            "{name}: START/REPORT lines (duration, memory, init) are INFO"
        );
        let group = intrinsic(&logging["LogGroup"], "Ref")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{name}: LoggingConfig.LogGroup refers to a log group"));
        let g = groups
            .get(group)
            .unwrap_or_else(|| panic!("{name}: {group} is no AWS::Logs::LogGroup"));
        assert!(
            is_ref(&g["Properties"]["RetentionInDays"], "LogRetentionDays"),
            "{name}: {group} expires after LogRetentionDays"
        );
        assert!(used_groups.insert(group.to_string()), "{group} shared");

        let vars = f["Environment"]["Variables"].as_mapping();
        assert!(
            vars.is_none_or(|v| !v.contains_key("RUST_LOG")),
            "{name}: RUST_LOG would override LogLevel"
        );
        assert_ne!(f["Tracing"].as_str(), Some("Active"), "{name}: no segments");
        assert!(
            is_ref(&f["Architectures"][0], "Architecture"),
            "{name}: Architecture parameter"
        );
        assert!(f["Timeout"].as_u64().is_some(), "{name}: a timeout");
    }
}

fn http_events(f: &Value) -> Vec<&Value> {
    f["Events"]
        .as_mapping()
        .map(|events| {
            events
                .values()
                .filter(|e| e["Type"].as_str() == Some("HttpApi"))
                .collect()
        })
        .unwrap_or_default()
}

/// An API function answers 503 at its deadline minus the margin, so it never runs into
/// Lambda's timeout (a bare 500) nor into the HTTP API's 30 s limit (a bare 503).
#[test]
fn api_functions_time_out_after_their_request_budget_and_before_api_gateway() {
    let doc = doc();
    let timeout = shared::http::FUNCTION_TIMEOUT.as_secs();
    assert_eq!(
        doc["Globals"]["Function"]["Timeout"].as_u64(),
        Some(timeout),
        "Globals.Function.Timeout = shared::http::FUNCTION_TIMEOUT"
    );
    assert!(timeout < 30, "under the HTTP API integration limit");
    assert_eq!(
        shared::http::DEFAULT_BUDGET + shared::http::DEADLINE_MARGIN,
        shared::http::FUNCTION_TIMEOUT,
        "a local request gets a deployed request's budget"
    );
    let sdk = shared::store::timeouts();
    let operation = sdk.operation_timeout().expect("an operation timeout");
    assert!(
        sdk.operation_attempt_timeout().expect("an attempt timeout") < operation,
        "an attempt can be retried within the operation"
    );
    assert!(
        operation * 2 <= shared::http::DEFAULT_BUDGET,
        "two stuck store calls fit the budget"
    );
    let mut api_functions = 0;
    for (name, f) in functions(&doc) {
        let events = http_events(&f);
        if events.is_empty() {
            continue;
        }
        api_functions += 1;
        // The functions whose biggest plans go in steps have the long timeout, the
        // same in the template and in their `FUNCTION` (their local budget).
        let long = [
            ("CreateAllotmentFunction", create_allotment::FUNCTION),
            ("CancelAllotmentFunction", cancel_allotment::FUNCTION),
            ("ReleaseAllotmentFunction", release_allotment::FUNCTION),
        ];
        let timeout = match long.iter().find(|(n, _)| *n == name) {
            Some((_, function)) => {
                assert_eq!(function.timeout, shared::http::LONG_FUNCTION_TIMEOUT);
                function.timeout.as_secs()
            }
            None => timeout,
        };
        assert!(timeout < 30, "{name}: under the HTTP API integration limit");
        assert_eq!(f["Timeout"].as_u64(), Some(timeout), "{name}");
        for e in events {
            if let Some(ms) = e["Properties"]["TimeoutInMillis"].as_u64() {
                assert!(ms >= timeout * 1000, "{name}: API Gateway would cut first");
            }
        }
    }
    assert_eq!(api_functions, 26);
}

/// The scheduled function: one attempt per event (the watermark covers a missed run),
/// an event older than a run's interval dropped, the failures in a dead-letter queue.
#[test]
fn asynchronous_functions_do_not_replay_old_events() {
    let doc = doc();
    let mut scheduled = 0;
    for (name, f) in functions(&doc) {
        let Some(events) = f["Events"].as_mapping() else {
            continue;
        };
        if !events
            .values()
            .any(|e| e["Type"].as_str() == Some("Schedule"))
        {
            continue;
        }
        scheduled += 1;
        let invoke = &f["EventInvokeConfig"];
        assert_eq!(invoke["MaximumRetryAttempts"].as_u64(), Some(0), "{name}");
        assert_eq!(
            invoke["MaximumEventAgeInSeconds"].as_u64(),
            Some(300),
            "{name}"
        );
        assert!(f["DeadLetterQueue"]["TargetArn"].is_tagged(), "{name}");
    }
    assert_eq!(scheduled, 1);
}

trait IsTagged {
    fn is_tagged(&self) -> bool;
}

impl IsTagged for Value {
    fn is_tagged(&self) -> bool {
        matches!(self, Value::Tagged(_))
    }
}

/// Alarms with no action notify nobody: each notifies the topic an e-mail (a parameter)
/// subscribes to.
#[test]
fn every_alarm_notifies_the_alarm_topic() {
    let doc = doc();
    let topics: BTreeSet<String> = of_type(&doc, "AWS::SNS::Topic")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let subscribed: BTreeSet<String> = of_type(&doc, "AWS::SNS::Subscription")
        .into_iter()
        .filter(|(_, s)| {
            s["Properties"]["Protocol"].as_str() == Some("email")
                && intrinsic(&s["Properties"]["Endpoint"], "Ref")
                    .and_then(Value::as_str)
                    .is_some_and(|p| doc["Parameters"].get(p).is_some())
        })
        .filter_map(|(_, s)| {
            intrinsic(&s["Properties"]["TopicArn"], "Ref")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    assert!(!subscribed.is_empty(), "an e-mail subscription");
    assert!(subscribed.is_subset(&topics));
    let alarms = of_type(&doc, "AWS::CloudWatch::Alarm");
    assert!(alarms.len() >= 6, "{}", alarms.len());
    for (name, a) in alarms {
        let actions = a["Properties"]["AlarmActions"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{name}: no AlarmActions"));
        assert!(
            actions
                .iter()
                .any(|t| subscribed.iter().any(|topic| is_ref(t, topic))),
            "{name}: notifies the subscribed topic"
        );
    }
}

fn alarm_on<'a>(doc: &'a Value, namespace: &str, metric: &str) -> Vec<&'a Value> {
    of_type(doc, "AWS::CloudWatch::Alarm")
        .into_iter()
        .map(|(_, a)| &a["Properties"])
        .filter(|p| {
            p["Namespace"].as_str() == Some(namespace) && p["MetricName"].as_str() == Some(metric)
        })
        .collect()
}

fn dimension<'a>(alarm: &'a Value, name: &str) -> Option<&'a Value> {
    alarm["Dimensions"]
        .as_sequence()?
        .iter()
        .find(|d| d["Name"].as_str() == Some(name))
        .map(|d| &d["Value"])
}

/// The cutoff is watched: its per-allotment failures (the metric the function emits),
/// its errors, and the schedule stopping (no invocation in 15 minutes, no data alarming).
#[test]
fn the_cutoff_is_watched() {
    use cutoff_release::metrics;
    let doc = doc();
    let failures = alarm_on(&doc, metrics::NAMESPACE, metrics::FAILURES);
    assert_eq!(failures.len(), 1, "an alarm on the emitted failure metric");
    assert!(is_ref(
        dimension(failures[0], metrics::DIMENSION).expect("the function dimension"),
        "CutoffReleaseFunction"
    ));
    let invocations: Vec<&Value> = alarm_on(&doc, "AWS/Lambda", "Invocations")
        .into_iter()
        .filter(|a| {
            dimension(a, "FunctionName").is_some_and(|d| is_ref(d, "CutoffReleaseFunction"))
        })
        .collect();
    assert_eq!(invocations.len(), 1, "the schedule-stopped alarm");
    let stopped = invocations[0];
    assert_eq!(stopped["TreatMissingData"].as_str(), Some("breaching"));
    assert_eq!(
        stopped["ComparisonOperator"].as_str(),
        Some("LessThanThreshold")
    );
    let window =
        stopped["Period"].as_u64().unwrap() * stopped["EvaluationPeriods"].as_u64().unwrap();
    assert_eq!(window, 900, "15 minutes");
    // The scheduled run's errors, and its release worker's.
    for function in ["CutoffReleaseFunction", "CutoffReleaseWorkerFunction"] {
        let errors = alarm_on(&doc, "AWS/Lambda", "Errors")
            .into_iter()
            .filter(|a| dimension(a, "FunctionName").is_some_and(|d| is_ref(d, function)))
            .count();
        assert_eq!(errors, 1, "{function}");
    }
}

/// Alarms on the API's server errors and on Lambda throttles.
#[test]
fn api_errors_and_throttles_are_watched() {
    let doc = doc();
    let api = alarm_on(&doc, "AWS/ApiGateway", "5xx");
    assert_eq!(api.len(), 1);
    assert!(is_ref(dimension(api[0], "ApiId").unwrap(), "HttpApi"));
    assert_eq!(alarm_on(&doc, "AWS/Lambda", "Throttles").len(), 1);
}

/// Access logs say what the integration answered, how fast, and why it failed.
#[test]
fn access_logs_carry_the_integration_outcome() {
    let doc = doc();
    let api = &doc["Resources"]["HttpApi"]["Properties"];
    let format = api["AccessLogSettings"]["Format"].as_str().unwrap();
    let fields: serde_json::Value = serde_json::from_str(format).expect("a JSON format");
    for variable in [
        "$context.requestId",
        "$context.routeKey",
        "$context.status",
        "$context.integrationStatus",
        "$context.integrationLatency",
        "$context.integrationErrorMessage",
        "$context.error.message",
        "$context.responseLatency",
    ] {
        assert!(
            fields.as_object().unwrap().values().any(|v| v == variable),
            "{variable} missing from {format}"
        );
    }
    let group = intrinsic(&api["AccessLogSettings"]["DestinationArn"], "GetAtt")
        .and_then(Value::as_str)
        .and_then(|a| a.strip_suffix(".Arn"))
        .expect("a log group of the template");
    assert!(is_ref(
        &doc["Resources"][group]["Properties"]["RetentionInDays"],
        "LogRetentionDays"
    ));
}

/// The keyless routes (unknown paths, the OpenAPI document) get a lower throttle than
/// the stage's default.
#[test]
fn keyless_routes_are_throttled_lower() {
    let doc = doc();
    let api = &doc["Resources"]["HttpApi"]["Properties"];
    let default = &api["DefaultRouteSettings"];
    for route in ["$default", "GET /v1/openapi.json"] {
        let s = &api["RouteSettings"][route];
        for limit in ["ThrottlingBurstLimit", "ThrottlingRateLimit"] {
            let (r, d) = (s[limit].as_u64(), default[limit].as_u64().unwrap());
            assert!(r.is_some_and(|r| r < d), "{route} {limit}: {r:?} vs {d}");
        }
    }
}

/// A function serving only GET routes writes nothing but under a leading-key condition
/// (the list functions create the cursor secret, `CONFIG`, and nothing else).
#[test]
fn read_only_routes_write_only_under_a_leading_key_condition() {
    let doc = doc();
    let mut conditioned = 0;
    for (name, f) in functions(&doc) {
        let events = http_events(&f);
        if events.is_empty()
            || !events
                .iter()
                .all(|e| e["Properties"]["Method"].as_str() == Some("GET"))
        {
            continue;
        }
        let Some(policies) = f["Policies"].as_sequence() else {
            continue;
        };
        for statement in policies
            .iter()
            .filter_map(|p| p["Statement"].as_sequence())
            .flatten()
        {
            let actions: Vec<&str> = match &statement["Action"] {
                Value::String(a) => vec![a.as_str()],
                Value::Sequence(s) => s.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            let writes = actions.iter().any(|a| {
                ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"]
                    .iter()
                    .any(|w| a.ends_with(w))
            });
            if !writes {
                continue;
            }
            let keys = &statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"];
            assert_eq!(
                keys.as_sequence().map(|k| k.len()),
                Some(1),
                "{name}: {actions:?} without a dynamodb:LeadingKeys condition"
            );
            assert_eq!(keys[0].as_str(), Some("CONFIG"), "{name}");
            conditioned += 1;
        }
    }
    assert_eq!(conditioned, 5, "the four list functions and the event feed");
}

/// The cutoff's own reservation is a parameter that defaults to none.
#[test]
fn the_cutoff_reservation_is_a_parameter_defaulting_to_none() {
    let doc = doc();
    assert_eq!(
        default_of(&doc, "CutoffReservedConcurrency").as_str(),
        Some("none")
    );
    let cutoff = &doc["Resources"]["CutoffReleaseFunction"]["Properties"];
    let v = &cutoff["ReservedConcurrentExecutions"];
    assert!(
        intrinsic(v, "If").is_some(),
        "reserved only when the parameter says so"
    );
    assert_eq!(eval(&doc, v), None);
}

fn get_att(v: &Value) -> Option<&str> {
    intrinsic(v, "GetAtt").and_then(Value::as_str)
}

fn actions(statement: &Value) -> Vec<&str> {
    match &statement["Action"] {
        Value::String(a) => vec![a.as_str()],
        Value::Sequence(s) => s.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// Push: the table's stream (new images) feeds publish-events through a mapping that
/// lets only event items' INSERTs through, reports partial failures, bisects, retries a
/// bounded number of times and then hands the position to a dead-letter queue; the
/// function may put events on the stack's bus only and read this table's stream only;
/// the bus is archived; errors, iterator age and dead letters alarm.
#[test]
fn events_are_pushed_from_the_table_stream_to_the_bus() {
    let doc = doc();
    let r = resources(&doc);
    let table = &r["Table"]["Properties"];
    assert_eq!(
        table["StreamSpecification"]["StreamViewType"].as_str(),
        Some("NEW_IMAGE")
    );

    let buses = of_type(&doc, "AWS::Events::EventBus");
    assert_eq!(buses.len(), 1);
    let (bus, bus_def) = &buses[0];
    let name = intrinsic(&bus_def["Properties"]["Name"], "Sub").and_then(Value::as_str);
    assert_eq!(
        name,
        Some("${AWS::StackName}-events"),
        "allotments-events for the stack allotments"
    );
    let archives = of_type(&doc, "AWS::Events::Archive");
    assert_eq!(archives.len(), 1);
    let archive = &archives[0].1["Properties"];
    assert_eq!(
        get_att(&archive["SourceArn"]),
        Some(format!("{bus}.Arn").as_str())
    );
    assert!(
        archive["RetentionDays"].as_u64().is_some_and(|d| d >= 7),
        "a stated retention"
    );

    let mappings = of_type(&doc, "AWS::Lambda::EventSourceMapping");
    assert_eq!(mappings.len(), 1);
    let m = &mappings[0].1["Properties"];
    assert!(is_ref(&m["FunctionName"], "PublishEventsFunction"));
    assert_eq!(get_att(&m["EventSourceArn"]), Some("Table.StreamArn"));
    assert_eq!(m["StartingPosition"].as_str(), Some("TRIM_HORIZON"));
    let filters = m["FilterCriteria"]["Filters"].as_sequence().unwrap();
    assert_eq!(filters.len(), 1);
    let pattern: serde_json::Value =
        serde_json::from_str(filters[0]["Pattern"].as_str().unwrap()).expect("a JSON pattern");
    assert_eq!(
        pattern,
        serde_json::json!({"eventName": ["INSERT"], "dynamodb": {"Keys": {"SK": {"S": [{"prefix": "EV#"}]}}}})
    );
    assert_eq!(
        m["FunctionResponseTypes"].as_sequence().map(|s| s.len()),
        Some(1)
    );
    assert_eq!(
        m["FunctionResponseTypes"][0].as_str(),
        Some("ReportBatchItemFailures")
    );
    assert_eq!(m["BisectBatchOnFunctionError"].as_bool(), Some(true));
    let retries = m["MaximumRetryAttempts"].as_i64().expect("bounded retries");
    assert!((0..=10_000).contains(&retries));
    let age = m["MaximumRecordAgeInSeconds"]
        .as_i64()
        .expect("a maximum age");
    assert!(
        (60..86_400).contains(&age),
        "to the dead-letter queue before the stream's 24 h retention drops a record"
    );
    let dlq = get_att(&m["DestinationConfig"]["OnFailure"]["Destination"])
        .and_then(|a| a.strip_suffix(".Arn"))
        .expect("an on-failure destination of the template");
    assert_eq!(r[dlq]["Type"].as_str(), Some("AWS::SQS::Queue"));

    // The function: the bus named, and a policy of exactly three statements.
    let (_, f) = functions(&doc)
        .into_iter()
        .find(|(n, _)| n == "PublishEventsFunction")
        .unwrap();
    assert!(is_ref(
        &f["Environment"]["Variables"]["EVENT_BUS_NAME"],
        bus
    ));
    assert!(
        f["Events"].is_null(),
        "no SAM event: it would attach a policy on every stream"
    );
    let statements: Vec<&Value> = f["Policies"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|p| p["Statement"].as_sequence())
        .flatten()
        .collect();
    assert_eq!(statements.len(), 3);
    for s in statements {
        let acts = actions(s);
        let resource = &s["Resource"];
        assert!(!resource.is_sequence(), "one resource per statement");
        if acts == ["events:PutEvents"] {
            assert_eq!(get_att(resource), Some(format!("{bus}.Arn").as_str()));
        } else if acts.iter().all(|a| a.starts_with("dynamodb:")) {
            let mut sorted = acts.clone();
            sorted.sort();
            assert_eq!(
                sorted,
                [
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams"
                ]
            );
            let arn = intrinsic(resource, "Sub").and_then(Value::as_str);
            assert_eq!(
                arn,
                Some("${Table.Arn}/stream/*"),
                "this table's streams only"
            );
        } else {
            assert_eq!(acts, ["sqs:SendMessage"]);
            assert_eq!(get_att(resource), Some(format!("{dlq}.Arn").as_str()));
        }
    }

    // Watched: whole-batch errors, events reaching the bus late, dead letters.
    for metric in ["Errors", "IteratorAge"] {
        let n = alarm_on(&doc, "AWS/Lambda", metric)
            .into_iter()
            .filter(|a| {
                dimension(a, "FunctionName").is_some_and(|d| is_ref(d, "PublishEventsFunction"))
            })
            .count();
        assert_eq!(n, 1, "{metric}");
    }
    let dead = alarm_on(&doc, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
        .into_iter()
        .filter(|a| {
            dimension(a, "QueueName").and_then(get_att) == Some(format!("{dlq}.QueueName").as_str())
        })
        .count();
    assert_eq!(dead, 1);
}
