-- GET /api/v1/me, the token rotating over the benchmark's accounts.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local counter = 0
function request()
  counter = counter + 1
  local account = accounts[((counter * threads + id) % #accounts) + 1]
  return wrk.format("GET", path or "/api/v1/me", headers_for(account, false))
end
