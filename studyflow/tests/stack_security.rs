//! Security review of the stack as a test: reads cloudformation/studyflow.yaml and fails on a
//! wildcard action, a `*` resource on a data service, a role that can write outside the
//! results and config prefixes, a bucket without public-access block / encryption / versioning /
//! TLS-only policy, a table without point-in-time recovery or encryption, an unencrypted queue or
//! topic, or a log group without retention. (It lives in this crate, not `lambdas`, because it
//! needs only a YAML parser, not the AWS SDK.)

use serde_json::Value;

fn template() -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../cloudformation/studyflow.yaml");
    let text = std::fs::read_to_string(path).expect("read the template");
    serde_saphyr::from_str(&text).expect("parse the template")
}

fn resources_of<'a>(t: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    t["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

/// A value as a list (CloudFormation allows one item or a list).
fn list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        Value::Null => vec![],
        v => vec![v],
    }
}

/// A resource reference as text: a literal, the `Fn::Sub` string, or `GetAtt:<name>`.
fn resource_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(m) => {
            if let Some(s) = m.get("Fn::Sub") {
                list(s)
                    .first()
                    .and_then(|s| s.as_str())
                    .unwrap_or("")
                    .to_string()
            } else if let Some(g) = m.get("Fn::GetAtt") {
                format!(
                    "GetAtt:{}",
                    list(g).first().and_then(|s| s.as_str()).unwrap_or("")
                )
            } else if let Some(r) = m.get("Ref") {
                format!("Ref:{}", r.as_str().unwrap_or(""))
            } else {
                v.to_string()
            }
        }
        v => v.to_string(),
    }
}

/// Actions AWS offers no resource-level permission for, so `Resource: "*"` is the only form;
/// each with why the stack needs it.
const STAR_RESOURCE_OK: &[(&str, &str)] = &[
    (
        "ecr:GetAuthorizationToken",
        "the Batch execution role pulls the job image",
    ),
    (
        "batch:DescribeJobs",
        "submitJob.sync polls the job it submitted",
    ),
    (
        "events:PutTargets",
        "submitJob.sync's managed rule (scoped by the rule name elsewhere)",
    ),
    (
        "logs:CreateLogDelivery",
        "state machine logging (no resource-level permissions)",
    ),
    ("logs:GetLogDelivery", "state machine logging"),
    ("logs:UpdateLogDelivery", "state machine logging"),
    ("logs:DeleteLogDelivery", "state machine logging"),
    ("logs:ListLogDeliveries", "state machine logging"),
    ("logs:PutResourcePolicy", "state machine logging"),
    ("logs:DescribeResourcePolicies", "state machine logging"),
    ("logs:DescribeLogGroups", "state machine logging"),
];

const DATA_SERVICES: &[&str] = &["s3", "dynamodb", "sqs", "sns", "kms", "states", "batch"];

const S3_WRITES: &[&str] = &[
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectAcl",
    "s3:AbortMultipartUpload",
    "s3:PutBucketPolicy",
    "s3:DeleteBucket",
];

#[test]
fn iam_roles_have_only_scoped_actions_and_resources() {
    let t = template();
    let roles = resources_of(&t, "AWS::IAM::Role");
    assert!(roles.len() >= 5, "expected the stack's roles");
    let mut problems = Vec::new();
    let mut statements = 0;
    for (name, role) in roles {
        for policy in list(&role["Properties"]["Policies"]) {
            for st in list(&policy["PolicyDocument"]["Statement"]) {
                if st["Effect"] != "Allow" {
                    continue;
                }
                statements += 1;
                let actions: Vec<&str> = list(&st["Action"])
                    .iter()
                    .filter_map(|a| a.as_str())
                    .collect();
                let resources: Vec<String> = list(&st["Resource"])
                    .into_iter()
                    .map(resource_text)
                    .collect();
                for a in &actions {
                    if *a == "*" || a.ends_with(":*") {
                        problems.push(format!("{name}: wildcard action {a}"));
                    }
                    let service = a.split(':').next().unwrap_or("");
                    if resources.iter().any(|r| r == "*") {
                        let allowed = STAR_RESOURCE_OK.iter().any(|(x, _)| x == a);
                        if !allowed && (DATA_SERVICES.contains(&service) || service == "logs") {
                            problems.push(format!("{name}: {a} on Resource \"*\""));
                        }
                    }
                    if S3_WRITES.contains(a) {
                        for r in &resources {
                            let scoped = r.ends_with("/results/*") || r.ends_with("/studies/*");
                            if !scoped {
                                problems.push(format!(
                                    "{name}: {a} on {r}: writes only under results/ (study buckets) or studies/ (config bucket)"
                                ));
                            }
                        }
                    }
                }
                if st.get("NotAction").is_some() || st.get("NotResource").is_some() {
                    problems.push(format!("{name}: NotAction/NotResource in an Allow"));
                }
            }
        }
    }
    assert!(
        statements > 10,
        "found only {statements} Allow statements: is the template read right?"
    );
    assert!(
        problems.is_empty(),
        "IAM findings:\n{}",
        problems.join("\n")
    );
}

