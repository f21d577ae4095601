//! The dead-letter queue and the function, for `ecr-arch-guard replay`: messages received from
//! the queue (SQS ReceiveMessage, a few at a time, hidden while they are replayed), each body
//! (the event, as both EventBridge and Lambda's asynchronous invocation write it) sent to the
//! function synchronously (Lambda Invoke, RequestResponse), and deleted only once the function
//! answered without an error. Calls: sqs:ReceiveMessage, sqs:DeleteMessage,
//! lambda:InvokeFunction.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

use super::map_sdk_error;
use crate::util::error::Error;

/// How long a received message stays hidden while it is replayed (then it is visible again if
/// it was not deleted).
const VISIBILITY_SECONDS: i32 = 120;

/// One message of the queue.
#[derive(Clone, Debug)]
pub struct DeadLetter {
    pub id: String,
    pub receipt: String,
    pub body: String,
}

pub struct Replay {
    pub sqs: aws_sdk_sqs::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub queue_url: String,
    pub function: String,
}

impl Replay {
    /// Up to `max` (≤ 10) messages; `peek`: visible again at once (a dry run).
    pub async fn receive(&self, max: i32, peek: bool) -> Result<Vec<DeadLetter>, Error> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(max.clamp(1, 10))
            .visibility_timeout(if peek { 0 } else { VISIBILITY_SECONDS })
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(|e| map_sdk_error("sqs:ReceiveMessage", e))?;
        Ok(out
            .messages()
            .iter()
            .map(|m| DeadLetter {
                id: m.message_id().unwrap_or_default().to_string(),
                receipt: m.receipt_handle().unwrap_or_default().to_string(),
                body: m.body().unwrap_or_default().to_string(),
            })
            .collect())
    }

    pub async fn delete(&self, message: &DeadLetter) -> Result<(), Error> {
        self.sqs
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(&message.receipt)
            .send()
            .await
            .map_err(|e| map_sdk_error("sqs:DeleteMessage", e))?;
        Ok(())
    }

    /// Sends `event` to the function and waits for its answer: `Ok(answer)`, or the function's
    /// error (`X-Amz-Function-Error`, or an error document as the answer).
    pub async fn invoke(&self, event: &str) -> Result<serde_json::Value, Error> {
        let out = self
            .lambda
            .invoke()
            .function_name(&self.function)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(event.as_bytes()))
            .send()
            .await
            .map_err(|e| map_sdk_error("lambda:InvokeFunction", e))?;
        let answer: serde_json::Value = out
            .payload()
            .and_then(|p| serde_json::from_slice(p.as_ref()).ok())
            .unwrap_or_default();
        if out.function_error().is_some() || crate::event::replay::is_error_document(&answer) {
            return Err(Error::Permanent(format!(
                "the function failed: {}",
                crate::event::replay::error_text(&answer)
            )));
        }
        Ok(answer)
    }
}
