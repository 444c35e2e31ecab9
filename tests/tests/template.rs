//! Operations wiring of `infra/template.yaml` (issue 15), read as YAML — no emulator, no
//! Python: every alarm notifies the alarm topic in use, the DLQ alarm names the command
//! that re-queues dead letters, each function logs JSON into its own log group with the
//! stack's retention, the downloader gets every `DOWNLOAD_*` variable (with the defaults
//! of `archiver_aws::stack`), the fixity schedule sends `{"verify":{"sample":N}}`, the
//! stale-poll alarm and the poll schedule agree, the dashboard is valid JSON showing
//! the metric contract, and the review service (issue 17) is off by default, gated by one
//! condition, runs `serve --backend aws` with a configuration that parses, and its task
//! role is read-only on the bucket and writes only audit and password items.

use archiver_aws::stack::{DownloadEnv, download_env_from};
use serde_json::json;
use serde_norway::Value;
use serde_norway::value::TaggedValue;
use std::collections::BTreeMap;

const FUNCTIONS: [(&str, &str); 3] = [
    ("PollerFunction", "poller"),
    ("DownloaderFunction", "downloader"),
    ("ReconcilerFunction", "reconciler"),
];

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn resources(t: &Value) -> Vec<(String, &Value)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_string(), v))
        .collect()
}

/// `(tag, value)` of a CloudFormation short form such as `!Ref X`.
fn tagged(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => {
            let TaggedValue { tag, value } = &**t;
            Some((tag.to_string().trim_start_matches('!').to_string(), value))
        }
        _ => None,
    }
}

/// The logical id of `!Ref X`.
fn ref_of(v: &Value) -> String {
    match tagged(v) {
        Some((tag, Value::String(id))) if tag == "Ref" => id.clone(),
        _ => panic!("expected !Ref, got {v:?}"),
    }
}

/// The template of `!Sub "..."`, or a plain string.
fn sub_text(v: &Value) -> String {
    match (tagged(v), v) {
        (Some((tag, Value::String(s))), _) if tag == "Sub" => s.clone(),
        (None, Value::String(s)) => s.clone(),
        _ => panic!("expected a string or !Sub, got {v:?}"),
    }
}

