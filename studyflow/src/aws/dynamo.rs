//! DynamoDB catalog: tables `Studies` (pk `study`), `Files` (pk `study`, sk `file_key`; GSIs
//! `by-status` (pk `status`, sk `study`) and `by-subject` (pk `study`, sk `subject`)) and
//! `Subjects` (pk `study`, sk `subject`), with the attributes of the SQLite catalog's columns.
//! Absent optional values are absent attributes; subject `fields` is a map, `config_json` the
//! JSON text.
//!
//! Every status change is an `UpdateItem` conditioned on `etag = :etag AND status IN (...)`; a
//! failed condition is "not applied" (`Ok(false)`), never an error.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ReturnValue, ScalarAttributeType,
};
use serde_json::Value;

use super::{AwsRuntime, Tables, error_code, port_err};
use crate::batch::{JobCatalog, JobRecord};
use crate::model::{FileItem, FileStatus, StudyItem, StudyStatus, SubjectItem, now_rfc3339};
use crate::ports::{Catalog, FileFilter, PortError, StatusUpdate};

const SYSTEM: &str = "catalog";
const CONDITION_FAILED: &str = "ConditionalCheckFailedException";

type Item = HashMap<String, AttributeValue>;

/// The catalog on DynamoDB.
pub struct DynamoCatalog {
    client: Client,
    rt: AwsRuntime,
    tables: Tables,
    page_limit: Option<i32>,
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn put_opt_s(item: &mut Item, k: &str, v: &Option<String>) {
    if let Some(v) = v {
        item.insert(k.to_string(), s(v));
    }
}

fn put_opt_f(item: &mut Item, k: &str, v: Option<f64>) {
    // DynamoDB has no NaN or infinity: such a header fact is as good as unknown.
    if let Some(x) = v.filter(|x| x.is_finite()) {
        item.insert(k.to_string(), n(x));
    }
}

fn bad_item(what: &str, k: &str) -> PortError {
    PortError::new(
        SYSTEM,
        format!("{what}: attribute {k} missing or of the wrong type"),
    )
}

fn get_s(item: &Item, k: &str, what: &str) -> Result<String, PortError> {
    match item.get(k) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(bad_item(what, k)),
    }
}

fn get_opt_s(item: &Item, k: &str) -> Option<String> {
    match item.get(k) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

fn get_opt_f(item: &Item, k: &str) -> Option<f64> {
    match item.get(k) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

fn get_u64(item: &Item, k: &str) -> u64 {
    match item.get(k) {
        Some(AttributeValue::N(v)) => v
            .parse::<u64>()
            .ok()
            .or_else(|| v.parse::<f64>().ok().map(|f| f.max(0.0) as u64))
            .unwrap_or(0),
        _ => 0,
    }
}

/// JSON to a DynamoDB attribute (numbers keep their text).
fn json_to_av(v: &Value) -> AttributeValue {
    match v {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(x) => AttributeValue::N(x.to_string()),
        Value::String(t) => AttributeValue::S(t.clone()),
        Value::Array(a) => AttributeValue::L(a.iter().map(json_to_av).collect()),
        Value::Object(m) => {
            AttributeValue::M(m.iter().map(|(k, v)| (k.clone(), json_to_av(v))).collect())
        }
    }
}

/// A DynamoDB attribute back to JSON (integers stay integers).
fn av_to_json(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::N(t) => {
            if let Ok(i) = t.parse::<i64>() {
                Value::from(i)
            } else if let Ok(u) = t.parse::<u64>() {
                Value::from(u)
            } else {
                t.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        AttributeValue::S(t) => Value::String(t.clone()),
        AttributeValue::L(a) => Value::Array(a.iter().map(av_to_json).collect()),
        AttributeValue::M(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), av_to_json(v))).collect())
        }
        AttributeValue::Ss(a) => Value::Array(a.iter().cloned().map(Value::String).collect()),
        AttributeValue::Ns(a) => Value::Array(
            a.iter()
                .map(|t| av_to_json(&AttributeValue::N(t.clone())))
                .collect(),
        ),
        _ => Value::Null,
    }
}

