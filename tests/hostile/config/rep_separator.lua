-- Attack (item 3, config): string.rep with a separator, sized past any memory.
-- expect: refused longer than
return { cluster = string.rep("demo", 2^40, "-") }
