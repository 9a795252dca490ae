-- kguard --config for the demo cluster of examples/audit.log: one file that says who the
-- cluster is, which lists to load, how loud each finding type is for whom, and what to
-- silence.  A plain Lua table; kguard checks every key (`./kguard check --config FILE`).
-- Relative paths are relative to this file.

return {
  -- Identity written into every finding (resource.eksClusterDetails, accountId, region).
  cluster    = "demo",
  account_id = "111122223333",
  region     = "eu-west-1",

  -- Threat lists: the example's sample lists, one directory up.
  tor_exits     = "../tor-exits.txt",
  malicious_ips = "../malicious-ips.txt",
  threat_lists  = { ["partner-feed"] = "../partner-feed.txt" },
  -- The sample lists hold documentation addresses (192.0.2.0/24, 198.51.100.0/24,
  -- 203.0.113.0/24, 2001:db8::/32), which threat lists leave out by default like every
  -- special-purpose range; match them as written.  Real feeds do not need this.
  literal_lists = true,

  -- Our CI runners: the in-cluster runner pods' subnet and the CI provider's egress NAT.
  -- The provider shares 203.0.113.240/28 with other tenants and the partner CERT lists the
  -- whole range; an address here is never matched against a threat list (trusted wins).
  trusted_ips = { "10.0.2.114", "203.0.113.241", "203.0.113.242" },

  -- Suppressed findings are kept, marked service.archived = true, in this file (appended).
  archive = "archived.jsonl",

  -- Print the updated form of a repeated finding at most every 10 minutes.
  publish_interval = 600,

  -- Global severity settings (exact types beat globs).  High = 8, Medium = 5, Low = 2.
  severity = {
    -- any use of the API from a Tor exit is an incident here, whatever the tactic
    ["*:Kubernetes/TorIPCaller"] = "High",
    -- nobody runs Kubeflow on this cluster
    ["Policy:Kubernetes/KubeflowDashboardExposed"] = "off",
  },

  -- Teams own namespaces (exact names or globs); the first team listed that owns a
  -- finding's namespace applies, and its settings beat the global ones.  Findings of a
  -- team carry kguard.team.  Cluster-scoped requests (nodes, ClusterRoleBindings, lists
  -- across all namespaces) belong to no team.
  teams = {
    {
      name = "payments",
      namespaces = { "payments", "payments-*" },
      severity = {
        -- payments' own tooling lists its pods and services all day; keep these quiet
        ["Discovery:Kubernetes/*"] = "Low",
        -- payments runs an internal dashboard behind an authenticating load balancer,
        -- reviewed by security (SEC-1422)
        ["Policy:Kubernetes/ExposedDashboard"] = "off",
      },
    },
    {
      name = "platform",
      namespaces = { "kube-system", "monitoring" },
      severity = {
        -- a shell in a system pod is a page for the platform on-call
        ["Execution:Kubernetes/ExecInKubeSystemPod"] = "High",
      },
    },
  },

  -- Suppression rules (GuardDuty filter form): attributes are dotted paths into the
  -- finding, arrays are searched element by element; different attributes must all
  -- hold, the values of one condition are alternatives.
  suppress = {
    {
      name = "ci-image-builders",
      description = "BuildKit runners of the CI system run privileged and mount the "
        .. "containerd socket; their images come only from our CI registry path.",
      criteria = {
        ["type"] = { equals = {
          "PrivilegeEscalation:Kubernetes/PrivilegedContainer",
          "Persistence:Kubernetes/ContainerWithSensitiveMount",
        } },
        ["resource.kubernetesDetails.kubernetesWorkloadDetails.containers.imagePrefix"] = {
          equals = { "registry.example.com/ci" },
        },
        ["resource.kubernetesDetails.kubernetesWorkloadDetails.namespace"] = {
          equals = { "ci" },
        },
      },
    },
    {
      name = "controller-created-pods",
      description = "Pods that the DaemonSet, ReplicaSet and Job controllers create repeat "
        .. "the spec of a workload whose own write is already reported, with the user who "
        .. "made it; keep the copies in the archive only.",
      criteria = {
        ["type"] = { equals = { "Persistence:Kubernetes/ContainerWithSensitiveMount" } },
        ["resource.kubernetesDetails.kubernetesUserDetails.username"] = {
          matches = { "system:serviceaccount:kube-system:*-controller" },
        },
        ["service.action.kubernetesApiCallAction.resource"] = { equals = { "pods" } },
      },
    },
  },
}