#[test]
fn resource_policies_open_nothing_to_everyone() {
    let t = template();
    let mut problems = Vec::new();
    for kind in [
        "AWS::S3::BucketPolicy",
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::TopicPolicy",
    ] {
        for (name, p) in resources_of(&t, kind) {
            for st in list(&p["Properties"]["PolicyDocument"]["Statement"]) {
                let public = st["Principal"] == "*" || st["Principal"]["AWS"] == "*";
                if st["Effect"] == "Allow" && public {
                    problems.push(format!("{name}: Allow to Principal *"));
                }
                if st["Effect"] == "Allow"
                    && st["Principal"]["Service"].is_string()
                    && st["Condition"].is_null()
                {
                    problems.push(format!(
                        "{name}: a service principal without a source condition"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn data_at_rest_is_encrypted_versioned_private_and_logs_expire() {
    let t = template();
    let mut problems = Vec::new();
    let buckets = resources_of(&t, "AWS::S3::Bucket");
    assert!(!buckets.is_empty());
    let policies = resources_of(&t, "AWS::S3::BucketPolicy");
    for (name, b) in &buckets {
        let p = &b["Properties"];
        let block = &p["PublicAccessBlockConfiguration"];
        for k in [
            "BlockPublicAcls",
            "BlockPublicPolicy",
            "IgnorePublicAcls",
            "RestrictPublicBuckets",
        ] {
            if block[k] != true {
                problems.push(format!("{name}: {k} is not true"));
            }
        }
        if p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            .as_array()
            .is_none_or(|a| a.is_empty())
        {
            problems.push(format!("{name}: no default encryption"));
        }
        if p["VersioningConfiguration"]["Status"] != "Enabled" {
            problems.push(format!("{name}: versioning not enabled"));
        }
        let tls_only = policies.iter().any(|(_, pol)| {
            pol["Properties"]["Bucket"]["Ref"] == name.as_str()
                && list(&pol["Properties"]["PolicyDocument"]["Statement"])
                    .iter()
                    .any(|st| {
                        st["Effect"] == "Deny"
                            && st["Condition"]["Bool"]["aws:SecureTransport"] == "false"
                    })
        });
        if !tls_only {
            problems.push(format!("{name}: no TLS-only bucket policy"));
        }
    }
    for (name, table) in resources_of(&t, "AWS::DynamoDB::Table") {
        let p = &table["Properties"];
        if p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] != true {
            problems.push(format!("{name}: no point-in-time recovery"));
        }
        if p["SSESpecification"]["SSEEnabled"] != true {
            problems.push(format!("{name}: SSE not enabled"));
        }
    }
    for (name, q) in resources_of(&t, "AWS::SQS::Queue") {
        let p = &q["Properties"];
        if p["SqsManagedSseEnabled"] != true && p["KmsMasterKeyId"].is_null() {
            problems.push(format!("{name}: queue not encrypted"));
        }
    }
    for (name, topic) in resources_of(&t, "AWS::SNS::Topic") {
        if topic["Properties"]["KmsMasterKeyId"].is_null() {
            problems.push(format!("{name}: topic not encrypted"));
        }
    }
    let groups = resources_of(&t, "AWS::Logs::LogGroup");
    assert!(!groups.is_empty());
    for (name, g) in groups {
        if g["Properties"]["RetentionInDays"].is_null() {
            problems.push(format!("{name}: log group without retention"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
