-- wrk script of the benchmark: `wrk ... -s bench/wrk.lua <url> -- <METHOD> [cookie-file]`
-- Without a cookie file, the session cookie (if any) is given with -H "Cookie: ...": every
-- connection sends the same cookie, as a browser would. With a cookie file (one `Cookie:` value a
-- line), requests take the cookies in turn: many clients, one session each.
-- done() prints one JSON line that bench/run.ts reads.
local requests
local n = 0
local i = 0

init = function(args)
  if args[1] ~= nil then wrk.method = args[1] end
  requests = {}
  if args[2] == nil then
    n = 1
    requests[1] = wrk.format()
  else
    for line in io.lines(args[2]) do
      local headers = {}
      for k, v in pairs(wrk.headers) do headers[k] = v end
      headers["Cookie"] = line
      n = n + 1
      requests[n] = wrk.format(nil, nil, headers)
    end
  end
end

-- every configuration goes through this function, so that the client does the same work for each
request = function()
  i = i % n + 1
  return requests[i]
end

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
