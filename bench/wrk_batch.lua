-- wrk script: POST Centrifugo /api/batch bodies of 100 publishes.
--
--   wrk -t2 -c4 -d10s -s bench/wrk_batch.lua http://127.0.0.1:PORT/api/batch -- MODE ARGS... KEY
--
-- prebuilt DIR K KEY:  rotate over DIR/body-0.json .. DIR/body-(K-1).json (made by
--                      bench/gen.py wrk), sent as they are: no client work, no keys.
-- keyed FILE KEY:      the bodies of FILE (bench/gen.py wrkkeyed, one per line): the
--                      same publishes, each with a unique idempotency key like
--                      cent-run's, pre-built too. Thread t sends lines t, t+T, ...
--                      once each: a key sent twice would be answered from the
--                      server's idempotency cache instead of publishing, so running
--                      out of bodies is counted ("wrapped: N") and fails the bench.
-- KEY  the X-API-Key.
--
-- Every response is checked: a non-200 status or a body with "error" in it is
-- counted, and done() prints "bad responses: N" (the script fails the run on N > 0).

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local bodies, nbodies
local counter = 0
bad = 0
wrapped = 0

function init(args)
  local mode = args[1]
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  bodies = {}
  if mode == "prebuilt" then
    wrk.headers["X-API-Key"] = args[4]
    for b = 0, tonumber(args[3]) - 1 do
      local f = assert(io.open(args[2] .. "/body-" .. b .. ".json", "rb"))
      bodies[#bodies + 1] = wrk.format(nil, nil, nil, f:read("*a"))
      f:close()
    end
  elseif mode == "keyed" then
    wrk.headers["X-API-Key"] = args[3]
    local nthreads = tonumber(args[4])
    local n = 0
    for line in io.lines(args[2]) do
      if n % nthreads == id then
        bodies[#bodies + 1] = wrk.format(nil, nil, nil, line)
      end
      n = n + 1
    end
  else
    error("MODE must be prebuilt or keyed")
  end
  nbodies = #bodies
end

function request()
  counter = counter + 1
  if counter > nbodies then
    wrapped = wrapped + 1
  end
  return bodies[((counter - 1) % nbodies) + 1]
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"error"', 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total, wraps = 0, 0
  for _, t in ipairs(threads) do
    total = total + (t:get("bad") or 0)
    wraps = wraps + (t:get("wrapped") or 0)
  end
  io.write(string.format("bad responses: %d\n", total))
  io.write(string.format("wrapped: %d\n", wraps))
end
