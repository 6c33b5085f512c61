-- POST verify-otp: wrong guesses spread over the pending codes of BENCH_PAIRS pairs
-- (seeded by seed.lua); with the attempt limit raised, each does the full check.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local counter = 0
function request()
  counter = counter + 1
  local j = (seed + counter * threads + id) % pairs_count
  local account, phone = pair(j)
  local body = string.format('{"phone": "%s", "otp": "000000"}', phone)
  return wrk.format("POST", path or "/api/v1/phone/verify-otp", headers_for(account, true), body)
end