fn study_to_item(x: &StudyItem) -> Item {
    let mut i = Item::new();
    i.insert("study".into(), s(&x.study));
    i.insert("config_bucket".into(), s(&x.config_bucket));
    i.insert("config_key".into(), s(&x.config_key));
    i.insert("config_etag".into(), s(&x.config_etag));
    i.insert("config_hash".into(), s(&x.config_hash));
    i.insert("bucket".into(), s(&x.bucket));
    i.insert("status".into(), s(x.status.as_str()));
    put_opt_s(&mut i, "error", &x.error);
    put_opt_s(
        &mut i,
        "config_json",
        &x.config_json.as_ref().map(|v| v.to_string()),
    );
    i.insert("updated_at".into(), s(&x.updated_at));
    i
}

fn item_to_study(i: &Item) -> Result<StudyItem, PortError> {
    let what = "study item";
    let status = get_s(i, "status", what)?;
    Ok(StudyItem {
        study: get_s(i, "study", what)?,
        config_bucket: get_s(i, "config_bucket", what)?,
        config_key: get_s(i, "config_key", what)?,
        config_etag: get_s(i, "config_etag", what)?,
        config_hash: get_s(i, "config_hash", what)?,
        bucket: get_opt_s(i, "bucket").unwrap_or_default(),
        status: StudyStatus::parse(&status).unwrap_or(StudyStatus::Invalid),
        error: get_opt_s(i, "error"),
        config_json: get_opt_s(i, "config_json").and_then(|c| serde_json::from_str(&c).ok()),
        updated_at: get_s(i, "updated_at", what)?,
    })
}

fn file_to_item(f: &FileItem) -> Item {
    let mut i = Item::new();
    for (k, v) in [
        ("study", &f.study),
        ("file_key", &f.file_key),
        ("bucket", &f.bucket),
        ("subject", &f.subject),
        ("visit", &f.visit),
        ("device", &f.device),
        ("format", &f.format),
        ("etag", &f.etag),
        ("registered_at", &f.registered_at),
        ("updated_at", &f.updated_at),
    ] {
        i.insert(k.into(), s(v));
    }
    i.insert("size".into(), n(f.size));
    i.insert("status".into(), s(f.status.as_str()));
    i.insert("attempt".into(), n(f.attempt));
    put_opt_f(&mut i, "recording_start", f.recording_start);
    put_opt_f(&mut i, "recording_end", f.recording_end);
    put_opt_f(&mut i, "sample_rate", f.sample_rate);
    put_opt_s(&mut i, "device_id", &f.device_id);
    put_opt_s(&mut i, "header_error", &f.header_error);
    put_opt_s(&mut i, "library_version", &f.library_version);
    put_opt_s(&mut i, "execution_id", &f.execution_id);
    put_opt_s(&mut i, "result_prefix", &f.result_prefix);
    put_opt_s(&mut i, "error", &f.error);
    i
}

fn item_to_file(i: &Item) -> Result<FileItem, PortError> {
    let what = "file item";
    let status = get_s(i, "status", what)?;
    Ok(FileItem {
        study: get_s(i, "study", what)?,
        file_key: get_s(i, "file_key", what)?,
        bucket: get_s(i, "bucket", what)?,
        subject: get_s(i, "subject", what)?,
        visit: get_opt_s(i, "visit").unwrap_or_default(),
        device: get_opt_s(i, "device").unwrap_or_default(),
        format: get_opt_s(i, "format").unwrap_or_default(),
        size: get_u64(i, "size"),
        etag: get_s(i, "etag", what)?,
        recording_start: get_opt_f(i, "recording_start"),
        recording_end: get_opt_f(i, "recording_end"),
        sample_rate: get_opt_f(i, "sample_rate"),
        device_id: get_opt_s(i, "device_id"),
        header_error: get_opt_s(i, "header_error"),
        status: FileStatus::parse(&status)
            .ok_or_else(|| PortError::new(SYSTEM, format!("{what}: unknown status {status}")))?,
        library_version: get_opt_s(i, "library_version"),
        execution_id: get_opt_s(i, "execution_id"),
        result_prefix: get_opt_s(i, "result_prefix"),
        error: get_opt_s(i, "error"),
        attempt: get_u64(i, "attempt").min(u32::MAX as u64) as u32,
        registered_at: get_s(i, "registered_at", what)?,
        updated_at: get_s(i, "updated_at", what)?,
    })
}

