//! SDK helpers over the shared moto server (`eks_remedy_tests::moto`): tables and nodes as the
//! pipeline expects them.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)] // shared by several test binaries

pub use eks_remedy_tests::moto::{moto, unique};

/// The SAM template as CloudFormation, translated offline by `infra/translate.py` (the resources,
/// roles and rules SAM generates included).
pub fn translated_template() -> serde_json::Value {
    let root = eks_remedy_tests::repo_root();
    let out = std::process::Command::new(root.join(".venv/bin/python"))
        .arg(root.join("infra/translate.py"))
        .arg(root.join("infra/template.yaml"))
        .output()
        .expect("run infra/translate.py (scripts/setup.sh installs the SAM translator)");
    assert!(
        out.status.success(),
        "translate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// One HTTP/1.0 request to a loopback URL, as a node's curl would send it: (status, body).
pub fn http(method: &str, url: &str, body: &[u8]) -> (u16, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "{method} /{path} HTTP/1.0\r\nHost: {host}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}

/// SDK configuration for moto.
pub async fn sdk() -> aws_config::SdkConfig {
    moto();
    eks_remedy_aws::load_config().await
}

/// Creates a DynamoDB table like the template's (key `pk`, TTL on `expires_at`, the notifier's
/// sparse index of watched views).
pub async fn table(sdk: &aws_config::SdkConfig) -> String {
    use aws_sdk_dynamodb::types::*;
    let name = unique("incidents");
    let c = aws_sdk_dynamodb::Client::new(sdk);
    let key = |name: &str, key_type| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .unwrap()
    };
    let string = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    c.create_table()
        .table_name(&name)
        .key_schema(key("pk", KeyType::Hash))
        .attribute_definitions(string("pk"))
        .attribute_definitions(string("watch"))
        .attribute_definitions(string("last_event"))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(eks_remedy_aws::views::QUIET_INDEX)
                .key_schema(key("watch", KeyType::Hash))
                .key_schema(key("last_event", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::Include)
                        .non_key_attributes("expires_at")
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    c.update_time_to_live()
        .table_name(&name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("expires_at")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    name
}

/// Launches an instance tagged as an EKS node of `cluster` (or untagged), returning (id, private IP).
pub async fn node(
    sdk: &aws_config::SdkConfig,
    cluster: Option<&str>,
    itype: &str,
) -> (String, String) {
    use aws_sdk_ec2::types::*;
    let c = aws_sdk_ec2::Client::new(sdk);
    let mut req = c
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .instance_type(InstanceType::from(itype));
    if let Some(cl) = cluster {
        req = req.tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Instance)
                .tags(Tag::builder().key("eks:cluster-name").value(cl).build())
                .tags(
                    Tag::builder()
                        .key("aws:autoscaling:groupName")
                        .value(format!("eks-{cl}-ng"))
                        .build(),
                )
                .build(),
        );
    }
    let out = req.send().await.unwrap();
    let i = &out.instances()[0];
    (
        i.instance_id().unwrap().to_string(),
        i.private_ip_address().unwrap().to_string(),
    )
}

/// Creates an SQS queue, returning (url, ARN).
pub async fn queue(sdk: &aws_config::SdkConfig, name: &str) -> (String, String) {
    use aws_sdk_sqs::types::QueueAttributeName;
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let url = sqs
        .create_queue()
        .queue_name(unique(name))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    (url, arn)
}

/// An automation execution as SSM (the moto extension) reports it.
pub async fn automation(
    sdk: &aws_config::SdkConfig,
    execution_id: &str,
) -> aws_sdk_ssm::types::AutomationExecution {
    aws_sdk_ssm::Client::new(sdk)
        .get_automation_execution()
        .automation_execution_id(execution_id)
        .send()
        .await
        .unwrap()
        .automation_execution
        .expect("execution")
}

/// Puts the shipped Monday scale-up sample bundle at `key`, as a node (or the runbook) would.
pub async fn upload_sample(sdk: &aws_config::SdkConfig, bucket: &str, key: &str) {
    let bundle = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../samples/eks_i-0abc12345def67890_2026-10-19_0812-UTC_0.7.9.tar.gz"),
    )
    .unwrap();
    eks_remedy_aws::objects::client(sdk)
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(bundle.into())
        .send()
        .await
        .unwrap();
}

/// A rule on `bus` with `pattern`, targeting a new SQS queue; returns the queue's URL.
pub async fn rule_to_queue(
    sdk: &aws_config::SdkConfig,
    bus: &str,
    rule: &str,
    pattern: &str,
) -> String {
    let events = aws_sdk_eventbridge::Client::new(sdk);
    let (url, arn) = queue(sdk, rule).await;
    events
        .put_rule()
        .name(rule)
        .event_bus_name(bus)
        .event_pattern(pattern)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(rule)
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    url
}

/// One call to the moto extension's test API. Reads exactly Content-Length bytes, with a timeout,
/// rather than waiting for the server to close the connection.
pub fn moto_api(method: &str, path: &str, body: &serde_json::Value) -> serde_json::Value {
    use std::io::{BufRead, BufReader, Read, Write};
    let host = moto().endpoint.trim_start_matches("http://").to_string();
    let body = if method == "GET" {
        String::new()
    } else {
        body.to_string()
    };
    let mut s = std::net::TcpStream::connect(&host).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        s,
        "{method} /moto-api/eks-remedy/{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut r = BufReader::new(s);
    let mut status = String::new();
    r.read_line(&mut status).unwrap();
    let mut length = 0;
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap();
            }
        }
    }
    let mut buf = vec![0; length];
    r.read_exact(&mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    assert!(status.contains(" 200 "), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap()
}

/// Sets an `ec2` quota's fields (`Value`, `Adjustable`, ...) in `region` through the moto extension.
pub fn set_quota(region: &str, code: &str, fields: serde_json::Value) {
    let mut body = serde_json::json!({"region": region, "ServiceCode": "ec2", "QuotaCode": code});
    body.as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    moto_api("POST", "quotas", &body);
}

/// An EKS cluster `name` (Kubernetes 1.30) in moto, with private endpoint access or not.
pub async fn eks_cluster(sdk: &aws_config::SdkConfig, name: &str, private_access: bool) {
    aws_sdk_eks::Client::new(sdk)
        .create_cluster()
        .name(name)
        .version("1.30")
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .endpoint_private_access(private_access)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// An empty Auto Scaling group (`name-*`, min and max 0) launching `itype` from its own launch
/// template, tagged with `tags` as EKS tags a node group's group. Returns its name.
pub async fn auto_scaling_group(
    sdk: &aws_config::SdkConfig,
    name: &str,
    itype: &str,
    tags: &[(&str, &str)],
) -> String {
    let lt = unique("lt");
    aws_sdk_ec2::Client::new(sdk)
        .create_launch_template()
        .launch_template_name(&lt)
        .launch_template_data(
            aws_sdk_ec2::types::RequestLaunchTemplateData::builder()
                .image_id("ami-12c6146b")
                .instance_type(aws_sdk_ec2::types::InstanceType::from(itype))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let group = unique(name);
    let mut req = aws_sdk_autoscaling::Client::new(sdk)
        .create_auto_scaling_group()
        .auto_scaling_group_name(&group)
        .launch_template(
            aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
                .launch_template_name(&lt)
                .build(),
        )
        .min_size(0)
        .max_size(0)
        .availability_zones("us-east-1a");
    for (k, v) in tags {
        req = req.tags(
            aws_sdk_autoscaling::types::Tag::builder()
                .key(*k)
                .value(*v)
                .resource_id(&group)
                .resource_type("auto-scaling-group")
                .propagate_at_launch(true)
                .build(),
        );
    }
    req.send().await.unwrap();
    group
}

/// The vpc-cni managed add-on v1.18.3-eksbuild.1 on `cluster`, with `configuration` if given.
pub async fn vpc_cni_addon(
    sdk: &aws_config::SdkConfig,
    cluster: &str,
    configuration: Option<&str>,
) {
    aws_sdk_eks::Client::new(sdk)
        .create_addon()
        .cluster_name(cluster)
        .addon_name("vpc-cni")
        .addon_version("v1.18.3-eksbuild.1")
        .set_configuration_values(configuration.map(str::to_string))
        .send()
        .await
        .unwrap();
}
