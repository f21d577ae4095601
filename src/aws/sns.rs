//! [`Notify`] over SNS Publish.

use std::sync::{Arc, OnceLock};

use aws_sdk_sns::types::MessageAttributeValue;

use crate::act::message::Notify;
use crate::act::message::{AttributeValue, Message};
use crate::util::error::Error;

#[derive(Clone, Debug)]
pub struct Sns {
    client: Client,
    topic_arn: String,
}

#[derive(Clone, Debug)]
enum Client {
    Ready(aws_sdk_sns::Client),
    /// Built on the first alert: most events send none, and building an SDK client (its TLS
    /// setup) is a measurable part of a cold start.
    Lazy(
        Box<aws_config::SdkConfig>,
        Arc<OnceLock<aws_sdk_sns::Client>>,
    ),
}

impl Sns {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Sns {
        Sns {
            client: Client::Ready(client),
            topic_arn: topic_arn.into(),
        }
    }

    /// A client built from `config` on the first publish.
    pub fn lazy(config: aws_config::SdkConfig, topic_arn: impl Into<String>) -> Sns {
        Sns {
            client: Client::Lazy(Box::new(config), Arc::default()),
            topic_arn: topic_arn.into(),
        }
    }

    fn client(&self) -> &aws_sdk_sns::Client {
        match &self.client {
            Client::Ready(c) => c,
            Client::Lazy(config, cell) => cell.get_or_init(|| aws_sdk_sns::Client::new(config)),
        }
    }
}

impl Notify for Sns {
    async fn publish(&self, alert: &Message) -> Result<(), Error> {
        let mut req = self
            .client()
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&alert.subject)
            .message(&alert.body);
        for (name, value) in alert.attributes.iter().filter(|(_, v)| !v.is_empty()) {
            let (data_type, value) = match value {
                AttributeValue::Text(s) => ("String", s.clone()),
                // SNS takes a String.Array as its JSON text.
                AttributeValue::List(l) => ("String.Array", serde_json::json!(l).to_string()),
            };
            let attr = MessageAttributeValue::builder()
                .data_type(data_type)
                .string_value(value)
                .build()
                .map_err(|e| Error::Permanent(format!("SNS message attribute {name}: {e}")))?;
            req = req.message_attributes(name, attr);
        }
        match req.send().await {
            Ok(_) => Ok(()),
            // Whatever the cause, an unsent alert fails the event: retry, then dead-letter queue.
            Err(e) => match super::map_sdk_error("sns:Publish", e) {
                Error::NotFound(m) | Error::Permanent(m) => {
                    Err(Error::Permanent(format!("alert not sent: {m}")))
                }
                other => Err(Error::Transient(format!("alert not sent: {other}"))),
            },
        }
    }
}
