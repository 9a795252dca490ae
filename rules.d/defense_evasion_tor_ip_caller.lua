-- DefenseEvasion:Kubernetes/TorIPCaller
-- Fires when a defense-evasion API call (catalog.defense_evasion) comes from an IP on the
-- Tor exit list (--tor-exits). Anonymous callers fire too.
return (require("apirule"){ -- parentheses: no tail call, so load errors name this file's line
  type = "DefenseEvasion:Kubernetes/TorIPCaller",
  tactic = "defense_evasion",
  caller = "tor",
  severity = "High",
  title = "Event records or cluster defenses changed from a Tor exit node",
  description = "A Kubernetes API call that deletes or edits events, removes or alters admission webhook "
    .. "configurations, or deletes network policies came from a Tor exit node. Such calls wipe the cluster's "
    .. "activity trail or switch off policy and traffic controls, and routing them through Tor suggests "
    .. "someone covering their tracks.",
  remediation = [[
1. Identify the caller in resource.kubernetesDetails.kubernetesUserDetails (username, groups, sessionName) and, on EKS, resource.accessKeyDetails.
2. If the username is system:anonymous, anonymous access is open as well: list what it may do with `kubectl auth can-i --list --as=system:anonymous --as-group=system:unauthenticated` and find the grants with `kubectl get clusterrolebindings,rolebindings -A -o wide | grep -E 'system:(anonymous|unauthenticated)'`; remove them.
3. Otherwise treat the identity as stolen and revoke it: IAM mapping or access entry and access keys, client certificate, or service account (delete and re-create it so its tokens stop working).
4. Restore what was changed: re-apply webhook configurations (`kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations`) and network policies (`kubectl get networkpolicies -A`) from source control and check the admission controller behind each webhook enforces again. Deleted events cannot be recovered; the audit log is now the record.
5. Review the audit log before and after this call for what it was meant to hide, and drop Tor exit addresses in front of the API server or restrict the endpoint to known CIDRs.]],
})
