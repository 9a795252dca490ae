-- Attack (item 4, config): change a shared library from the config.
-- expect: refused read-only
string.find = function() return nil end
return { cluster = "demo" }
