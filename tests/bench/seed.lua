-- Seeds the verify benchmark: send-otp for the (account, phone) pairs 0..BENCH_PAIRS-1 in
-- turn, starting at BENCH_SEED. bench.sh runs it in short rounds, passing on where the
-- last round stopped, until the database holds a pending code for every pair.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local k = 0
function request()
  local j = (seed + id + k * threads) % pairs_count
  k = k + 1
  local account, phone = pair(j)
  local body = string.format('{"phone": "%s"}', phone)
  return wrk.format("POST", "/api/v1/phone/send-otp", headers_for(account, true), body)
end
