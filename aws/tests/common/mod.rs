//! SDK helpers over the shared moto server (`eks_remedy_tests::moto`): tables and nodes as the
//! pipeline expects them.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)] // shared by several test binaries

pub use eks_remedy_tests::moto::{moto, unique};

/// SDK configuration for moto.
pub async fn sdk() -> aws_config::SdkConfig {
    moto();
    eks_remedy_aws::load_config().await
}

/// Creates a DynamoDB table like the template's (key `pk`, TTL on `expires_at`).
pub async fn table(sdk: &aws_config::SdkConfig) -> String {
    use aws_sdk_dynamodb::types::*;
    let name = unique("incidents");
    let c = aws_sdk_dynamodb::Client::new(sdk);
    c.create_table()
        .table_name(&name)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
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
