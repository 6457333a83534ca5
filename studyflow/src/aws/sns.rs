//! SNS notifier: one message per publish, JSON body, subject line cut to SNS's rules.

use aws_sdk_sns::Client;

use super::{AwsRuntime, port_err};
use crate::ports::{Notifier, PortError};

const SYSTEM: &str = "notifier";

/// Notifications to an SNS topic.
pub struct SnsNotifier {
    client: Client,
    rt: AwsRuntime,
    topic_arn: Option<String>,
}

impl SnsNotifier {
    /// An adapter publishing to `topic_arn`; without a topic, messages are only logged.
    pub fn new(client: Client, rt: AwsRuntime, topic_arn: Option<String>) -> Self {
        Self {
            client,
            rt,
            topic_arn,
        }
    }
}

/// SNS subjects: printable ASCII, no line breaks, under 100 characters.
fn subject_line(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(99)
        .collect();
    if clean.trim().is_empty() {
        "studyflow".into()
    } else {
        clean
    }
}

impl Notifier for SnsNotifier {
    fn publish(&self, subject: &str, message: &serde_json::Value) -> Result<(), PortError> {
        let Some(topic) = &self.topic_arn else {
            tracing::info!(subject, %message, "notification (no topic configured)");
            return Ok(());
        };
        self.rt.block_on(async {
            self.client
                .publish()
                .topic_arn(topic)
                .subject(subject_line(subject))
                .message(message.to_string())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| port_err(SYSTEM, &format!("publish to {topic}"), &e))
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn subjects_follow_sns_rules() {
        let s = super::subject_line(&format!("a\nb ä {}", "x".repeat(200)));
        assert!(s.len() < 100 && s.starts_with("a?b ? x"), "{s}");
        assert_eq!(super::subject_line("\n"), "?");
        assert_eq!(super::subject_line(""), "studyflow");
    }
}
