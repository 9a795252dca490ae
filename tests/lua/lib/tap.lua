-- Minimal TAP producer for the Lua unit tests (tests/lua/*.lua).
-- Plan is printed at the end (done); the exit status is 1 when a test failed.

local T = { n = 0, failed = 0 }

local function diag(msg)
  for line in (tostring(msg) .. "\n"):gmatch("([^\n]*)\n") do
    io.stdout:write("# ", line, "\n")
  end
end
T.diag = diag

function T.ok(cond, name, why)
  T.n = T.n + 1
  local line = (cond and "ok " or "not ok ") .. T.n .. (name and (" - " .. name:gsub("[\r\n#]", " ")) or "")
  io.stdout:write(line, "\n")
  if not cond then
    T.failed = T.failed + 1
    if why ~= nil then diag(why) end
  end
  return cond and true or false
end

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

function T.is(got, want, name)
  return T.ok(got == want, name, "     got: " .. show(got) .. "\nexpected: " .. show(want))
end

-- Plain-text (not pattern) substring check.
function T.contains(s, part, name)
  return T.ok(type(s) == "string" and s:find(part, 1, true) ~= nil, name,
    "string: " .. show(s) .. "\nlacks: " .. show(part))
end

-- Shallow list equality (order matters).
function T.same_list(got, want, name)
  local why
  if type(got) ~= "table" then
    why = "not a table: " .. show(got)
  elseif #got ~= #want then
    why = "length " .. #got .. ", expected " .. #want
  else
    for i = 1, #want do
      if got[i] ~= want[i] then
        why = "item " .. i .. ": " .. show(got[i]) .. ", expected " .. show(want[i])
        break
      end
    end
  end
  return T.ok(why == nil, name, why)
end

-- Sorted keys of a table, joined with ",".
function T.keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = tostring(k) end
  table.sort(ks)
  return table.concat(ks, ",")
end

-- Calls fn; the test passes when it raises an error whose message contains
-- every string in `parts` (plain find).  Returns the message.
function T.throws(fn, parts, name)
  local okc, err = pcall(fn)
  if okc then
    T.ok(false, name, "no error raised")
    return nil
  end
  local msg = tostring(err)
  for _, p in ipairs(type(parts) == "table" and parts or { parts }) do
    if not msg:find(p, 1, true) then
      T.ok(false, name, "error: " .. msg .. "\nlacks: " .. show(p))
      return msg
    end
  end
  T.ok(true, name)
  return msg
end

function T.lives(fn, name)
  local okc, err = pcall(fn)
  T.ok(okc, name, not okc and ("error: " .. tostring(err)) or nil)
  return okc, err
end

function T.done()
  io.stdout:write("1..", T.n, "\n")
  io.stdout:flush()
  os.exit(T.failed == 0 and 0 or 1)
end

return T
