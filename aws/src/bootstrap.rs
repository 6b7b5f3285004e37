//! What every function's `main` is: read settings, build clients and the handler once ([`build`]),
//! then serve ([`run`]).

use aws_config::SdkConfig;
use eks_remedy_pipeline::function::{Function, FunctionId, Invocation, Serve};
use eks_remedy_pipeline::handlers::analyzer::BundleAnalyzer;
use eks_remedy_pipeline::handlers::collector::Collector;
use eks_remedy_pipeline::handlers::ebs::EbsAlarmWatcher;
use eks_remedy_pipeline::handlers::interactivity::SlackInteractivity;
use eks_remedy_pipeline::handlers::notifier::{self, Notifier};
use eks_remedy_pipeline::handlers::remediator::{Remediator, RemedyApis};
use eks_remedy_pipeline::handlers::scaleup::ScaleUpWatcher;
use eks_remedy_pipeline::handlers::throttle::ThrottleWatcher;
use eks_remedy_pipeline::remedy::RemedySettings;
use eks_remedy_pipeline::{metrics, telemetry, CollectionMethod, Config, HandlerError};

/// A required environment variable.
pub fn env(name: &str) -> Result<String, HandlerError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| HandlerError::Config(format!("environment variable {name} is not set")))
}

/// The pipeline settings from the environment.
pub fn pipeline_config() -> Result<Config, HandlerError> {
    Config::from_env(|k| std::env::var(k).ok())
}

/// SDK clients built from one shared configuration.
pub struct Clients {
    /// The loaded configuration.
    pub sdk: SdkConfig,
}

impl Clients {
    /// Loads the configuration (see [`crate::load_config`]).
    pub async fn load() -> Clients {
        Clients {
            sdk: crate::load_config().await,
        }
    }
    /// EC2 adapter.
    pub fn ec2(&self) -> crate::ec2::Ec2 {
        crate::ec2::Ec2::new(aws_sdk_ec2::Client::new(&self.sdk))
    }
    /// EKS adapter.
    pub fn eks(&self) -> crate::eks::Eks {
        crate::eks::Eks::new(aws_sdk_eks::Client::new(&self.sdk))
    }
    /// DynamoDB store on `TABLE_NAME`.
    pub fn store(&self) -> Result<crate::store::Store, HandlerError> {
        Ok(crate::store::Store::new(
            aws_sdk_dynamodb::Client::new(&self.sdk),
            env("TABLE_NAME")?,
        ))
    }
    /// Collection queue at `COLLECTION_QUEUE_URL`.
    pub fn queue(&self) -> Result<crate::queue::Queue, HandlerError> {
        Ok(crate::queue::Queue::new(
            aws_sdk_sqs::Client::new(&self.sdk),
            env("COLLECTION_QUEUE_URL")?,
        ))
    }
    /// SSM runner: Run Command with the document named by `COLLECTION_DOCUMENT` (required for
    /// that method), or the automation with the role in `AUTOMATION_ROLE_ARN` (optional: the
    /// template sets it empty unless CollectionMethod=automation).
    pub fn ssm(&self, cfg: &Config) -> Result<crate::ssm::Ssm, HandlerError> {
        let client = aws_sdk_ssm::Client::new(&self.sdk);
        Ok(match cfg.method {
            CollectionMethod::RunCommand => crate::ssm::Ssm::run_command(
                client,
                crate::objects::client(&self.sdk),
                env("COLLECTION_DOCUMENT")?,
            ),
            CollectionMethod::Automation => {
                crate::ssm::Ssm::automation(client, env("AUTOMATION_ROLE_ARN").ok())
            }
        })
    }
    /// Auto Scaling lifecycle adapter.
    pub fn lifecycle(&self) -> crate::lifecycle::AutoScaling {
        crate::lifecycle::AutoScaling::new(aws_sdk_autoscaling::Client::new(&self.sdk))
    }
    /// S3 adapter.
    pub fn objects(&self) -> crate::objects::Objects {
        crate::objects::Objects::new(crate::objects::client(&self.sdk))
    }
    /// The notifier's store on `TABLE_NAME`.
    pub fn views(&self) -> Result<crate::views::Views, HandlerError> {
        Ok(crate::views::Views::new(
            aws_sdk_dynamodb::Client::new(&self.sdk),
            env("TABLE_NAME")?,
        ))
    }
    /// The chat targets the environment configures (see [`crate::chat`]); secrets are read on
    /// first use.
    pub fn chat(&self) -> Result<crate::chat::ChatTargets, HandlerError> {
        Ok(crate::chat::ChatTargets::new(
            aws_sdk_ssm::Client::new(&self.sdk),
            aws_sdk_sns::Client::new(&self.sdk),
            crate::chat::configured(|k| std::env::var(k).ok())?,
        ))
    }
    /// Findings publisher on `FINDINGS_BUS`.
    pub fn publisher(&self) -> Result<crate::publish::Publisher, HandlerError> {
        Ok(crate::publish::Publisher::new(
            aws_sdk_eventbridge::Client::new(&self.sdk),
            env("FINDINGS_BUS")?,
        ))
    }
}

