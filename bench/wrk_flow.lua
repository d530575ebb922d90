-- wrk script of `make bench`'s mixed workload: the guide's flow, looped by many partners at once. Run
-- with as many threads as connections (-t N -c N): each thread has one connection and is one partner
-- (its JWT from BENCH_TOKENS, its id from BENCH_PARTNERS, both comma-separated, one per thread), and
-- loops over the flow's steps, each request sent when the answer to the one before has come:
--   1 POST /workspaces                              a new workspace (5 seats; its id from its name)
--   2 POST /workspaces/{id}/users                   2 users (their ids read from the answer)
--   3 POST /workspaces/{id}/users/{user}/qr         a QR link for the first of them
--   4 POST /sandbox/v1/.../users/{user}/scan        the phone scans it (the control API): connected
--   5 GET  /workspaces/{id}                         the workspace's details
--   6 POST /workspaces/{id}/users/{user}/whatsapp/disconnect
--   7 GET  /workspaces/{id}/api-token               the Public API token
-- Every answer that is not 2xx is counted (and the partner starts over with a new workspace); done()
-- prints one WRKFLOW line with the counts beside wrk's own figures.
local tokens, partners = {}, {}
for t in string.gmatch(os.getenv("BENCH_TOKENS") or "", "[^,]+") do tokens[#tokens + 1] = t end
for p in string.gmatch(os.getenv("BENCH_PARTNERS") or "", "[^,]+") do partners[#partners + 1] = p end
local run = os.getenv("BENCH_RUN") or "r"  -- makes workspace names unique across wrk runs on one server
local api, controls = "/partner/api/v1", "/sandbox/v1"

local threads, next_id = {}, 0
function setup(thread)
  thread:set("tid", next_id)
  threads[#threads + 1] = thread
  next_id = next_id + 1
end

local headers, step, flows, workspace, user
-- globals, for done() to read from each thread (thread:get)
non2xx, completed, first_failure = 0, 0, ""
function init(args)
  local index = (tid % #tokens) + 1
  headers = {["Authorization"] = "Bearer " .. tokens[index], ["X-TL-Partner-Id"] = partners[index],
             ["Content-Type"] = "application/json"}
  step, flows, completed, non2xx, first_failure = 1, 0, 0, 0, ""
end

function request()
  if step == 1 then
    -- A workspace's id is its name in lower case, cut to 30 characters: the name is shorter.
    workspace = string.format("m%s-%d-%d", run, tid, flows)
    return wrk.format("POST", api .. "/workspaces", headers,
                      string.format('{"display_name": "%s", "seats_purchased": 5}', workspace))
  elseif step == 2 then
    return wrk.format("POST", api .. "/workspaces/" .. workspace .. "/users", headers, '{"count": 2}')
  elseif step == 3 then
    return wrk.format("POST", api .. "/workspaces/" .. workspace .. "/users/" .. user .. "/qr", headers,
                      '{"expires_in_hours": 24}')
  elseif step == 4 then
    return wrk.format("POST", controls .. "/workspaces/" .. workspace .. "/users/" .. user .. "/scan", headers, nil)
  elseif step == 5 then
    return wrk.format("GET", api .. "/workspaces/" .. workspace, headers, nil)
  elseif step == 6 then
    return wrk.format("POST", api .. "/workspaces/" .. workspace .. "/users/" .. user .. "/whatsapp/disconnect",
                      headers, nil)
  end
  return wrk.format("GET", api .. "/workspaces/" .. workspace .. "/api-token", headers, nil)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_failure == "" then
      -- for the JSON line: no quotes, backslashes or control characters
      local excerpt = string.gsub(string.sub(body or "", 1, 120), '[%c"\\]', " ")
      first_failure = string.format("step %d: %d %s", step, status, excerpt)
    end
    flows, step = flows + 1, 1  -- start over, with a new workspace
    return
  end
  if step == 2 then
    user = string.match(body, '"user_id"%s*:%s*(%d+)')
    if not user then
      non2xx = non2xx + 1  -- a 2xx without the users it promised: counted as a failure too
      flows, step = flows + 1, 1
      return
    end
  end
  if step == 7 then
    flows, completed, step = flows + 1, completed + 1, 1
  else
    step = step + 1
  end
end

function done(summary, latency, requests)
  local bad, completed, failure = 0, 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
    completed = completed + thread:get("completed")
    local f = thread:get("first_failure")
    if failure == "" and f and f ~= "" then failure = f end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, "non2xx": %d, "flows": %d, "first_failure": "%s"}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, bad, completed, failure))
end
