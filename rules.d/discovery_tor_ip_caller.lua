-- Discovery:Kubernetes/TorIPCaller
-- Fires when a discovery API call (catalog.discovery) comes from an IP on the
-- Tor exit list (--tor-exits). Anonymous callers fire too.
return (require("apirule"){ -- parentheses: no tail call, so load errors name this file's line
  type = "Discovery:Kubernetes/TorIPCaller",
  tactic = "discovery",
  caller = "tor",
  severity = "Medium",
  title = "Cluster enumerated from a Tor exit node",
  description = "A Kubernetes API call that lists or reads pods, nodes, namespaces, workloads, services or "
    .. "RBAC objects, or asks which actions are permitted, came from a Tor exit node. Mapping a cluster "
    .. "while hiding one's origin is a typical first step before going after credentials or running code.",
  remediation = [[
1. Identify the caller in resource.kubernetesDetails.kubernetesUserDetails (username, groups, sessionName) and, on EKS, resource.accessKeyDetails.
2. If the username is system:anonymous, the cluster can be enumerated without credentials: list what anonymous may do with `kubectl auth can-i --list --as=system:anonymous --as-group=system:unauthenticated`, find the grants with `kubectl get clusterrolebindings,rolebindings -A -o wide | grep -E 'system:(anonymous|unauthenticated)'` and remove them.
3. Otherwise ask the owner whether they use Tor; if not, revoke the identity (IAM mapping or access entry and keys, client certificate, or service account).
4. Nothing was changed by this call, so look at what came next: requests by the same user or from these sourceIPs to secrets, pods/exec, new workloads or new bindings.
5. Drop Tor exit addresses in front of the API server, or restrict the endpoint to known CIDRs (on EKS: publicAccessCidrs or a private endpoint).]],
})
