-- wrk script for the benches (common.py passes it with -s): counts every response whose
-- status is not 2xx. wrk's own "Non-2xx or 3xx responses" line only counts statuses >= 400,
-- so a redirect would otherwise pass as a success.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non_2xx = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("non_2xx")
  end
  io.write(string.format("bench non-2xx responses: %d\n", total))
end