/// Builds a function's handler with its adapters: the construction column of the function table
/// ([`eks_remedy_pipeline::function::FUNCTIONS`]), one arm per [`FunctionId`].
pub fn build(
    id: FunctionId,
    clients: &Clients,
    cfg: Config,
) -> Result<Box<dyn Serve>, HandlerError> {
    let spec = id.spec();
    Ok(match id {
        FunctionId::ThrottleWatcher => Box::new(Function {
            spec,
            handler: ThrottleWatcher::new(
                clients.ec2(),
                clients.eks(),
                clients.store()?,
                clients.queue()?,
                cfg,
            ),
        }),
        FunctionId::ScaleUpWatcher => Box::new(Function {
            spec,
            handler: ScaleUpWatcher::new(
                clients.ec2(),
                clients.eks(),
                clients.store()?,
                clients.queue()?,
                clients.lifecycle(),
                clients.publisher()?,
                cfg,
            ),
        }),
        FunctionId::EbsAlarmWatcher => Box::new(Function {
            spec,
            handler: EbsAlarmWatcher::new(clients.ec2(), clients.store()?, clients.queue()?, cfg),
        }),
        FunctionId::Collector => Box::new(Function {
            spec,
            handler: Collector::new(clients.ssm(&cfg)?, clients.store()?, clients.objects(), cfg)?,
        }),
        FunctionId::BundleAnalyzer => {
            let (max_bytes, max_ratio) = (cfg.max_bundle_bytes, cfg.max_inflation_ratio);
            Box::new(Function {
                spec,
                handler: BundleAnalyzer::new(
                    clients.objects(),
                    clients.ec2(),
                    clients.eks(),
                    clients.store()?,
                    clients.publisher()?,
                    Default::default(),
                )?
                .with_size_limits(max_bytes, max_ratio),
            })
        }
        FunctionId::Remediator => {
            let settings = RemedySettings::from_env(|k| std::env::var(k).ok())?;
            let ledger = crate::remedy::ledger::Ledger::new(
                aws_sdk_dynamodb::Client::new(&clients.sdk),
                env("TABLE_NAME")?,
                // Audit records, approvals and claims are kept this long (a quarter covers the
                // longest quota request follow-up and a review afterwards).
                90,
            );
            Box::new(Function {
                spec,
                handler: Remediator::new(
                    RemedyApis {
                        quotas: crate::remedy::quotas::Quotas::new(
                            aws_sdk_servicequotas::Client::new(&clients.sdk),
                        ),
                        addons: crate::remedy::addons::Addons::new(aws_sdk_eks::Client::new(
                            &clients.sdk,
                        )),
                        volumes: crate::remedy::volumes::Volumes::new(aws_sdk_ec2::Client::new(
                            &clients.sdk,
                        )),
                        support: crate::remedy::support::Support::new(&clients.sdk),
                        instances: clients.ec2(),
                    },
                    ledger,
                    clients.objects(),
                    clients.publisher()?,
                    clients.store()?,
                    clients.eks(),
                    settings,
                ),
            })
        }
        FunctionId::SlackInteractivity => {
            let approvers = RemedySettings::from_env(|k| std::env::var(k).ok())?.approvers;
            let table = env("TABLE_NAME")?;
            Box::new(Function {
                spec,
                handler: SlackInteractivity::new(
                    crate::interactivity::RemedyQueue::new(
                        aws_sdk_sqs::Client::new(&clients.sdk),
                        env("REMEDY_QUEUE_URL")?,
                    ),
                    crate::interactivity::SecretParameter::new(
                        aws_sdk_ssm::Client::new(&clients.sdk),
                        env("SLACK_SIGNING_SECRET_PARAM")?,
                    ),
                    std::sync::Arc::new(crate::interactivity::SeenInTable::new(
                        aws_sdk_dynamodb::Client::new(&clients.sdk),
                        table,
                    )),
                    &approvers,
                ),
            })
        }
        FunctionId::Notifier => Box::new(Function {
            spec,
            handler: Notifier::new(
                clients.views()?,
                clients.chat()?,
                notifier::Settings::from_env(|k| std::env::var(k).ok())?,
            )
            .with_presigner(clients.objects()),
        }),
    })
}

/// A function's whole `main`: settings and clients once, then every invocation through
/// [`eks_remedy_pipeline::function::serve`]. A missing setting ends the process at once, naming it.
pub async fn run(id: FunctionId) -> Result<(), lambda_runtime::Error> {
    let spec = id.spec();
    telemetry::init(spec.name)?;
    let namespace = metrics::namespace(|k| std::env::var(k).ok());
    let clients = Clients::load().await;
    let function = build(id, &clients, pipeline_config()?)?;
    let (function, namespace) = (&*function, namespace.as_str());
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            let ctx = &event.context;
            let inv = Invocation::from_arn(&ctx.request_id, &ctx.invoked_function_arn)
                .of(spec, namespace);
            let answer = function.serve(event.payload, &inv).await;
            // Metrics are lines on stdout (EMF): Lambda turns them into CloudWatch metrics.
            inv.flush(&metrics::Stdout);
            answer.map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
