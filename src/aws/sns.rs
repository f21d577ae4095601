//! [`Notify`] over SNS Publish.

use aws_sdk_sns::types::MessageAttributeValue;

use crate::error::Error;
use crate::message::{AttributeValue, Message};
use crate::ports::Notify;

#[derive(Clone, Debug)]
pub struct Sns {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl Sns {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Sns {
        Sns {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

impl Notify for Sns {
    async fn publish(&self, alert: &Message) -> Result<(), Error> {
        let mut req = self
            .client
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
