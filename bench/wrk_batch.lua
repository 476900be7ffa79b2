-- wrk script: POST Centrifugo /api/batch bodies of 100 publishes.
--
--   wrk -t2 -c4 -d10s -s bench/wrk_batch.lua http://127.0.0.1:PORT/api/batch -- MODE DIR K KEY
--
-- MODE prebuilt: rotate over DIR/body-0.json .. DIR/body-(K-1).json (made by
--                bench/gen.py wrk), bytes sent as they are: no client work.
-- MODE keyed:    build each body at request time with the same publishes plus a
--                unique idempotency_key per command, the way cent-run sends them
--                (a fixed body would hit the server's idempotency cache instead
--                of publishing). K is the batch size here, DIR the channel count.
-- MODE dynamic: like keyed but without idempotency keys (diagnostic: separates
--                the cost of building bodies in Lua from the server's key work).
-- KEY  the X-API-Key.
--
-- Every response is checked: a non-200 status or a body with "error" in it is
-- counted, and done() prints "bad responses: N" (the script fails the run on N > 0).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local mode, bodies, nbodies, batch, nchan, tag
bad = 0

function init(args)
  mode = args[1]
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-API-Key"] = args[4]
  if mode == "prebuilt" then
    bodies = {}
    nbodies = tonumber(args[3])
    for b = 0, nbodies - 1 do
      local f = assert(io.open(args[2] .. "/body-" .. b .. ".json", "rb"))
      bodies[b + 1] = wrk.format(nil, nil, nil, f:read("*a"))
      f:close()
    end
  elseif mode == "keyed" or mode == "dynamic" then
    nchan = tonumber(args[2])
    batch = tonumber(args[3])
    tag = string.format("wrk-%d-%d", os.time(), id)
  else
    error("MODE must be prebuilt, keyed or dynamic")
  end
end

local parts = {}

function request()
  counter = counter + 1
  if mode == "prebuilt" then
    return bodies[(counter % nbodies) + 1]
  end
  local base = (counter * batch) % 20000
  for j = 1, batch do
    local i = base + j - 1
    if mode == "dynamic" then
      parts[j] = string.format('{"publish":{"channel":"bench-%d","data":{"n":%d,"text":"payload %d"}}}',
        i % nchan, i, i)
    else
      parts[j] = string.format(
      '{"publish":{"channel":"bench-%d","data":{"n":%d,"text":"payload %d"},"idempotency_key":"%s-%d-%d"}}',
      i % nchan, i, i, tag, counter, j)
    end
  end
  return wrk.format(nil, nil, nil,
    '{"commands":[' .. table.concat(parts, ",", 1, batch) .. '],"parallel":false}')
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"error"', 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do
    total = total + (t:get("bad") or 0)
  end
  io.write(string.format("bad responses: %d\n", total))
end