impl DynamoCatalog {
    /// An adapter over a client and table names.
    pub fn new(client: Client, rt: AwsRuntime, tables: Tables) -> Self {
        Self {
            client,
            rt,
            tables,
            page_limit: None,
        }
    }

    /// Reads at most `n` items per Query/Scan page (DynamoDB's own limit is 1 MB); tests use it
    /// to exercise pagination.
    pub fn with_page_limit(mut self, n: i32) -> Self {
        self.page_limit = Some(n.max(1));
        self
    }

    /// The table names.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// Creates the three tables (on-demand, with the GSIs) where missing: for emulators and
    /// development accounts (CloudFormation creates the real ones with the same key schema).
    pub fn ensure_tables(&self) -> Result<(), PortError> {
        ensure_tables(&self.client, &self.rt, &self.tables)
    }

    async fn query_files(
        &self,
        index: Option<&str>,
        key_condition: &str,
        names: &[(&str, &str)],
        values: &[(&str, AttributeValue)],
        filter: Option<&str>,
    ) -> Result<Vec<FileItem>, PortError> {
        let mut req = self
            .client
            .query()
            .table_name(&self.tables.files)
            .key_condition_expression(key_condition)
            .set_index_name(index.map(str::to_string))
            .set_limit(self.page_limit);
        if let Some(f) = filter {
            req = req.filter_expression(f);
        }
        for (k, v) in names {
            req = req.expression_attribute_names(*k, *v);
        }
        for (k, v) in values {
            req = req.expression_attribute_values(*k, v.clone());
        }
        let mut pages = req.into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| port_err(SYSTEM, "query files", &e))?;
            for i in page.items() {
                out.push(item_to_file(i)?);
            }
        }
        out.sort_by(|a, b| a.file_key.cmp(&b.file_key));
        Ok(out)
    }
}

