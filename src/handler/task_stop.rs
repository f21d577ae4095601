//! The guard as a task-stop explainer: ECS's `ECS Task State Change` event of a task that
//! stopped (its essential container exited, or it failed to start) → each ECR image it ran,
//! at the digest ECS reported, judged against the CPU the task really had
//! (`ecs.cpu-architecture`, else its task definition's runtime platform) → on a mismatch, one
//! alert per task group (`service:NAME`, `family:NAME`) and image per hour, naming the stop
//! reason and who started the task. A service's crash loop sends dozens of these events an
//! hour: after the first, this environment answers them from memory without a read, and the
//! alert claims keep other environments from alerting again.

use serde_json::Value;

use super::Guard;
use crate::act::message::Notify;
use crate::consumers::consumer::{Consumer, ConsumerKind};
use crate::consumers::discovery::Discover;
use crate::event::change::{Change, Target};
use crate::event::ecs_task::{Classified, TaskStop};
use crate::image::ports::Registry;
use crate::judge::verdict::Verdict;
use crate::util::error::Error;

impl<R: Registry, N: Notify, D: Discover> Guard<R, N, D> {
    /// Handles one ECS Task State Change event: one verdict per image judged (or one skipped
    /// verdict saying why nothing was). An error fails the invocation (retried).
    pub async fn explain_task_stop(&self, payload: &Value) -> Result<Vec<Verdict>, Error> {
        if !self.settings.gate.task_stops {
            return Ok(vec![Verdict::skipped(
                "ECS task stops are not explained (ECS_TASK_STOPS)",
            )]);
        }
        let stop = TaskStop::parse(payload);
        if let Classified::Skip(reason) = stop.classify() {
            return Ok(vec![Verdict::skipped(reason)]);
        }
        let group = stop.group();
        let event_id = format!("ecs-task/{group}/{}", stop.hour());
        let change = Change {
            event_id: Some(event_id.clone()),
            // The report adds " at TIME by CALLER": who started the task.
            event_name: format!("tasks of {group} stop ({})", stop.why()),
            event_time: stop.time.clone(),
            caller: stop.started_by.clone(),
            scope: stop.scope(),
            target: Target::EcsTaskDefinition(stop.task_definition_arn.clone().unwrap_or_default()),
            requested: None,
        };
        let mut verdicts = Vec::new();
        let mut users: Option<Vec<Consumer>> = None;
        let mut images: Vec<String> = stop
            .containers
            .iter()
            .filter_map(|c| c.image_at_digest())
            .collect();
        images.sort();
        images.dedup();
        for image in images {
            let key = format!("{event_id}/{image}");
            if let Some(mut earlier) = self.changes.get(&key) {
                for v in &mut earlier {
                    v.mark_earlier_delivery(&format!("already explained for {group} this hour"));
                }
                verdicts.extend(earlier);
                continue;
            }
            if users.is_none() {
                users = Some(self.task_consumer(&stop, &change).await?);
            }
            let users: Vec<Consumer> = users
                .iter()
                .flatten()
                .map(|u| Consumer {
                    image: image.clone(),
                    ..u.clone()
                })
                .collect();
            let verdict = self.judge_image_for(&change, &image, &users, true).await?;
            self.changes.insert(key, vec![verdict.clone()]);
            verdicts.push(verdict);
        }
        verdicts.iter().for_each(super::log_verdict);
        Ok(verdicts)
    }

    /// The task as a consumer: where it ran (the event's `ecs.cpu-architecture`, else its task
    /// definition's runtime platform, read through the `Discover` port).
    async fn task_consumer(
        &self,
        stop: &TaskStop,
        change: &Change,
    ) -> Result<Vec<Consumer>, Error> {
        let group = stop.group();
        let (kind, name, arn) = match (stop.service(), stop.cluster_arn.as_deref()) {
            (Some(service), Some(cluster)) => {
                let cluster_name = cluster.rsplit('/').next().unwrap_or(cluster);
                (
                    ConsumerKind::EcsService,
                    format!("{cluster_name}/{service} (its task {})", task_id(stop)),
                    cluster.replacen(":cluster/", ":service/", 1) + "/" + service,
                )
            }
            _ => (
                ConsumerKind::EcsTaskDefinition,
                format!("{group} (task {})", task_id(stop)),
                stop.task_definition_arn.clone().unwrap_or_default(),
            ),
        };
        let (platform, label, detail) = match stop.platform() {
            Some(p) => (
                Some(p),
                stop.cpu_architecture.clone().unwrap_or_default(),
                format!(
                    "the task ran on {} (ecs.cpu-architecture)",
                    stop.cpu_architecture.as_deref().unwrap_or("?")
                ),
            ),
            None => {
                let defined = self
                    .sources
                    .discovery
                    .source()
                    .consumer(&change.scope, &change.target)
                    .await?;
                let first = defined.into_iter().next();
                (
                    first.as_ref().and_then(|c| c.platform.clone()),
                    first
                        .as_ref()
                        .map(|c| c.architecture_label.clone())
                        .unwrap_or_default(),
                    "no ecs.cpu-architecture in the event: its task definition's runtime platform"
                        .to_string(),
                )
            }
        };
        Ok(vec![Consumer {
            kind,
            name,
            arn,
            image: String::new(),
            platform,
            architecture_label: label,
            detail: Some(detail),
        }])
    }
}

fn task_id(stop: &TaskStop) -> &str {
    stop.task_arn
        .as_deref()
        .and_then(|a| a.rsplit('/').next())
        .unwrap_or("?")
}
