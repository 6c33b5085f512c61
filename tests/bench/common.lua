-- Shared by the wrk scripts of `make bench` (src/ops/bench.sh sets the environment):
--   BENCH_TOKENS  file of "account_id token" lines (the benchmark's accounts)
--   BENCH_PATH    request path (the floors reuse the API scripts on /bench/... paths)
--   BENCH_PAIRS   number of (account, phone) pairs holding pending codes (verify, seed)
--   BENCH_SEED    per-run offset, so distinct phones stay distinct across runs
--   BENCH_THREADS wrk's -t (a thread may start before setup() ran for the next one, so
--                 the count cannot come from setup)
-- Each wrk thread gets `id` (0-based) from setup(). done() prints one machine-readable
-- BENCH_RESULT line that bench.sh parses.
accounts = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do
  local account, token = line:match("^(%d+) (%S+)$")
  if account then accounts[#accounts + 1] = {id = account, token = token} end
end
path = os.getenv("BENCH_PATH")
pairs_count = tonumber(os.getenv("BENCH_PAIRS") or "4096")
seed = tonumber(os.getenv("BENCH_SEED") or "0")
threads = tonumber(os.getenv("BENCH_THREADS") or "1")
id = 0

local next_thread_id = 0
function setup(thread)
  thread:set("id", next_thread_id)
  next_thread_id = next_thread_id + 1
end

-- The account of pair j, and its phone: prefix 981 + 7 digits.
function pair(j)
  local account = accounts[(j % #accounts) + 1]
  return account, string.format("981%07d", j)
end

function headers_for(account, with_body)
  local h = {
    ["Authorization"] = "Token " .. account.token,
    ["X-Bench-Account"] = account.id,
  }
  if with_body then h["Content-Type"] = "application/json" end
  return h
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d " ..
    "connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout))
end