impl Catalog for DynamoCatalog {
    fn get_study(&self, study: &str) -> Result<Option<StudyItem>, PortError> {
        self.rt.block_on(async {
            let o = self
                .client
                .get_item()
                .table_name(&self.tables.studies)
                .key("study", s(study))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| port_err(SYSTEM, &format!("get study {study}"), &e))?;
            o.item().map(item_to_study).transpose()
        })
    }

    fn list_studies(&self) -> Result<Vec<StudyItem>, PortError> {
        self.rt.block_on(async {
            let mut pages = self
                .client
                .scan()
                .table_name(&self.tables.studies)
                .consistent_read(true)
                .set_limit(self.page_limit)
                .into_paginator()
                .send();
            let mut out = Vec::new();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| port_err(SYSTEM, "list studies", &e))?;
                for i in page.items() {
                    out.push(item_to_study(i)?);
                }
            }
            out.sort_by(|a, b| a.study.cmp(&b.study));
            Ok(out)
        })
    }

    fn put_study(&self, item: &StudyItem) -> Result<(), PortError> {
        self.rt.block_on(async {
            self.client
                .put_item()
                .table_name(&self.tables.studies)
                .set_item(Some(study_to_item(item)))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| port_err(SYSTEM, &format!("put study {}", item.study), &e))
        })
    }

    fn get_file(&self, study: &str, file_key: &str) -> Result<Option<FileItem>, PortError> {
        self.rt.block_on(async {
            let o = self
                .client
                .get_item()
                .table_name(&self.tables.files)
                .key("study", s(study))
                .key("file_key", s(file_key))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| port_err(SYSTEM, &format!("get file {study}/{file_key}"), &e))?;
            o.item().map(item_to_file).transpose()
        })
    }

    fn list_files(&self, study: &str, filter: &FileFilter) -> Result<Vec<FileItem>, PortError> {
        self.rt.block_on(async {
            let study_v = ("#study", "study");
            match (&filter.subject, filter.status) {
                (Some(subject), status) => {
                    let mut values = vec![(":study", s(study)), (":subject", s(subject))];
                    let mut names = vec![study_v, ("#subject", "subject")];
                    let f = status.map(|st| {
                        values.push((":status", s(st.as_str())));
                        names.push(("#status", "status"));
                        "#status = :status"
                    });
                    self.query_files(
                        Some("by-subject"),
                        "#study = :study AND #subject = :subject",
                        &names,
                        &values,
                        f,
                    )
                    .await
                }
                (None, Some(status)) => {
                    self.query_files(
                        Some("by-status"),
                        "#status = :status AND #study = :study",
                        &[study_v, ("#status", "status")],
                        &[(":study", s(study)), (":status", s(status.as_str()))],
                        None,
                    )
                    .await
                }
                (None, None) => {
                    self.query_files(
                        None,
                        "#study = :study",
                        &[study_v],
                        &[(":study", s(study))],
                        None,
                    )
                    .await
                }
            }
        })
    }

    fn register_file(&self, item: &FileItem) -> Result<bool, PortError> {
        self.rt.block_on(async {
            let r = self
                .client
                .put_item()
                .table_name(&self.tables.files)
                .set_item(Some(file_to_item(item)))
                // New key, or a new upload (other ETag) of a file not being processed right now.
                .condition_expression(
                    "attribute_not_exists(#file_key) OR (#etag <> :etag AND #status <> :processing)",
                )
                .expression_attribute_names("#file_key", "file_key")
                .expression_attribute_names("#etag", "etag")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":etag", s(&item.etag))
                .expression_attribute_values(":processing", s(FileStatus::Processing.as_str()))
                .send()
                .await;
            match r {
                Ok(_) => Ok(true),
                Err(e) if error_code(&e) == Some(CONDITION_FAILED) => Ok(false),
                Err(e) => Err(port_err(
                    SYSTEM,
                    &format!("register {}/{}", item.study, item.file_key),
                    &e,
                )),
            }
        })
    }

    fn transition(
        &self,
        study: &str,
        file_key: &str,
        etag: &str,
        from: &[FileStatus],
        to: FileStatus,
        update: &StatusUpdate,
    ) -> Result<bool, PortError> {
        if from.is_empty() {
            return Ok(false);
        }
        let mut set = vec![
            "#status = :to".to_string(),
            "#updated_at = :now".to_string(),
        ];
        let mut remove = Vec::new();
        // `error` is always named: set, or removed when the update carries none.
        let mut names = vec!["status", "updated_at", "etag", "error"];
        let mut values: Vec<(String, AttributeValue)> = vec![
            (":to".into(), s(to.as_str())),
            (":now".into(), s(&now_rfc3339())),
            (":etag".into(), s(etag)),
        ];
        match &update.error {
            Some(e) => {
                set.push("#error = :error".into());
                values.push((":error".into(), s(e)));
            }
            None => remove.push("#error"),
        }
        // Like COALESCE in the SQLite catalog: only given values overwrite.
        for (name, value) in [
            ("execution_id", &update.execution_id),
            ("result_prefix", &update.result_prefix),
            ("library_version", &update.library_version),
        ] {
            if let Some(v) = value {
                set.push(format!("#{name} = :{name}"));
                names.push(name);
                values.push((format!(":{name}"), s(v)));
            }
        }
        let mut from_names = Vec::new();
        for (k, st) in from.iter().enumerate() {
            from_names.push(format!(":from{k}"));
            values.push((format!(":from{k}"), s(st.as_str())));
        }
        let mut expr = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expr.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let condition = format!("#etag = :etag AND #status IN ({})", from_names.join(", "));
        self.rt.block_on(async {
            let mut req = self
                .client
                .update_item()
                .table_name(&self.tables.files)
                .key("study", s(study))
                .key("file_key", s(file_key))
                .update_expression(expr)
                .condition_expression(condition);
            for name in names {
                req = req.expression_attribute_names(format!("#{name}"), name);
            }
            for (k, v) in values {
                req = req.expression_attribute_values(k, v);
            }
            match req.send().await {
                Ok(_) => Ok(true),
                Err(e) if error_code(&e) == Some(CONDITION_FAILED) => Ok(false),
                Err(e) => Err(port_err(
                    SYSTEM,
                    &format!("transition {study}/{file_key} to {to}"),
                    &e,
                )),
            }
        })
    }

    fn reset_for_rerun(&self, study: &str, file_key: &str) -> Result<Option<FileItem>, PortError> {
        self.rt.block_on(async {
            let r = self
                .client
                .update_item()
                .table_name(&self.tables.files)
                .key("study", s(study))
                .key("file_key", s(file_key))
                .update_expression(
                    "SET #status = :registered, #attempt = #attempt + :one, #updated_at = :now REMOVE #error",
                )
                .condition_expression("#status IN (:s1, :s2, :s3)")
                .expression_attribute_names("#status", "status")
                .expression_attribute_names("#attempt", "attempt")
                .expression_attribute_names("#updated_at", "updated_at")
                .expression_attribute_names("#error", "error")
                .expression_attribute_values(":registered", s(FileStatus::Registered.as_str()))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", s(&now_rfc3339()))
                .expression_attribute_values(":s1", s(FileStatus::Succeeded.as_str()))
                .expression_attribute_values(":s2", s(FileStatus::Failed.as_str()))
                .expression_attribute_values(
                    ":s3",
                    s(FileStatus::RequirementsTimedOut.as_str()),
                )
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            match r {
                Ok(o) => o.attributes().map(item_to_file).transpose(),
                Err(e) if error_code(&e) == Some(CONDITION_FAILED) => Ok(None),
                Err(e) => Err(port_err(SYSTEM, &format!("rerun {study}/{file_key}"), &e)),
            }
        })
    }

    fn put_subject(&self, item: &SubjectItem) -> Result<(), PortError> {
        let mut i = Item::new();
        i.insert("study".into(), s(&item.study));
        i.insert("subject".into(), s(&item.subject));
        i.insert(
            "fields".into(),
            json_to_av(&Value::Object(item.fields.clone())),
        );
        i.insert("source".into(), s(&item.source));
        i.insert("updated_at".into(), s(&item.updated_at));
        self.rt.block_on(async {
            self.client
                .put_item()
                .table_name(&self.tables.subjects)
                .set_item(Some(i))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    port_err(
                        SYSTEM,
                        &format!("put subject {}/{}", item.study, item.subject),
                        &e,
                    )
                })
        })
    }

    fn get_subject(&self, study: &str, subject: &str) -> Result<Option<SubjectItem>, PortError> {
        self.rt.block_on(async {
            let o = self
                .client
                .get_item()
                .table_name(&self.tables.subjects)
                .key("study", s(study))
                .key("subject", s(subject))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| port_err(SYSTEM, &format!("get subject {study}/{subject}"), &e))?;
            let Some(i) = o.item() else {
                return Ok(None);
            };
            let what = "subject item";
            let fields = match i.get("fields").map(av_to_json) {
                Some(Value::Object(m)) => m,
                _ => serde_json::Map::new(),
            };
            Ok(Some(SubjectItem {
                study: get_s(i, "study", what)?,
                subject: get_s(i, "subject", what)?,
                fields,
                source: get_s(i, "source", what)?,
                updated_at: get_s(i, "updated_at", what)?,
            }))
        })
    }
}

