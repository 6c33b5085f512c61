-- The delivery benchmark's burst: send-otp like send.lua (a distinct phone on every
-- request, prefix 980), but each wrk thread stops after its share of BENCH_COUNT requests,
-- so bench.sh queues about BENCH_COUNT messages (at most one more per connection).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local counter = 0
local answered = 0
local share = math.ceil(tonumber(os.getenv("BENCH_COUNT") or "1000") / threads)
function request()
  counter = counter + 1
  local n = (seed + counter * threads + id) % 10000000
  local account = accounts[((counter * threads + id) % #accounts) + 1]
  local body = string.format('{"phone": "980%07d"}', n)
  return wrk.format("POST", "/api/v1/phone/send-otp", headers_for(account, true), body)
end
function response(status, headers, body)
  answered = answered + 1
  if answered >= share then wrk.thread:stop() end
end
