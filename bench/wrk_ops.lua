-- wrk script of `make bench`: one operation (BENCH_OP, its operationId; userRequestQRLink unless
-- told) with a partner JWT on the bench world's workspaces (bench/bench.py writes them), or the
-- Public API's getWhatsappAccounts with BENCH_PUBLIC_TOKEN; prints one WRKJSON line. Requests that
-- create something use names and workspaces no other request uses, so every answer is a success.
-- userRequestQRLink spreads over BENCH_USERS users, or all goes to BENCH_SINGLE_USER.
local op = os.getenv("BENCH_OP") or "userRequestQRLink"
local single = os.getenv("BENCH_SINGLE_USER")
local public_headers = {["Authorization"] = "Bearer " .. (os.getenv("BENCH_PUBLIC_TOKEN") or "")}
local token = os.getenv("BENCH_TOKEN")
local partner = os.getenv("BENCH_PARTNER") or "bench-partner"
local workspace = os.getenv("BENCH_WORKSPACE") or "bench-workspace"
local small = os.getenv("BENCH_SMALL") or "bench-small"
local users = tonumber(os.getenv("BENCH_USERS") or "1000")
local seat_workspaces = tonumber(os.getenv("BENCH_SEAT_WORKSPACES") or "40")
local prefix = os.getenv("BENCH_PREFIX") or "/partner/api/v1"
local headers = {["Authorization"] = "Bearer " .. token, ["X-TL-Partner-Id"] = partner,
                 ["Content-Type"] = "application/json"}
local next_id = 0
local counter = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end

function init(args)
  counter = 0
end

function request()
  counter = counter + 1
  local user = single and tonumber(single) or ((counter * 7 + tid * 7919) % users) + 1
  if op == "workspaceCreate" then
    local body = string.format('{"display_name": "Bench-%d-%d-%d", "seats_purchased": 5}', tid, counter, os.time())
    return wrk.format("POST", prefix .. "/workspaces", headers, body)
  elseif op == "workspaceGet" then
    return wrk.format("GET", prefix .. "/workspaces/" .. small, headers, nil)
  elseif op == "workspaceUpdate" then
    return wrk.format("PATCH", prefix .. "/workspaces/" .. small, headers,
                      string.format('{"display_name": "Bench-Small-%d"}', counter % 7))
  elseif op == "workspaceCreateUsers" then
    local target = string.format("bench-seats-%d", (counter * 2 + tid) % seat_workspaces)
    return wrk.format("POST", prefix .. "/workspaces/" .. target .. "/users", headers, '{"count": 1}')
  elseif op == "userRequestQRLink" then
    return wrk.format("POST", prefix .. "/workspaces/" .. workspace .. "/users/" .. user .. "/qr", headers,
                      '{"expires_in_hours": 24}')
  elseif op == "disconnectWA" then
    return wrk.format("POST", prefix .. "/workspaces/" .. workspace .. "/users/" .. user .. "/whatsapp/disconnect",
                      headers, nil)
  elseif op == "getPublicAPIToken" then
    return wrk.format("GET", prefix .. "/workspaces/" .. small .. "/api-token", headers, nil)
  elseif op == "rotatePublicAPIToken" then
    return wrk.format("POST", prefix .. "/workspaces/" .. small .. "/api-token", headers, nil)
  elseif op == "getWhatsappAccounts" then
    return wrk.format("GET", prefix .. "/whatsapp_accounts", public_headers, nil)
  end
  error("BENCH_OP names no operation: " .. tostring(op))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
