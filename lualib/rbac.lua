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
--         kind ServiceAccount named "default" (any namespace), kind User
--         named "system:serviceaccount:<namespace>:default" (the user name the
--         service account's tokens authenticate as), or kind Group
--         system:serviceaccounts / system:serviceaccounts:<namespace> (groups
--         every default service account belongs to)
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
--     rbac.memory_api()             -> the same plus delete, and for roles and
--                                   clusterroles too (what rbac.remember follows)
--     rbac.is_bootstrap(ev, body)   -> the API server (system:apiserver) writing
--                                   one of its built-in system:* bindings
--     rbac.is_admin_rules(rules)    -> a PolicyRule grants every verb on every
--                                   resource of "*" or the core group, without
--                                   resourceNames
--     rbac.remember(ev)             -> records a role's admin-ness or a binding's
--                                   roleRef in the RBAC memory (state tables
--                                   rbac_roles, rbac_bindings; deletes remove)
--     rbac.admin_role_of(ev, body)  -> description of the admin role a binding
--                                   write grants (roleRef from the body, else
--                                   from the memory), or nil
--     rbac.binding_write(ev)        -> admin_role_of and remember in one pass
--
-- Kinds and names are compared exactly (Kubernetes treats them
-- case-sensitively).

local view = require("view")
local scope = require("scope")

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

-- The calls the RBAC memory follows: writes and deletes of roles,
-- clusterroles, rolebindings and clusterrolebindings.
function rbac.memory_api()
  local api = {}
  for _, r in ipairs({ "roles", "clusterroles", "rolebindings", "clusterrolebindings" }) do
    for _, verb in ipairs({ "create", "update", "patch", "delete" }) do
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
local SA_GROUP_NS = "^system:serviceaccounts:[^:]+$"

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
  -- every service account of the cluster, or of one namespace: the default
  -- ones are members like any other
  if kind == "Group" and (name == "system:serviceaccounts" or name:match(SA_GROUP_NS)) then
    return true, "Group " .. text(name) .. " (which holds the default service account)"
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

-- ---- bootstrap ---------------------------------------------------------

-- The API server creates (and reconciles) its built-in system:* roles and
-- bindings itself at start-up, as user system:apiserver; one of them,
-- system:public-info-viewer, is bound to system:unauthenticated on purpose.
function rbac.is_bootstrap(ev, body)
  if ev.username ~= "system:apiserver" then return false end
  local n = str(get(body, "metadata", "name")) or str(ev.name)
  return n ~= nil and n:sub(1, 7) == "system:"
end

-- ---- admin-equivalent rules -----------------------------------------------

local function contains(arr, want)
  if view.node(arr) == nil then return false end
  for i = 1, #arr do
    if arr[i] == want then return true end
  end
  return false
end

-- A PolicyRule grants everything when it allows every verb on every
-- resource of every API group, or of the core group (which alone holds
-- pods, secrets and service accounts: enough to become anyone), without
-- naming particular objects (resourceNames).
local function admin_rule(r)
  if not (contains(get(r, "verbs"), "*") and contains(get(r, "resources"), "*")) then
    return false
  end
  local groups = get(r, "apiGroups")
  if not (contains(groups, "*") or contains(groups, "")) then return false end
  local names = get(r, "resourceNames")
  return view.node(names) == nil or #names == 0
end

function rbac.is_admin_rules(rules)
  for _, item in ipairs(list(rules)) do
    if admin_rule(item.value) then return true end
  end
  return false
end

-- ---- RBAC memory ---------------------------------------------------------
--
-- What the log shows of Roles, ClusterRoles and bindings, kept in two state
-- tables (bounded, no expiry, saved with --state; per cluster, as every
-- state table is):
--   rbac_roles     role id hash -> 1 (admin-equivalent rules) | 0 (not)
--   rbac_bindings  binding (kind, namespace, name) -> hash of its roleRef
-- A role is identified as "ClusterRole//NAME" or "Role/NAMESPACE/NAME"; the
-- tables hold numbers only, so a binding keeps the 53-bit FNV-1a hash of its
-- role's id, and roles are keyed by that hash.

local roles_t = kguard.table("rbac_roles", { max_entries = 100000, ttl = 0 })
local bindings_t = kguard.table("rbac_bindings", { max_entries = 100000, ttl = 0 })

local byte = string.byte

local function hash53(s)
  local h = 0xcbf29ce484222325
  for i = 1, #s do
    h = (h ~ byte(s, i)) * 0x100000001b3
  end
  return h & 0x1FFFFFFFFFFFFF
end

local function role_hash(kind, ns, name)
  return hash53(kind .. "/" .. (kind == "Role" and (ns or "") or "") .. "/" .. name)
end

local function role_key(ev, h)
  return scope.key(ev, "role", h)
end

local function object_name(ev, body)
  return str(get(body, "metadata", "name")) or str(ev.name)
end

local function object_ns(ev, body)
  return str(get(body, "metadata", "namespace")) or str(ev.namespace)
end

local function binding_key(ev, body)
  local name = object_name(ev, body)
  if name == nil then return nil end
  local ns = ev.resource == "rolebindings" and object_ns(ev, body) or ""
  return scope.key(ev, KINDS[ev.resource], ns, name)
end

-- Does the event carry the whole object?  create/update do; a patch only
-- when its responseObject was logged (RequestResponse level).
local function whole(ev)
  return ev.verb ~= "patch" or ev.response_object ~= nil
end

-- rbac.remember(ev): record a successful write or delete of a Role,
-- ClusterRole, RoleBinding or ClusterRoleBinding.  Dry runs are the caller's
-- to leave out.  A partial patch can only mark a role admin (it may add a
-- rule; what it leaves out is unknown); deletecollection is not followed.
function rbac.remember(ev)
  local res, body = ev.resource, ev.body
  if body == nil and ev.verb ~= "delete" then return end -- Metadata level: nothing seen
  if res == "roles" or res == "clusterroles" then
    local name = object_name(ev, body)
    if name == nil then return end
    local kind = res == "roles" and "Role" or "ClusterRole"
    local key = role_key(ev, role_hash(kind, object_ns(ev, body), name))
    if ev.verb == "delete" then
      roles_t:remove(key)
    elseif rbac.is_admin_rules(get(body, "rules")) then
      roles_t:set(key, 1)
    elseif whole(ev) then
      roles_t:set(key, 0)
    end
  elseif KINDS[res] then
    local key = binding_key(ev, body)
    if key == nil then return end
    if ev.verb == "delete" then
      bindings_t:remove(key)
      return
    end
    local kind, role = rbac.role_ref(body)
    if kind and role then
      bindings_t:set(key, role_hash(kind, object_ns(ev, body), role))
    end
  end
end

-- The admin role a binding write grants, as a description, or nil:
--   - roleRef in the body: ClusterRole cluster-admin or admin (built in);
--     a role the log showed with admin-equivalent rules; a Role named admin
--     or cluster-admin whose rules were never seen;
--   - no roleRef (a patch logged at Request level; roleRef is immutable):
--     the roleRef recorded for this binding, judged the same way, else the
--     built-in ClusterRoleBinding "cluster-admin".
local function judge_role(ev, kind, ns, name, h)
  local flag = roles_t:get(role_key(ev, h))
  if kind == "ClusterRole" and rbac.ADMIN_ROLES[name] then return "ClusterRole " .. name end
  if flag == 1 then
    return text(kind, 63) .. " " .. text(name) .. " (seen with admin-equivalent rules)"
  end
  if flag == nil and rbac.ADMIN_ROLES[name] then return text(kind, 63) .. " " .. text(name) end
  return nil
end

-- rbac.binding_write(ev) -> rbac.admin_role_of(ev, ev.body), and the binding's
-- roleRef recorded (what rbac.remember does), with the roleRef read and
-- hashed once.
function rbac.binding_write(ev)
  local body = ev.body
  if body == nil then return nil end
  local kind, name = rbac.role_ref(body)
  if not (kind and name) then return rbac.admin_role_of(ev, body) end
  local ns = object_ns(ev, body)
  local h = role_hash(kind, ns, name)
  local key = binding_key(ev, body)
  if key then bindings_t:set(key, h) end
  return judge_role(ev, kind, ns, name, h)
end

function rbac.admin_role_of(ev, body)
  local ns = object_ns(ev, body)
  local kind, name = rbac.role_ref(body)
  if kind and name then return judge_role(ev, kind, ns, name, role_hash(kind, ns, name)) end
  if get(body, "roleRef") ~= nil then return nil end
  local key = binding_key(ev, body)
  local h = key and bindings_t:get(key)
  h = h and math.tointeger(h)
  if h then
    for _, cand in ipairs({ { "ClusterRole", "cluster-admin" }, { "ClusterRole", "admin" },
                            { "Role", "admin" }, { "Role", "cluster-admin" } }) do
      if h == role_hash(cand[1], ns, cand[2]) then
        return judge_role(ev, cand[1], ns, cand[2], h)
      end
    end
    if roles_t:get(role_key(ev, h)) == 1 then
      return "its role (seen with admin-equivalent rules)"
    end
    return nil
  end
  local role = rbac.admin_role(body, ev.resource, ev.name)
  return role and ("ClusterRole " .. role) or nil
end

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
