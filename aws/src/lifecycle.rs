//! Auto Scaling: completing launch lifecycle actions; which cluster a group serves, from its tags.

use aws_sdk_autoscaling::types::Filter;
use aws_sdk_autoscaling::Client;
use eks_remedy_pipeline::ports::{GroupInfo, Lifecycle};
use eks_remedy_pipeline::PortError;

use crate::classify;

/// The adapter.
pub struct AutoScaling {
    client: Client,
}

impl AutoScaling {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        AutoScaling { client }
    }
}

/// Reads a group's cluster and node group from its tags (`None` when it has none of them).
pub fn group_info<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<GroupInfo> {
    let mut info = GroupInfo::default();
    let mut any = false;
    for (key, value) in tags {
        let named = key
            .strip_prefix("kubernetes.io/cluster/")
            .or_else(|| key.strip_prefix("k8s.io/cluster-autoscaler/"))
            .filter(|n| !n.is_empty() && *n != "enabled");
        match (key, named) {
            ("eks:cluster-name", _) => info.cluster = Some(value.to_string()),
            ("eks:nodegroup-name", _) => info.nodegroup = Some(value.to_string()),
            (_, Some(name)) if info.cluster.is_none() => info.cluster = Some(name.to_string()),
            _ => continue,
        }
        any = true;
    }
    any.then_some(info)
}

impl Lifecycle for AutoScaling {
    async fn group(&self, asg: &str) -> Result<Option<GroupInfo>, PortError> {
        let out = self
            .client
            .describe_tags()
            .filters(
                Filter::builder()
                    .name("auto-scaling-group")
                    .values(asg)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| classify("autoscaling", e))?;
        Ok(group_info(out.tags().iter().filter_map(|t| {
            Some((t.key()?, t.value().unwrap_or_default()))
        })))
    }

    async fn proceed(
        &self,
        asg: &str,
        hook: &str,
        token: &str,
        instance_id: &str,
    ) -> Result<(), PortError> {
        self.client
            .complete_lifecycle_action()
            .auto_scaling_group_name(asg)
            .lifecycle_hook_name(hook)
            .lifecycle_action_token(token)
            .instance_id(instance_id)
            .lifecycle_action_result("CONTINUE")
            .send()
            .await
            .map_err(|e| classify("autoscaling", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::group_info;

    #[test]
    fn group_tags_name_the_cluster() {
        let managed = group_info([
            ("eks:cluster-name", "prod"),
            ("eks:nodegroup-name", "payments"),
            ("kubernetes.io/cluster/prod", "owned"),
        ])
        .unwrap();
        assert_eq!(
            (managed.cluster.as_deref(), managed.nodegroup.as_deref()),
            (Some("prod"), Some("payments"))
        );
        let self_managed = group_info([
            ("k8s.io/cluster-autoscaler/enabled", "true"),
            ("k8s.io/cluster-autoscaler/dev", "owned"),
        ])
        .unwrap();
        assert_eq!(self_managed.cluster.as_deref(), Some("dev"));
        assert_eq!(group_info([("Name", "web")]), None);
    }
}
