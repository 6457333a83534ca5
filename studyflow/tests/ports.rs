//! The port contract (tests/port_contract) run against every backend: the local adapters always,
//! the AWS adapters when built with `--features aws` and given an emulator (or account) in
//! `STUDYFLOW_TEST_AWS_ENDPOINT` (scripts/test starts moto and sets it).

mod port_contract;

use studyflow::local::{FolderStore, SqliteCatalog};

/// A name unique to this test run (buckets and studies on a shared emulator).
#[allow(dead_code)]
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

#[test]
fn local_object_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = FolderStore::new(dir.path().join("root"));
    store.create_bucket("contract").unwrap();
    let scratch = dir.path().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    port_contract::object_store(&store, "contract", "no-such-bucket", &scratch, 11 << 20);
}

#[test]
fn local_catalog_keeps_the_contract() {
    let c = SqliteCatalog::in_memory().unwrap();
    port_contract::catalog(&c, "local");
}

#[cfg(feature = "aws")]
mod aws {
    use serde_json::json;
    use studyflow::aws::{AwsConfig, AwsOptions, AwsRuntime, Tables};
    use studyflow::ports::{Notifier, Orchestrator, StartOutcome};

    use super::{port_contract, unique};

    /// The AWS configuration for the emulator named by `STUDYFLOW_TEST_AWS_ENDPOINT`, or `None`
    /// (and a note on stderr) when it is not set.
    fn emulator(test: &str) -> Option<AwsConfig> {
        let Some(url) = std::env::var("STUDYFLOW_TEST_AWS_ENDPOINT")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            eprintln!(
                "{test}: SKIPPED (STUDYFLOW_TEST_AWS_ENDPOINT is not set; scripts/test sets it)"
            );
            return None;
        };
        let tag = unique("t");
        let options = AwsOptions {
            endpoint_url: Some(url),
            region: Some("us-east-1".into()),
            static_credentials: Some(("test".into(), "test".into())),
            max_attempts: Some(3),
            tables: Tables {
                studies: format!("{tag}-Studies"),
                files: format!("{tag}-Files"),
                subjects: format!("{tag}-Subjects"),
            },
            multipart_threshold: Some(5 << 20),
            ..Default::default()
        };
        Some(AwsConfig::connect(options, AwsRuntime::owned().unwrap()).unwrap())
    }

    #[test]
    fn s3_store_keeps_the_contract() {
        let Some(cfg) = emulator("s3_store_keeps_the_contract") else {
            return;
        };
        let store = cfg.store().with_page_size(2);
        let bucket = unique("contract");
        store.create_bucket(&bucket).unwrap();
        let dir = tempfile::tempdir().unwrap();
        // 11 MiB with 5 MiB parts: three parts, the last one short.
        port_contract::object_store(&store, &bucket, &unique("absent"), dir.path(), 11 << 20);
    }

    #[test]
    fn dynamodb_catalog_keeps_the_contract() {
        let Some(cfg) = emulator("dynamodb_catalog_keeps_the_contract") else {
            return;
        };
        let catalog = cfg.catalog().with_page_limit(2);
        catalog.ensure_tables().unwrap();
        // Creating existing tables again is fine.
        catalog.ensure_tables().unwrap();
        port_contract::catalog(&catalog, &unique("aws"));
    }

    #[test]
    fn step_functions_start_is_idempotent_per_name() {
        let Some(cfg) = emulator("step_functions_start_is_idempotent_per_name") else {
            return;
        };
        let sfn = aws_sdk_sfn::Client::new(&cfg.sdk);
        let machine = unique("process-file");
        let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
        let arn = cfg
            .runtime
            .block_on(
                sfn.create_state_machine()
                    .name(&machine)
                    .definition(definition.to_string())
                    .role_arn("arn:aws:iam::123456789012:role/studyflow-test")
                    .send(),
            )
            .unwrap()
            .state_machine_arn()
            .to_string();
        // Found by name through ListStateMachines (no ARN configured).
        let orch = cfg.orchestrator();
        let input = json!({"study": "s", "file_key": "k"});
        let first = orch.start_execution(&machine, "exec-1", &input).unwrap();
        let StartOutcome::Started { execution_arn } = first else {
            panic!("first start did not start: {first:?}");
        };
        assert!(execution_arn.starts_with("arn:"), "{execution_arn}");
        let described = cfg
            .runtime
            .block_on(
                sfn.describe_execution()
                    .execution_arn(&execution_arn)
                    .send(),
            )
            .unwrap();
        assert_eq!(described.input(), Some(input.to_string().as_str()));
        // Other input under the same name: refused whether the first still runs or not.
        let again = orch
            .start_execution(&arn, "exec-1", &json!({"other": true}))
            .unwrap();
        assert_eq!(again, StartOutcome::AlreadyExists { execution_arn });
        let e = orch
            .start_execution(&unique("nope"), "x", &input)
            .unwrap_err();
        assert!(e.not_found, "{e}");
    }

    #[test]
    fn sns_notifications_reach_subscribers() {
        let Some(mut cfg) = emulator("sns_notifications_reach_subscribers") else {
            return;
        };
        let sns = aws_sdk_sns::Client::new(&cfg.sdk);
        let sqs = cfg.sqs();
        let rt = cfg.runtime.clone();
        let topic = rt
            .block_on(sns.create_topic().name(unique("studyflow")).send())
            .unwrap()
            .topic_arn()
            .unwrap()
            .to_string();
        let queue_url = rt
            .block_on(sqs.create_queue().queue_name(unique("notes")).send())
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string();
        let attrs = rt
            .block_on(
                sqs.get_queue_attributes()
                    .queue_url(&queue_url)
                    .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                    .send(),
            )
            .unwrap();
        let queue_arn = attrs
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .unwrap()
            .clone();
        rt.block_on(
            sns.subscribe()
                .topic_arn(&topic)
                .protocol("sqs")
                .endpoint(queue_arn)
                .send(),
        )
        .unwrap();
        cfg.options.topic_arn = Some(topic);
        let notifier = cfg.notifier();
        let message = json!({"study": "s", "status": "SUCCEEDED"});
        notifier
            .publish("studyflow: SUCCEEDED raw/a.cwa\nsecond line", &message)
            .unwrap();
        let got = rt
            .block_on(
                sqs.receive_message()
                    .queue_url(&queue_url)
                    .wait_time_seconds(5)
                    .send(),
            )
            .unwrap();
        let body = got.messages()[0].body().unwrap();
        let envelope: serde_json::Value = serde_json::from_str(body).unwrap();
        let inner: serde_json::Value =
            serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
        assert_eq!(inner, message);
        assert_eq!(
            envelope["Subject"].as_str(),
            Some("studyflow: SUCCEEDED raw/a.cwa?second line")
        );
    }
}
