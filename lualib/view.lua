-- view.lua: defensive access to request bodies.
--
-- In the engine, ev.body, ev.pod_spec and the other JSON fields are views:
-- userdata whose objects and arrays are indexed like tables (v.spec, v[1]),
-- measured with # and walked with pairs()/ipairs(); scalars come back as plain
-- Lua strings, numbers and booleans, JSON null as nil.  In the Lua tests the
-- same bodies are plain tables.  A body is whatever the client sent, so any
-- field may be missing or of another JSON type than the schema says.  These
-- helpers never raise on such input:
--
--     view.node(x)           -> x when it is an object or array (table or
--                               userdata), else nil
--     view.get(x, k1, k2...) -> x[k1][k2]..., nil as soon as a step is not an
--                               object/array or the key is missing
--     view.str(x)            -> x when it is a string, else nil
--     view.list(x)           -> a plain Lua list {value = element, index = i}
--                               of the elements of the JSON array x that are
--                               objects or arrays (others are left out); empty
--                               when x is not an array
--     view.text(x[, max])    -> a short printable form of a string for messages
--                               (control characters replaced, cut at max = 120)
--
-- Indexing a string would reach the string library (("x").len is a function)
-- and indexing a number or boolean raises, hence the type checks.

local view = {}

local function node(x)
  local t = type(x)
  if t == "table" or t == "userdata" then return x end
  return nil
end
view.node = node

function view.get(x, ...)
  for i = 1, select("#", ...) do
    if node(x) == nil then return nil end
    local k = select(i, ...)
    x = x[k]
  end
  return x
end

function view.str(x)
  if type(x) == "string" then return x end
  return nil
end

-- Elements 1..#x of an array.  # is the element count for an array view and
-- a sequence's length for a plain table; a JSON null inside the array reads as
-- nil and is skipped without ending the walk.  An object view answers nil for
-- integer keys, so nothing is returned for an object.
function view.list(x)
  local out = {}
  if node(x) == nil then return out end
  for i = 1, #x do
    local v = x[i]
    if node(v) ~= nil then
      out[#out + 1] = { value = v, index = i }
    end
  end
  return out
end

function view.text(s, max)
  max = max or 120
  if type(s) ~= "string" then
    if s == nil then return nil end
    s = tostring(s)
  end
  s = s:gsub("[%c]", "?")
  if #s > max then s = s:sub(1, max) .. "..." end
  return s
end

return view
