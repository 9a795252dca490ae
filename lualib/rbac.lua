-- rbac.lua: reading RoleBinding and ClusterRoleBinding bodies.
--
-- A binding (rbac.authorization.k8s.io/v1) has
--     roleRef  {apiGroup, kind = "ClusterRole" | "Role", name}
--     subjects [{kind = "User" | "Group" | "ServiceAccount", name, namespace,
--               apiGroup}]
-- The body comes from the request (create/update, or a patch, possibly
-- partial), so fields may be missing or of any type; nothing here raises.
--
--     rbac.ADMIN_ROLES              set of role names that grant admin rights:
--                                   cluster-admin (everything, cluster-wide) and
--                                   admin (everything in a namespace, incl.
--                                   roles and bindings there)
--     rbac.role_ref(body)           -> kind, name (strings or nil)
--     rbac.admin_role(body, resource, name)
--                                   -> the admin role's name, or nil.  When
--                                   roleRef is absent (a patch that only touches
--                                   subjects; roleRef cannot change after
--                                   creation) and the binding is the built-in
--                                   ClusterRoleBinding "cluster-admin" (name
--                                   from the body or the `name` argument, i.e.
--                                   ev.name), its role is known to be
--                                   cluster-admin.
--     rbac.subjects(body)           -> list of subject objects
--     rbac.is_default_sa(subject)   -> true, description | false
--         kind ServiceAccount named "default" (any namespace), or kind User
--         named "system:serviceaccount:<namespace>:default" (the user name the
--         service account's tokens authenticate as)
--     rbac.is_anonymous(subject)    -> true, description | false
--         kind User named "system:anonymous", or kind Group named
--         "system:unauthenticated"
--     rbac.default_sa_subjects(body, ns) / rbac.anonymous_subjects(body)
--                                   -> list of descriptions of the matching
--                                   subjects ('ServiceAccount kube-system/default')
--     rbac.describe_binding(body, resource, ns, name)
--                                   -> 'ClusterRoleBinding "x"' or
--                                   'RoleBinding "ns/x"'
--
--     rbac.writes()                 -> a fresh match.api list: create, update and
--                                   patch on rolebindings and clusterrolebindings
--
-- Kinds and names are compared exactly (Kubernetes treats them
-- case-sensitively).

local view = require("view")

local get, str, list, text = view.get, view.str, view.list, view.text

local rbac = {}

function rbac.writes()
  local api = {}
  for _, r in ipairs({ "rolebindings", "clusterrolebindings" }) do
    for _, verb in ipairs({ "create", "update", "patch" }) do
      api[#api + 1] = verb .. " " .. r
    end
  end
  return api
end

rbac.ADMIN_ROLES = { ["cluster-admin"] = true, admin = true }

-- The ClusterRoleBinding the API server creates at start-up, binding group
-- system:masters to ClusterRole cluster-admin.
rbac.BUILTIN_ADMIN_BINDING = "cluster-admin"

function rbac.role_ref(body)
  local ref = get(body, "roleRef")
  return str(get(ref, "kind")), str(get(ref, "name"))
end

function rbac.admin_role(body, resource, name)
  local _, role = rbac.role_ref(body)
  if role ~= nil then
    if rbac.ADMIN_ROLES[role] then return role end
    return nil
  end
  if get(body, "roleRef") ~= nil then return nil end -- a roleRef without a name string
  if resource == "clusterrolebindings" then
    local bname = str(get(body, "metadata", "name")) or str(name)
    if bname == rbac.BUILTIN_ADMIN_BINDING then return "cluster-admin" end
  end
  return nil
end

function rbac.subjects(body)
  local out = {}
  for _, item in ipairs(list(get(body, "subjects"))) do out[#out + 1] = item.value end
  return out
end

local SA_USER = "^system:serviceaccount:([^:]+):default$"

-- default_ns: the binding's namespace, used when a ServiceAccount subject
-- omits its own (the API server rejects that, but a patch may be partial).
function rbac.is_default_sa(s, default_ns)
  local kind, name = str(get(s, "kind")), str(get(s, "name"))
  if name == nil then return false end
  if kind == "ServiceAccount" and name == "default" then
    local ns = str(get(s, "namespace")) or str(default_ns)
    return true, "ServiceAccount " .. (ns and (text(ns, 63) .. "/") or "") .. "default"
  end
  if kind == "User" and name:match(SA_USER) then
    return true, "User " .. text(name)
  end
  return false
end

function rbac.is_anonymous(s)
  local kind, name = str(get(s, "kind")), str(get(s, "name"))
  if kind == "User" and name == "system:anonymous" then
    return true, "User system:anonymous"
  end
  if kind == "Group" and name == "system:unauthenticated" then
    return true, "Group system:unauthenticated"
  end
  return false
end

function rbac.default_sa_subjects(body, default_ns)
  local out = {}
  for _, s in ipairs(rbac.subjects(body)) do
    local yes, what = rbac.is_default_sa(s, default_ns)
    if yes then out[#out + 1] = what end
  end
  return out
end

function rbac.anonymous_subjects(body)
  local out = {}
  for _, s in ipairs(rbac.subjects(body)) do
    local yes, what = rbac.is_anonymous(s)
    if yes then out[#out + 1] = what end
  end
  return out
end

local KINDS = { clusterrolebindings = "ClusterRoleBinding", rolebindings = "RoleBinding" }

function rbac.describe_binding(body, resource, ns, name)
  local kind = KINDS[resource] or str(get(body, "kind")) or "binding"
  local n = str(get(body, "metadata", "name")) or str(name)
  local where = nil
  if kind ~= "ClusterRoleBinding" then
    where = str(get(body, "metadata", "namespace")) or str(ns)
  end
  kind = text(kind, 63)
  if n == nil then return kind end
  return string.format('%s "%s"', kind, (where and (text(where, 63) .. "/") or "") .. text(n, 253))
end

-- 'ClusterRole cluster-admin' / 'Role admin'
function rbac.describe_role(body, role)
  local kind = rbac.role_ref(body)
  return text(kind or "ClusterRole", 63) .. " " .. text(role)
end

return rbac
