//! The services around the guard, set up in moto: the alert topic with a subscribed queue, an
//! IAM role, an ECS service and a Lambda image function (the consumers discovery reads).

use std::io::{Read, Write};
use std::net::TcpStream;

use super::local_aws::ACCOUNT;

/// The alerts waiting in a queue subscribed to the topic (up to 10, received once), as the SNS
/// envelopes an SQS subscriber gets.
pub async fn queued_alerts(
    config: &aws_config::SdkConfig,
    queue_url: &str,
) -> Vec<serde_json::Value> {
    let out = aws_sdk_sqs::Client::new(config)
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("ReceiveMessage");
    out.messages()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap_or_default()).expect("SNS envelope"))
        .collect()
}

/// An SNS topic with an SQS queue subscribed to it (the subscriber tests and the demo read).
/// Returns (topic ARN, queue URL).
pub async fn topic_with_queue(
    config: &aws_config::SdkConfig,
    topic: &str,
    queue: &str,
) -> (String, String) {
    let topic_arn = aws_sdk_sns::Client::new(config)
        .create_topic()
        .name(topic)
        .send()
        .await
        .expect("CreateTopic")
        .topic_arn
        .unwrap();
    let queue_url = subscribe_queue(config, &topic_arn, queue, None).await;
    (topic_arn, queue_url)
}

/// A new SQS queue (a dead-letter queue, a subscriber); its URL.
pub async fn create_queue(config: &aws_config::SdkConfig, name: &str) -> String {
    aws_sdk_sqs::Client::new(config)
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("CreateQueue")
        .queue_url
        .unwrap()
}

/// A new SQS queue subscribed to the topic, with a subscription filter policy (on message
/// attributes) if given. Returns the queue URL.
pub async fn subscribe_queue(
    config: &aws_config::SdkConfig,
    topic_arn: &str,
    queue: &str,
    filter_policy: Option<&str>,
) -> String {
    let sqs = aws_sdk_sqs::Client::new(config);
    let queue_url = create_queue(config, queue).await;
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes()
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("queue ARN");
    let mut subscribe = aws_sdk_sns::Client::new(config)
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn);
    if let Some(policy) = filter_policy {
        subscribe = subscribe.attributes("FilterPolicy", policy);
    }
    subscribe.send().await.expect("Subscribe");
    queue_url
}

/// An IAM role in moto (Lambda's CreateFunction requires one that exists). IAM is called with a
/// raw query request: the project has no IAM SDK, and moto routes by the credential scope.
pub async fn create_role(endpoint: &str, name: &str) -> String {
    // Blocking I/O on a loopback socket: quick, and keeps the harness free of an HTTP client.
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let body = format!(
        "Action=CreateRole&Version=2010-05-08&RoleName={name}&AssumeRolePolicyDocument={}",
        urlencode(policy)
    );
    let mut s = TcpStream::connect(endpoint.trim_start_matches("http://")).unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: local\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20261125/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "CreateRole: {out}");
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Registers a Fargate task definition of `family` running `image` (one container, `app`);
/// `arch` is its `runtimePlatform.cpuArchitecture` (`None`: unset, which ECS treats as X86_64).
/// Its ARN.
pub async fn fargate_task_definition(
    ecs: &aws_sdk_ecs::Client,
    family: &str,
    image: &str,
    arch: Option<aws_sdk_ecs::types::CpuArchitecture>,
) -> String {
    use aws_sdk_ecs::types::{Compatibility, ContainerDefinition, RuntimePlatform};
    ecs.register_task_definition()
        .family(family)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .set_runtime_platform(arch.map(|a| RuntimePlatform::builder().cpu_architecture(a).build()))
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image(image)
                .essential(true)
                .build(),
        )
        .send()
        .await
        .expect("RegisterTaskDefinition")
        .task_definition
        .and_then(|t| t.task_definition_arn)
        .unwrap()
}

/// An ECS service on Fargate in `cluster` running `image`; `arch` is the task definition's
/// `runtimePlatform.cpuArchitecture` (`None`: unset, which ECS treats as X86_64).
pub async fn ecs_service(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
    image: &str,
    arch: Option<aws_sdk_ecs::types::CpuArchitecture>,
) {
    ecs.create_cluster()
        .cluster_name(cluster)
        .send()
        .await
        .expect("CreateCluster");
    let td = fargate_task_definition(ecs, service, image, arch).await;
    ecs.create_service()
        .cluster(cluster)
        .service_name(service)
        .task_definition(td)
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .desired_count(1)
        .send()
        .await
        .expect("CreateService");
}

/// A Lambda function with `PackageType: Image`.
pub async fn lambda_image_function(
    lambda: &aws_sdk_lambda::Client,
    role: &str,
    name: &str,
    image: &str,
    arch: aws_sdk_lambda::types::Architecture,
) {
    lambda
        .create_function()
        .function_name(name)
        .package_type(aws_sdk_lambda::types::PackageType::Image)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .image_uri(image)
                .build(),
        )
        .role(role)
        .architectures(arch)
        .send()
        .await
        .expect("CreateFunction");
}

/// Creates the S3 bucket `name` (the guard's state bucket: alert claims, consumer index).
pub async fn state_bucket(config: &aws_config::SdkConfig, name: &str) {
    use ecr_arch_guard::aws::s3_objects::S3Objects;
    use ecr_arch_guard::aws::trust::TrustRoots;
    let objects = S3Objects::new(config, name, TrustRoots::Bundled).unwrap();
    let created = objects
        .send("PUT", "", "", &[], bytes::Bytes::new(), "s3:CreateBucket")
        .await
        .unwrap();
    assert_eq!(created.status, 200, "CreateBucket {name}");
}