fn build_err(e: impl std::fmt::Display) -> PortError {
    PortError::new(SYSTEM, format!("table definition: {e}"))
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, PortError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(build_err)
}

fn attr(name: &str) -> Result<AttributeDefinition, PortError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(build_err)
}

fn gsi(name: &str, hash: &str, range: &str) -> Result<GlobalSecondaryIndex, PortError> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(hash, KeyType::Hash)?)
        .key_schema(key(range, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(build_err)
}

/// Creates the three tables (on-demand, with the GSIs) where missing, for emulators and
/// development accounts; CloudFormation creates the real ones with the same key schema.
fn ensure_tables(client: &Client, rt: &AwsRuntime, tables: &Tables) -> Result<(), PortError> {
    // Table, hash key, range key, GSIs, key attributes (all strings).
    type Spec<'a> = (
        &'a str,
        &'a str,
        Option<&'a str>,
        Vec<GlobalSecondaryIndex>,
        Vec<&'a str>,
    );
    let specs: Vec<Spec<'_>> = vec![
        (
            tables.studies.as_str(),
            "study",
            None,
            Vec::new(),
            vec!["study"],
        ),
        (
            tables.files.as_str(),
            "study",
            Some("file_key"),
            vec![
                gsi("by-status", "status", "study")?,
                gsi("by-subject", "study", "subject")?,
            ],
            vec!["study", "file_key", "status", "subject"],
        ),
        (
            tables.subjects.as_str(),
            "study",
            Some("subject"),
            Vec::new(),
            vec!["study", "subject"],
        ),
    ];
    rt.block_on(async {
        for (name, hash, range, gsis, attrs) in specs {
            let mut req = client
                .create_table()
                .table_name(name)
                .billing_mode(BillingMode::PayPerRequest)
                .key_schema(key(hash, KeyType::Hash)?);
            if let Some(r) = range {
                req = req.key_schema(key(r, KeyType::Range)?);
            }
            for a in attrs {
                req = req.attribute_definitions(attr(a)?);
            }
            if !gsis.is_empty() {
                req = req.set_global_secondary_indexes(Some(gsis));
            }
            match req.send().await {
                Ok(_) => {}
                Err(e) if error_code(&e) == Some("ResourceInUseException") => {}
                Err(e) => return Err(port_err(SYSTEM, &format!("create table {name}"), &e)),
            }
        }
        Ok(())
    })
}

