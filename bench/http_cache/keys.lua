-- SPDX-License-Identifier: MIT
-- wrk script: each thread cycles through its own NKEYS URLs (PATH?k=T-I),
-- so no two requests in flight share a URL and a cache cannot answer
-- several clients from one origin exchange.
--   wrk -s keys.lua URL -- PATH NKEYS
local threads = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function init(args)
  path = args[1]
  nkeys = tonumber(args[2])
  i = 0
end

function request()
  i = (i + 1) % nkeys
  return wrk.format(nil, path .. "?k=" .. tid .. "-" .. i)
end
