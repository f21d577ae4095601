//! The alert when a deployment gate could not judge a change.

use std::fmt::Write;

use crate::act::alert::subject;
use crate::act::message::{AttributeValue, Message};
use crate::image::RegistryId;

/// The `verdict` attribute of a deployment the gate let through without judging it.
pub const GATE_UNJUDGED: &str = "gate-unjudged";

/// The alert when a deployment gate could not judge a change: never silent, and true to what
/// the answer did — let through (`DEPLOY_GATE_UNKNOWN=pass`) or refused (`fail`: CloudFormation
/// fails the operation, ECS rolls the deployment back). `text` is the gate's message.
pub fn gate_unjudged(
    subject_line: &str,
    scope: &RegistryId,
    text: &str,
    unknown: super::Unknown,
) -> Message {
    let refused = unknown == super::Unknown::Fail;
    let mut m = String::new();
    if refused {
        let _ = writeln!(
            m,
            "ecr-arch-guard REFUSED a deployment it could not judge: {subject_line}."
        );
    } else {
        let _ = writeln!(
            m,
            "ecr-arch-guard let a deployment through WITHOUT judging it: {subject_line}."
        );
    }
    let _ = writeln!(m);
    let _ = writeln!(m, "{text}");
    let _ = writeln!(m);
    if refused {
        let _ = writeln!(
            m,
            "The gate refuses what it cannot judge (DEPLOY_GATE_UNKNOWN=fail): the change did not \
             go ahead (an ECS deployment rolls back). Fix what kept it from judging (see the \
             function's log, \"deployment not judged\"), or set DeployGateUnknown=pass to let such \
             changes through with this alert."
        );
    } else {
        let _ = writeln!(
            m,
            "The gate passes what it cannot judge (DEPLOY_GATE_UNKNOWN=pass). Check the image with \
             `ecr-arch-guard consumer ARN`, or set DeployGateUnknown=fail to refuse such changes."
        );
    }
    let text = |s: Option<&String>| AttributeValue::Text(s.cloned().unwrap_or_default());
    Message {
        subject: subject(&if refused {
            format!("Deployment refused, not judged: {subject_line}")
        } else {
            format!("Deployment not judged: {subject_line}")
        }),
        body: m,
        attributes: vec![
            ("verdict".into(), AttributeValue::Text(GATE_UNJUDGED.into())),
            (
                "problems".into(),
                AttributeValue::List(vec![GATE_UNJUDGED.into()]),
            ),
            ("account".into(), text(scope.account.as_ref())),
            ("region".into(), text(scope.region.as_ref())),
        ],
    }
}