impl JobCatalog for DynamoCatalog {
    fn current_etag(&self, study: &str, file_key: &str) -> Result<Option<String>, PortError> {
        Ok(self.get_file(study, file_key)?.map(|f| f.etag))
    }

    fn record_job(
        &self,
        study: &str,
        file_key: &str,
        etag: &str,
        record: &JobRecord,
    ) -> Result<bool, PortError> {
        // Not a status change: only the ETag guards it (the state machine may already have
        // marked the file SUCCEEDED when the job's bookkeeping lands).
        let mut set = Vec::new();
        let mut values: Vec<(String, AttributeValue)> = vec![(":etag".into(), s(etag))];
        let mut put = |name: &'static str, v: AttributeValue| {
            set.push(name);
            values.push((format!(":{name}"), v));
        };
        put("result_prefix", s(&record.result_prefix));
        put("library_version", s(&record.library_version));
        put("job_finished_at", s(&record.finished_at));
        put("updated_at", s(&now_rfc3339()));
        for (name, v) in [
            ("recording_start", record.recording_start),
            ("recording_end", record.recording_end),
            ("sample_rate", record.sample_rate),
        ] {
            if let Some(x) = v.filter(|x| x.is_finite()) {
                put(name, n(x));
            }
        }
        if let Some(d) = &record.device_id {
            put("device_id", s(d));
        }
        if let Some(j) = &record.job_id {
            put("job_id", s(j));
        }
        let expr = format!(
            "SET {}",
            set.iter()
                .map(|k| format!("#{k} = :{k}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        self.rt.block_on(async {
            let mut req = self
                .client
                .update_item()
                .table_name(&self.tables.files)
                .key("study", s(study))
                .key("file_key", s(file_key))
                .update_expression(expr)
                .condition_expression("#etag = :etag")
                .expression_attribute_names("#etag", "etag");
            for name in &set {
                req = req.expression_attribute_names(format!("#{name}"), *name);
            }
            for (k, v) in values {
                req = req.expression_attribute_values(k, v);
            }
            match req.send().await {
                Ok(_) => Ok(true),
                Err(e) if error_code(&e) == Some(CONDITION_FAILED) => Ok(false),
                Err(e) => Err(port_err(
                    SYSTEM,
                    &format!("record job result on {study}/{file_key}"),
                    &e,
                )),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_through_attributes() {
        let v = serde_json::json!({"height_m": 1.75, "age": 40, "big": 18446744073709551615u64,
            "tz": "Europe/London", "ok": true, "none": null, "list": [1, "a"], "whole": 2.0});
        assert_eq!(av_to_json(&json_to_av(&v)), v);
    }

    #[test]
    fn items_round_trip() {
        let f = FileItem {
            study: "s".into(),
            file_key: "raw/a.cwa".into(),
            bucket: "b".into(),
            subject: "S1".into(),
            visit: String::new(),
            device: "wrist".into(),
            format: "cwa".into(),
            size: 123,
            etag: "e".into(),
            recording_start: Some(1.7e9 + 0.25),
            recording_end: Some(f64::NAN),
            sample_rate: Some(100.0),
            device_id: Some("42".into()),
            header_error: None,
            status: FileStatus::Waiting,
            library_version: None,
            execution_id: Some("x".into()),
            result_prefix: None,
            error: None,
            attempt: 3,
            registered_at: "t0".into(),
            updated_at: "t1".into(),
        };
        let back = item_to_file(&file_to_item(&f)).unwrap();
        assert_eq!(back.recording_end, None, "NaN is stored as unknown");
        assert_eq!(
            back,
            FileItem {
                recording_end: None,
                ..f
            }
        );
    }
}
