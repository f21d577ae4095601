//! What a notifier sends: plain data, composed by [`crate::act::alert`], sent through the
//! [`Notify`] port (SNS in [`crate::aws::sns`]).

use std::future::Future;

use crate::util::error::Error;

/// One message: a subject, a body, and attributes subscribers can filter on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub subject: String,
    pub body: String,
    /// `verdict`, `problems`, `repository`, `architectures`, `account`, `region`.
    pub attributes: Vec<(String, AttributeValue)>,
}

/// A message attribute's value, as SNS subscription filter policies see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttributeValue {
    /// An SNS `String`.
    Text(String),
    /// An SNS `String.Array`: a filter policy value matches when it equals any element, so
    /// `{"architectures": ["arm64"]}` catches an image whose architectures are `arm` and `arm64`.
    List(Vec<String>),
}

impl AttributeValue {
    /// Nothing to send (SNS refuses empty attribute values).
    pub fn is_empty(&self) -> bool {
        match self {
            AttributeValue::Text(s) => s.is_empty(),
            AttributeValue::List(l) => l.is_empty(),
        }
    }
}

/// Sends an alert.
pub trait Notify: Sync {
    fn publish(&self, message: &Message) -> impl Future<Output = Result<(), Error>> + Send;
}

/// A [`Notify`] for commands that never alert (`check`, `scan`).
pub struct NoNotify;

impl Notify for NoNotify {
    async fn publish(&self, _: &Message) -> Result<(), Error> {
        Err(Error::Usage("this command does not send alerts".into()))
    }
}