/// Parameter defaults as `${Name}` substitutions (plus pseudo parameters and the `.Arn`
/// / `.QueueName` attributes used in `!Sub`s, as placeholders).
fn substitute(text: &str, t: &Value) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closing brace") + start;
        let name = &rest[start + 2..end];
        let param = &t["Parameters"][name];
        let value = match &param["Default"] {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            Value::Null if name.starts_with("AWS::") => "us-east-1".to_string(),
            Value::Null if name == "TenantId" => "acme".to_string(),
            Value::Null => {
                assert!(
                    t["Resources"]
                        .get(name.split('.').next().unwrap())
                        .is_some(),
                    "${{{name}}} is neither a parameter with a default nor a resource"
                );
                format!("<{name}>")
            }
            other => panic!("default of {name}: {other:?}"),
        };
        out.push_str(&value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Every string in a JSON document.
fn collect_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

#[test]
fn every_alarm_notifies_the_alarm_topic_in_use() {
    let t = template();
    let alarms: Vec<(String, &Value)> = resources(&t)
        .into_iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .collect();
    assert!(alarms.len() >= 10, "{} alarms", alarms.len());
    for (id, alarm) in &alarms {
        for key in ["AlarmActions", "OKActions"] {
            let actions = alarm["Properties"][key]
                .as_sequence()
                .unwrap_or_else(|| panic!("{id} has no {key}"));
            assert_eq!(actions.len(), 1, "{id}.{key}");
            let (tag, args) = tagged(&actions[0]).unwrap_or_else(|| panic!("{id}.{key}"));
            assert_eq!(tag, "If", "{id}.{key}");
            let args = args.as_sequence().unwrap();
            assert_eq!(args[0], Value::from("CreateAlarmTopic"), "{id}.{key}");
            assert_eq!(ref_of(&args[1]), "AlarmTopic", "{id}.{key}");
            assert_eq!(ref_of(&args[2]), "AlarmTopicArn", "{id}.{key}");
        }
        assert!(
            alarm["Properties"]["AlarmDescription"] != Value::Null,
            "{id} says what to do"
        );
    }
    // The topic exists exactly when no topic is given, with the optional email.
    let r = &t["Resources"];
    assert_eq!(
        r["AlarmTopic"]["Condition"],
        Value::from("CreateAlarmTopic")
    );
    assert_eq!(
        r["AlarmEmailSubscription"]["Condition"],
        Value::from("SubscribeAlarmEmail")
    );
    assert_eq!(t["Parameters"]["AlarmTopicArn"]["Default"], Value::from(""));
    assert_eq!(t["Parameters"]["AlarmEmail"]["Default"], Value::from(""));

    // Errors and throttles of every function, each on its function.
    for (f, _) in FUNCTIONS {
        for metric in ["Errors", "Throttles"] {
            let found = alarms.iter().any(|(_, a)| {
                let p = &a["Properties"];
                p["Namespace"] == "AWS/Lambda"
                    && p["MetricName"] == metric
                    && ref_of(&p["Dimensions"][0]["Value"]) == f
            });
            assert!(found, "no {metric} alarm on {f}");
        }
    }
}

#[test]
fn the_dead_letter_alarm_names_the_commands_that_show_and_requeue_them() {
    let t = template();
    let desc = sub_text(&t["Resources"]["DeadLetterAlarm"]["Properties"]["AlarmDescription"]);
    assert!(
        desc.contains(
            "zoom-archiver --backend aws --config FILE retry --tenant ${TenantId} --dead-letters"
        ),
        "{desc}"
    );
    assert!(
        desc.contains("zoom-archiver --backend aws --config FILE status"),
        "{desc}"
    );
    assert!(!desc.contains("zoom-archiver dead-letters"), "{desc}");
    assert!(substitute(&desc, &t).len() <= 1024, "CloudWatch's limit");
}

#[test]
fn the_custom_metric_alarms_match_the_emf_contract() {
    let t = template();
    let r = &t["Resources"];
    let stale = &r["StalePollAlarm"]["Properties"];
    assert_eq!(stale["Namespace"], Value::from("ZoomArchiver"));
    assert_eq!(stale["MetricName"], Value::from("poll_succeeded"));
    assert_eq!(stale["Dimensions"][0]["Name"], Value::from("tenant"));
    assert_eq!(ref_of(&stale["Dimensions"][0]["Value"]), "TenantId");
    assert_eq!(stale["Statistic"], Value::from("Sum"));
    assert_eq!(
        stale["ComparisonOperator"],
        Value::from("LessThanThreshold")
    );
    assert_eq!(stale["Threshold"], Value::from(1));
    assert_eq!(stale["EvaluationPeriods"], Value::from(3));
    assert_eq!(stale["TreatMissingData"], Value::from("breaching"));

    // The alarm's period and the poller's schedule come from the same interval.
    let find_in_map = |v: &Value| -> (String, String) {
        let (tag, args) = tagged(v).unwrap_or_else(|| panic!("{v:?}"));
        assert_eq!(tag, "FindInMap");
        let args = args.as_sequence().unwrap();
        assert_eq!(args[0], Value::from("PollIntervals"));
        (ref_of(&args[1]), args[2].as_str().unwrap().to_string())
    };
    assert_eq!(
        find_in_map(&stale["Period"]),
        ("PollIntervalMinutes".into(), "Seconds".into())
    );
    let poll = &r["PollerFunction"]["Properties"]["Events"]["Poll"]["Properties"];
    assert_eq!(
        find_in_map(&poll["ScheduleExpression"]),
        ("PollIntervalMinutes".into(), "Schedule".into())
    );
    let allowed: Vec<String> = t["Parameters"]["PollIntervalMinutes"]["AllowedValues"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap().to_string())
        .collect();
    let map = t["Mappings"]["PollIntervals"].as_mapping().unwrap();
    assert_eq!(map.len(), allowed.len());
    for minutes in &allowed {
        let row = &t["Mappings"]["PollIntervals"][minutes.as_str()];
        let m: u64 = minutes.parse().unwrap();
        assert_eq!(row["Seconds"], Value::from(m * 60), "{minutes}");
        let unit = if m == 1 { "minute" } else { "minutes" };
        assert_eq!(
            row["Schedule"],
            Value::from(format!("rate({m} {unit})")),
            "{minutes}"
        );
    }

    let verify = &r["VerifyMismatchAlarm"]["Properties"];
    assert_eq!(verify["Namespace"], Value::from("ZoomArchiver"));
    assert_eq!(verify["MetricName"], Value::from("verify_mismatches"));
    assert_eq!(ref_of(&verify["Dimensions"][0]["Value"]), "TenantId");
    assert_eq!(verify["Statistic"], Value::from("Sum"));
    assert_eq!(
        verify["ComparisonOperator"],
        Value::from("GreaterThanOrEqualToThreshold")
    );
    assert_eq!(verify["Threshold"], Value::from(1));
    assert_eq!(verify["TreatMissingData"], Value::from("notBreaching"));

    let age = &r["TaskQueueAgeAlarm"]["Properties"];
    assert_eq!(
        age["MetricName"],
        Value::from("ApproximateAgeOfOldestMessage")
    );
    assert_eq!(ref_of(&age["Threshold"]), "QueueAgeAlarmSeconds");
    assert_eq!(
        t["Parameters"]["QueueAgeAlarmSeconds"]["Default"],
        Value::from(6 * 3600)
    );
}

#[test]
fn each_function_logs_json_into_its_own_log_group_with_the_stack_retention() {
    let t = template();
    let r = &t["Resources"];
    let retention = &t["Parameters"]["LogRetentionDays"];
    assert_eq!(retention["Default"], Value::from(365));
    // CloudWatch Logs' accepted retention values.
    let valid = [
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
        2922, 3288, 3653,
    ];
    let allowed: Vec<u64> = retention["AllowedValues"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(allowed, valid);

    for (f, short) in FUNCTIONS {
        let props = &r[f]["Properties"];
        let logging = &props["LoggingConfig"];
        assert_eq!(logging["LogFormat"], Value::from("JSON"), "{f}");
        let group = ref_of(&logging["LogGroup"]);
        let g = &r[group.as_str()];
        assert_eq!(
            g["Type"],
            Value::from("AWS::Logs::LogGroup"),
            "{f}: {group}"
        );
        assert_eq!(
            ref_of(&g["Properties"]["RetentionInDays"]),
            "LogRetentionDays"
        );
        let name = sub_text(&props["FunctionName"]);
        assert_eq!(name, format!("${{TenantId}}-zoom-archiver-{short}"));
        assert_eq!(
            sub_text(&g["Properties"]["LogGroupName"]),
            format!("/aws/lambda/{name}"),
            "{f}"
        );
    }
}

#[test]
fn the_downloader_gets_every_download_variable_with_the_cli_defaults() {
    let t = template();
    let vars = &t["Resources"]["DownloaderFunction"]["Properties"]["Environment"]["Variables"];
    let names = [
        "DOWNLOAD_MAX_ATTEMPTS",
        "DOWNLOAD_RETRY_BASE",
        "DOWNLOAD_RETRY_MAX",
        "DOWNLOAD_TRANSIENT_HORIZON",
        "DOWNLOAD_PARALLEL_STREAMS",
        "DOWNLOAD_ANALYSE_MEDIA",
    ];
    let mut defaults = BTreeMap::new();
    for name in names {
        let param = ref_of(&vars[name]);
        let default = match &t["Parameters"][param.as_str()]["Default"] {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            other => panic!("{param} has no default: {other:?}"),
        };
        defaults.insert(name.to_string(), default);
    }
    let declared: Vec<&str> = vars
        .as_mapping()
        .unwrap()
        .keys()
        .filter_map(|k| k.as_str())
        .filter(|k| k.starts_with("DOWNLOAD_"))
        .collect();
    assert_eq!(declared.len(), names.len(), "{declared:?}");
    // The template's defaults are the Rust side's (and so the CLI's [download] table's).
    let parsed = download_env_from(&|name| defaults.get(name).cloned()).unwrap();
    assert_eq!(parsed, DownloadEnv::default());
}

#[test]
fn the_fixity_schedule_sends_a_verify_sample() {
    let t = template();
    let event = &t["Resources"]["ReconcilerFunction"]["Properties"]["Events"]["Verify"];
    assert_eq!(event["Type"], Value::from("ScheduleV2"));
    let props = &event["Properties"];
    assert_eq!(ref_of(&props["ScheduleExpression"]), "VerifySchedule");
    assert_eq!(
        t["Parameters"]["VerifySchedule"]["Default"],
        Value::from("cron(0 3 1 * ? *)")
    );
    let input = sub_text(&props["Input"]);
    assert!(input.contains("${VerifySampleSize}"), "{input}");
    let v: serde_json::Value = serde_json::from_str(&substitute(&input, &t)).unwrap();
    assert_eq!(v, json!({"verify": {"sample": 200}}));
    // Any sample size makes the same shape (a number, not a string).
    let v: serde_json::Value =
        serde_json::from_str(&input.replace("${VerifySampleSize}", "7")).unwrap();
    assert_eq!(v, json!({"verify": {"sample": 7}}));
}

#[test]
fn the_dashboard_is_json_and_shows_the_metric_contract() {
    let t = template();
    let d = &t["Resources"]["Dashboard"]["Properties"];
    let body = substitute(&sub_text(&d["DashboardBody"]), &t);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}"));
    let widgets = v["widgets"].as_array().unwrap();
    for w in widgets {
        for k in ["x", "y", "width", "height"] {
            assert!(w[k].is_u64(), "{w}");
        }
        assert!(
            w["x"].as_u64().unwrap() + w["width"].as_u64().unwrap() <= 24,
            "{w}"
        );
    }
    let mut strings = Vec::new();
    collect_strings(&v, &mut strings);
    for metric in [
        "files_archived",
        "files_failed",
        "files_gone",
        "bytes_archived",
        "download_seconds",
        "poll_lag_seconds",
        "queue_age_seconds",
        "poll_succeeded",
        "budget_deferrals",
        "recording_failed_cdrs",
        "sweep_redrives",
        "verify_checked",
        "verify_mismatches",
        "ApproximateAgeOfOldestMessage",
        "ApproximateNumberOfMessagesVisible",
    ] {
        let shown = strings
            .iter()
            .any(|s| s.as_str() == metric || s.contains(&format!("MetricName=\"{metric}\"")));
        assert!(shown, "{metric} not shown");
    }
    for p in ["p50", "p99"] {
        let shown = strings.iter().any(|s| {
            s.contains("MetricName=\"download_seconds\"") && s.contains(&format!("'{p}'"))
        });
        assert!(shown, "download_seconds {p}");
    }
}

/// Every parameter and resource name a value mentions (`!Ref X`, `!GetAtt X.Y`, `${X}` and
/// `${X.Y}` in `!Sub`, `DependsOn`, `!Condition X`).
fn mentions(v: &Value, out: &mut Vec<String>) {
    let mut text = |s: &str| {
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            let end = rest[start..].find('}').map_or(rest.len(), |e| e + start);
            out.push(rest[start + 2..end].split('.').next().unwrap().to_string());
            rest = &rest[end.min(rest.len())..];
        }
    };
    match v {
        Value::String(s) => text(s),
        Value::Sequence(a) => a.iter().for_each(|x| mentions(x, out)),
        Value::Mapping(m) => m.values().for_each(|x| mentions(x, out)),
        Value::Tagged(t) => {
            let TaggedValue { tag, value } = &**t;
            let tag = tag.to_string();
            match (tag.trim_start_matches('!'), value) {
                ("Ref" | "Condition", Value::String(id)) => out.push(id.clone()),
                ("GetAtt", Value::String(id)) => {
                    out.push(id.split('.').next().unwrap().to_string());
                }
                _ => mentions(value, out),
            }
        }
        _ => {}
    }
}

