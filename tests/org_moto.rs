//! Organisation mode on moto: events from other accounts are read through the member role
//! (STS AssumeRole; moto maps the assumed credentials to the role's account, so each account's
//! repositories really are separate), in the event's region, with one client per account and
//! region and one role assumption per account. A denied role is its own alert.
//!
//! What moto does not do: it never denies AssumeRole (trust policies are not evaluated), so the
//! denied case answers the STS call from a local stub with the error STS returns.

mod common;

use std::io::{Read, Write};
use std::sync::Arc;

use common::images::{AMD_CONFIG, AMD_MANIFEST, ARM_CONFIG, ARM_MANIFEST};
use common::lambda_rie::{Lambda, Outcome};
use common::local_aws::*;
use ecr_arch_guard::aws::accounts::{Accounts, MemberRole};
use ecr_arch_guard::aws::download::Download;
use ecr_arch_guard::aws::routing::RoutedEcr;
use ecr_arch_guard::aws::sns::Sns;
use ecr_arch_guard::event::EcrEvent;
use ecr_arch_guard::handler::settings::{Actions, Settings};
use ecr_arch_guard::handler::Guard;
use ecr_arch_guard::Error;
use serde_json::Value;

const MEMBER: &str = "222222222222";
const ROLE: &str = "ecr-arch-guard-reader";

struct Org {
    gap: GapFiller,
    _moto: Moto,
    central: aws_config::SdkConfig,
    topic: String,
    queue: String,
}

impl Org {
    async fn start() -> Org {
        let LocalAws {
            moto,
            gap,
            config: central,
        } = LocalAws::start().await;
        let (topic, queue) = topic_with_queue(&central, "org-alerts", "platform").await;
        Org {
            gap,
            _moto: moto,
            central,
            topic,
            queue,
        }
    }

    /// A configuration acting as `account` in `region` (through AssumeRole, as a member's own
    /// pipeline would push).
    async fn as_account(&self, account: &str, region: &str) -> aws_config::SdkConfig {
        acting_as(&self.central, account, region).await
    }

    async fn push(
        &self,
        account: &str,
        region: &str,
        repo: &str,
        manifest: &str,
        config: &str,
    ) -> EcrEvent {
        let ecr = aws_sdk_ecr::Client::new(&self.as_account(account, region).await);
        let _ = ecr.create_repository().repository_name(repo).send().await;
        let digest = push_image(&ecr, &self.gap, repo, manifest, config, Some("latest")).await;
        let mut e = push_event(repo, &digest, "latest", OCI_MANIFEST, OCI_CONFIG);
        e["account"] = account.into();
        e["region"] = region.into();
        e["id"] = format!("{account}-{region}-{repo}").into();
        serde_json::from_value(e).unwrap()
    }

    fn guard(&self, accounts: Arc<Accounts>) -> Guard<RoutedEcr, Sns> {
        let settings = Settings {
            actions: Actions {
                alert: true,
                tag: true,
            },
            alert_topic_arn: Some(self.topic.clone()),
            allow_http_downloads: true,
            ..Settings::default()
        };
        let ecr = RoutedEcr::new(accounts, Download::new(true).unwrap());
        let sns = Sns::new(aws_sdk_sns::Client::new(&self.central), self.topic.clone());
        Guard::new(settings, ecr, sns)
    }

    fn accounts(&self) -> Arc<Accounts> {
        Arc::new(Accounts::new(
            self.central.clone(),
            Some(ACCOUNT.into()),
            Some(MemberRole {
                name: ROLE.into(),
                external_id: Some("o-example".into()),
            }),
        ))
    }

    async fn alerts(&self) -> Vec<Value> {
        queued_alerts(&self.central, &self.queue).await
    }
}

