-- POST send-otp: a distinct phone on every request (prefix 980), the token rotating over
-- the benchmark's accounts.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local counter = 0
function request()
  counter = counter + 1
  local n = (seed + counter * threads + id) % 10000000
  local account = accounts[((counter * threads + id) % #accounts) + 1]
  local body = string.format('{"phone": "980%07d"}', n)
  return wrk.format("POST", path or "/api/v1/phone/send-otp", headers_for(account, true), body)
end