#[test]
fn the_review_service_is_off_by_default_and_its_condition_gates_every_resource_it_adds() {
    let t = template();
    let p = &t["Parameters"]["ReviewService"];
    assert_eq!(p["Default"], Value::from("disabled"));
    let on = &t["Conditions"]["ReviewServiceEnabled"];
    let (tag, args) = tagged(on).expect("!Equals");
    assert_eq!(tag, "Equals");
    assert_eq!(ref_of(&args[0]), "ReviewService");
    assert_eq!(args[1], Value::from("enabled"));
    // A condition gates a resource when it is ReviewServiceEnabled or implies it.
    let gated = |c: &Value| {
        let Some(c) = c.as_str() else { return false };
        if c == "ReviewServiceEnabled" {
            return true;
        }
        let mut m = Vec::new();
        match tagged(&t["Conditions"][c]) {
            Some((tag, args)) if tag == "And" => mentions(args, &mut m),
            _ => return false,
        }
        m.iter().any(|x| x == "ReviewServiceEnabled")
    };
    let review_params: Vec<String> = t["Parameters"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .filter(|k| k.starts_with("Review"))
        .collect();
    assert!(review_params.len() >= 5, "{review_params:?}");
    let mut review_resources = Vec::new();
    for (id, r) in resources(&t) {
        let mut m = Vec::new();
        mentions(&r["Properties"], &mut m);
        mentions(&r["DependsOn"], &mut m);
        let uses_review = id.starts_with("Review")
            || m.iter()
                .any(|x| review_params.contains(x) || x.starts_with("Review"));
        if uses_review {
            assert!(
                gated(&r["Condition"]),
                "{id} belongs to the review service but is not gated by ReviewServiceEnabled"
            );
            review_resources.push(id);
        } else {
            assert!(
                !gated(&r["Condition"]),
                "{id} is gated by the review service"
            );
        }
    }
    for want in [
        "ReviewCluster",
        "ReviewTaskDefinition",
        "ReviewEcsService",
        "ReviewLoadBalancer",
        "ReviewHttpsListener",
        "ReviewTaskRole",
        "ReviewLogGroup",
    ] {
        assert!(review_resources.iter().any(|r| r == want), "{want}");
    }
    for (id, o) in t["Outputs"].as_mapping().unwrap() {
        let mut m = Vec::new();
        mentions(&o["Value"], &mut m);
        if m.iter().any(|x| x.starts_with("Review")) {
            assert!(gated(&o["Condition"]), "output {id:?}");
        }
    }

    // Fargate behind HTTPS with the certificate parameter; logs kept for LogRetentionDays.
    let r = &t["Resources"];
    assert_eq!(
        r["ReviewEcsService"]["Properties"]["LaunchType"],
        Value::from("FARGATE")
    );
    let l = &r["ReviewHttpsListener"]["Properties"];
    assert_eq!(l["Protocol"], Value::from("HTTPS"));
    assert_eq!(l["Port"], Value::from(443));
    assert_eq!(
        ref_of(&l["Certificates"][0]["CertificateArn"]),
        "ReviewCertificateArn"
    );
    assert_eq!(
        ref_of(&r["ReviewLogGroup"]["Properties"]["RetentionInDays"]),
        "LogRetentionDays"
    );
    let ingress = r["ReviewLoadBalancerSecurityGroup"]["Properties"]["SecurityGroupIngress"]
        .as_sequence()
        .unwrap();
    assert!(
        ingress
            .iter()
            .all(|i| i["FromPort"].as_u64() == Some(443) && i["ToPort"].as_u64() == Some(443)),
        "only HTTPS reaches the load balancer"
    );
}

#[test]
fn the_review_container_runs_serve_on_aws_with_a_valid_configuration() {
    let t = template();
    let c = &t["Resources"]["ReviewTaskDefinition"]["Properties"]["ContainerDefinitions"][0];
    assert_eq!(ref_of(&c["Image"]), "ReviewImage");
    assert_eq!(c["ReadonlyRootFilesystem"], Value::from(true));
    assert_eq!(c["Privileged"], Value::from(false));
    let command = c["Command"][0].as_str().unwrap();
    for part in [
        "--backend aws",
        " serve ",
        "--listen 0.0.0.0:8080",
        "--secure-cookies",
        "\"$ZOOM_ARCHIVER_CONFIG_TOML\"",
    ] {
        assert!(command.contains(part), "{part}: {command}");
    }
    assert_eq!(c["PortMappings"][0]["ContainerPort"], Value::from(8080));
    assert_eq!(
        t["Resources"]["ReviewTargetGroup"]["Properties"]["Port"],
        Value::from(8080)
    );
    let env = c["Environment"].as_sequence().unwrap();
    let config = env
        .iter()
        .find(|e| e["Name"] == "ZOOM_ARCHIVER_CONFIG_TOML")
        .expect("the configuration variable");
    let text = sub_text(&config["Value"]).replace("${ZoomSecretArn}", "arn:secret");
    let cfg = zoom_archiver::config::FileConfig::parse(&substitute(&text, &t))
        .unwrap_or_else(|e| panic!("the container's configuration: {e}\n{text}"));
    let aws = cfg.aws.expect("an [aws] table");
    assert_eq!(aws.bucket, "<ArchiveBucket>");
    assert_eq!(aws.table, "<MetadataTable>");
    assert_eq!(cfg.tenants.len(), 1);
    assert_eq!(cfg.tenants[0].id.as_str(), "acme", "the stack's TenantId");
}

#[test]
fn the_review_task_role_reads_the_archive_and_writes_only_audit_and_password_items() {
    let t = template();
    let r = &t["Resources"];
    let role = &r["ReviewTaskRole"]["Properties"];
    let mut statements: Vec<&Value> = Vec::new();
    for p in role["Policies"].as_sequence().unwrap() {
        statements.extend(p["PolicyDocument"]["Statement"].as_sequence().unwrap());
    }
    assert!(role["ManagedPolicyArns"].is_null(), "no managed policy");
    // Policies attached to the role from elsewhere in the template.
    for (id, res) in resources(&t) {
        if res["Type"] == "AWS::IAM::Policy"
            && res["Properties"]["Roles"]
                .as_sequence()
                .unwrap()
                .iter()
                .any(|x| ref_of(x) == "ReviewTaskRole")
        {
            assert_eq!(id, "ReviewArchiveKeyPolicy");
            for s in res["Properties"]["PolicyDocument"]["Statement"]
                .as_sequence()
                .unwrap()
            {
                assert_eq!(s["Action"], Value::from("kms:Decrypt"), "{id}");
            }
        }
    }
    let actions = |s: &Value| -> Vec<String> {
        match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Sequence(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
            other => panic!("{other:?}"),
        }
    };
    let mut all = Vec::new();
    for s in &statements {
        assert_eq!(s["Effect"], Value::from("Allow"));
        for a in actions(s) {
            assert!(!a.contains('*'), "no wildcard action: {a}");
            let (service, verb) = a.split_once(':').unwrap();
            match service {
                // Read-only on the bucket: no PutObject, DeleteObject or anything else
                // that writes, tags, restores or changes protection.
                "s3" => assert!(
                    ["GetObject", "GetObjectTagging", "ListBucket"].contains(&verb),
                    "{a} on the archive bucket"
                ),
                "dynamodb" => match verb {
                    "GetItem" | "Query" | "Scan" => {}
                    // Writes only to the audit trail and the review accounts' passwords,
                    // by leading key.
                    "PutItem" | "UpdateItem" => {
                        let keys =
                            &s["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"];
                        let keys: Vec<String> =
                            keys.as_sequence().unwrap().iter().map(sub_text).collect();
                        let want = if verb == "PutItem" {
                            "T#${TenantId}#AUDIT"
                        } else {
                            "R#USER"
                        };
                        assert_eq!(keys, [want], "{a}");
                        assert_eq!(
                            actions(s),
                            std::slice::from_ref(&a),
                            "{a} in a statement of its own"
                        );
                    }
                    _ => panic!("{a}: the review UI makes no such call"),
                },
                _ => panic!("{a}: the review UI makes no such call"),
            }
            all.push(a);
        }
    }
    for want in [
        "s3:GetObject",
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ] {
        assert!(all.iter().any(|a| a == want), "{want} is needed by serve");
    }
    assert!(
        !all.iter()
            .any(|a| a == "s3:PutObject" || a == "s3:DeleteObject")
    );
    // Objects of the tenant only.
    let read = statements
        .iter()
        .find(|s| actions(s).contains(&"s3:GetObject".to_string()))
        .unwrap();
    assert_eq!(
        sub_text(&read["Resource"]),
        "${ArchiveBucket.Arn}/${TenantId}/*"
    );
}
