-- wrk script: POST .../qr with a partner JWT and a JSON body, spreading requests over BENCH_USERS
-- users (or all on BENCH_SINGLE_USER), or GET /workspaces/BENCH_DETAILS, or the Public API's
-- GET /whatsapp_accounts with BENCH_PUBLIC_TOKEN; prints one WRKJSON line.
local users = tonumber(os.getenv("BENCH_USERS") or "1000")
local single = os.getenv("BENCH_SINGLE_USER")
local token = os.getenv("BENCH_TOKEN")
local partner = os.getenv("BENCH_PARTNER") or "bench-partner"
local workspace = os.getenv("BENCH_WORKSPACE") or "bench-workspace"
local headers = {["Authorization"] = "Bearer " .. token, ["X-TL-Partner-Id"] = partner,
                 ["Content-Type"] = "application/json"}
local body = '{"expires_in_hours": 24}'
local prefix = os.getenv("BENCH_PREFIX") or "/partner/api/v1"
local next_id = 0
local counter = 0

function setup(thread)
  thread:set("offset", next_id * 7919)
  next_id = next_id + 1
end

function init(args)
  counter = offset
end

local details = os.getenv("BENCH_DETAILS")  -- a workspace id: GET its details instead
local public = os.getenv("BENCH_PUBLIC_TOKEN")  -- a Public API token: GET /whatsapp_accounts with it instead
local public_headers = {["Authorization"] = "Bearer " .. (public or "")}

function request()
  if public then
    return wrk.format("GET", prefix .. "/whatsapp_accounts", public_headers, nil)
  end
  if details then
    return wrk.format("GET", prefix .. "/workspaces/" .. details, headers, nil)
  end
  counter = counter + 1
  local user = single and tonumber(single) or (counter % users) + 1
  return wrk.format("POST", prefix .. "/workspaces/" .. workspace .. "/users/" .. user .. "/qr", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