fn count(calls: &[String], op: &str) -> usize {
    calls.iter().filter(|c| c.as_str() == op).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_account_push_is_read_with_the_member_role_in_its_region() {
    let org = Org::start().await;
    let event = org
        .push(
            MEMBER,
            "eu-west-1",
            "payments/api",
            ARM_MANIFEST,
            ARM_CONFIG,
        )
        .await;
    let guard = org.guard(org.accounts());
    org.gap.take_calls();

    let v = guard.handle(&event).await.unwrap();
    assert_eq!(v.verdict.to_string(), "mismatch", "{:?}", v.reason);
    assert_eq!(v.actions[0].status, "tagged");
    let calls = org.gap.take_calls();
    assert_eq!(count(&calls, "sts:AssumeRole"), 1, "{calls:?}");
    // What the central role (AssumeRole, Publish) and the member role (reads, plus PutImage
    // because tagging is on) grant between them; nothing else is called.
    let mut granted = ecr_arch_guard::aws::ORGANISATION_IAM_ACTIONS.to_vec();
    granted.extend(ecr_arch_guard::aws::MEMBER_IAM_ACTIONS);
    granted.extend(["ecr:PutImage", "sns:Publish"]);
    assert_only_granted(&calls, &granted);

    // The marker tag went to the member's repository in eu-west-1, not to the central account.
    let member_ecr = aws_sdk_ecr::Client::new(&org.as_account(MEMBER, "eu-west-1").await);
    let tags = image_tags(&member_ecr, "payments/api").await;
    assert!(tags.contains(&"latest-arm64-only".to_string()), "{tags:?}");
    let central_ecr = aws_sdk_ecr::Client::new(&org.central);
    assert!(
        central_ecr
            .describe_repositories()
            .repository_names("payments/api")
            .send()
            .await
            .is_err(),
        "moto keeps accounts apart: the central account has no such repository"
    );

    // The alert names the account and region, and carries them as attributes.
    let alerts = org.alerts().await;
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(a["MessageAttributes"]["account"]["Value"], MEMBER);
    assert_eq!(a["MessageAttributes"]["region"]["Value"], "eu-west-1");
    let body = a["Message"].as_str().unwrap();
    assert!(
        body.contains("Account:   222222222222  Region: eu-west-1"),
        "{body}"
    );
    assert!(body.contains("222222222222.dkr.ecr.eu-west-1.amazonaws.com/payments/api:latest"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_per_account_and_region_one_role_assumption_per_account() {
    let org = Org::start().await;
    // Same repository name in two regions of the member account: different images.
    let eu = org
        .push(MEMBER, "eu-west-1", "web", ARM_MANIFEST, ARM_CONFIG)
        .await;
    let ap = org
        .push(MEMBER, "ap-southeast-2", "web", AMD_MANIFEST, AMD_CONFIG)
        .await;
    let home = org
        .push(ACCOUNT, REGION, "central", AMD_MANIFEST, AMD_CONFIG)
        .await;
    let accounts = org.accounts();
    let guard = org.guard(accounts);
    org.gap.take_calls();

    let v = guard.handle(&eu).await.unwrap();
    assert_eq!(
        v.verdict.to_string(),
        "mismatch",
        "eu-west-1 holds the arm64 image"
    );
    let v = guard.handle(&ap).await.unwrap();
    assert_eq!(
        v.verdict.to_string(),
        "fits",
        "ap-southeast-2 holds the amd64 image"
    );
    let v = guard.handle(&home).await.unwrap();
    assert_eq!(v.verdict.to_string(), "fits");
    let calls = org.gap.take_calls();
    assert_eq!(
        count(&calls, "sts:AssumeRole"),
        1,
        "one assumption for the member account, none for the home account: {calls:?}"
    );
    assert_eq!(guard.registry().client_count().await, 3);

    // A second event in a known account and region: no new client, no new assumption.
    let again = org
        .push(MEMBER, "eu-west-1", "web2", AMD_MANIFEST, AMD_CONFIG)
        .await;
    org.gap.take_calls();
    guard.handle(&again).await.unwrap();
    assert_eq!(count(&org.gap.take_calls(), "sts:AssumeRole"), 0);
    assert_eq!(guard.registry().client_count().await, 3);
}

/// A loopback stub answering every request as STS does when the trust policy says no.
fn denying_sts() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 65536];
            let _ = stream.read(&mut buf);
            let body = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/guard/x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::333333333333:role/ecr-arch-guard-reader</Message></Error><RequestId>r</RequestId></ErrorResponse>";
            let _ = write!(
                stream,
                "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    endpoint
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_member_role_is_an_alert_of_its_own_never_a_pass() {
    let org = Org::start().await;
    // The central account's clients reach STS through the stub; everything else is moto.
    let sts_stub = denying_sts();
    let central = org.central.clone();
    let with_stub = central.to_builder().endpoint_url(sts_stub).build();
    let accounts = Arc::new(Accounts::new(
        with_stub,
        Some(ACCOUNT.into()),
        Some(MemberRole {
            name: ROLE.into(),
            external_id: None,
        }),
    ));
    let err = accounts
        .config(Some("333333333333"), Some("us-east-1"))
        .await
        .unwrap_err();
    match &err {
        Error::AccountUnreadable { account, reason } => {
            assert_eq!(account, "333333333333");
            assert!(reason.contains("AccessDenied"), "{reason}");
        }
        other => panic!("{other:?}"),
    }

    let guard = org.guard(accounts);
    let event: EcrEvent = serde_json::from_value({
        let mut e = push_event(
            "billing",
            &format!("sha256:{}", "b".repeat(64)),
            "v1",
            OCI_MANIFEST,
            OCI_CONFIG,
        );
        e["account"] = "333333333333".into();
        e
    })
    .unwrap();
    let v = guard.handle(&event).await.unwrap();
    assert_eq!(v.verdict.to_string(), "skipped");
    assert!(v
        .reason
        .as_deref()
        .unwrap()
        .contains("cannot read account 333333333333"));
    assert_eq!(v.actions[0].status, "sent");
    let alerts = org.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0]["Subject"],
        "ecr-arch-guard cannot read account 333333333333 (us-east-1)"
    );
    assert_eq!(
        alerts[0]["MessageAttributes"]["verdict"]["Value"],
        "unreadable"
    );
    assert!(alerts[0]["Message"]
        .as_str()
        .unwrap()
        .contains("was NOT checked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_in_organisation_mode_reads_the_member_account() {
    let org = Org::start().await;
    let event = org
        .push(MEMBER, "eu-west-1", "edge", ARM_MANIFEST, ARM_CONFIG)
        .await;
    let mut f = Lambda::start(
        &org.gap.endpoint,
        &[
            ("ALERT_TOPIC_ARN", org.topic.as_str()),
            ("HOME_ACCOUNT_ID", ACCOUNT),
            ("MEMBER_ROLE_NAME", ROLE),
            ("EXTERNAL_ID", "o-example"),
        ],
    );
    let v = match f.invoke(&serde_json::to_value(&event).unwrap()) {
        Outcome::Response(v) => v,
        Outcome::Error(e) => panic!("{e}"),
    };
    assert_eq!(v["verdict"], "mismatch", "{v:#}");
    let alerts = org.alerts().await;
    assert_eq!(alerts[0]["MessageAttributes"]["account"]["Value"], MEMBER);
}

/// A consumer change in a member account (forwarded by its member stack): the task definition
/// is read in that account and region through the member role (moto keeps accounts apart, so
/// it is found only there), its image likewise, and the alert names it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_account_consumer_change_is_read_in_its_own_account_and_region() {
    use aws_sdk_ecs::types::{Compatibility, ContainerDefinition, CpuArchitecture};
    use ecr_arch_guard::aws::discovery::AwsDiscovery;
    use ecr_arch_guard::consumers::discovery::Service;
    let org = Org::start().await;
    let region = "eu-west-1";
    org.push(MEMBER, region, "app", ARM_MANIFEST, ARM_CONFIG)
        .await;
    let ecs = aws_sdk_ecs::Client::new(&org.as_account(MEMBER, region).await);
    let arn = ecs
        .register_task_definition()
        .family("app")
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .runtime_platform(
            aws_sdk_ecs::types::RuntimePlatform::builder()
                .cpu_architecture(CpuArchitecture::X8664)
                .build(),
        )
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image(format!(
                    "{MEMBER}.dkr.ecr.{region}.amazonaws.com/app:latest"
                ))
                .build(),
        )
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap()
        .task_definition_arn
        .unwrap();
    assert!(arn.contains(MEMBER), "{arn}");
    let mut event = common::event_value("change-ecs-register-task-definition.json");
    event["account"] = MEMBER.into();
    event["region"] = region.into();
    event["detail"]["recipientAccountId"] = MEMBER.into();
    event["detail"]["awsRegion"] = region.into();
    event["detail"]["responseElements"]["taskDefinition"]["taskDefinitionArn"] = arn.into();
    let accounts = org.accounts();
    let settings = Settings {
        alert_topic_arn: Some(org.topic.clone()),
        allow_http_downloads: true,
        ..Settings::default()
    };
    let guard = Guard::with_discovery(
        settings,
        RoutedEcr::new(accounts.clone(), Download::new(true).unwrap()),
        Sns::new(aws_sdk_sns::Client::new(&org.central), org.topic.clone()),
        AwsDiscovery::new(accounts, &Service::ALL),
    );
    let v = guard
        .handle_change(&serde_json::from_value(event).unwrap())
        .await
        .unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(
        v[0].verdict,
        ecr_arch_guard::judge::verdict::VerdictKind::Mismatch,
        "{:?}",
        v[0]
    );
    let alerts = org.alerts().await;
    assert_eq!(alerts.len(), 1);
    let body = alerts[0]["Message"].as_str().unwrap();
    assert!(
        body.contains("Consumer:  ECS task definition app:1"),
        "{body}"
    );
    assert!(
        body.contains(&format!("Account:   {MEMBER}  Region: {region}")),
        "{body}"
    );
}
