# Shared by the benchmarks (src/ops/bench.sh, src/ops/bench-cluster.sh). Sourced.

# A TCP port on 127.0.0.1 that nothing listens on.
free_port() {
  local port
  for ((port = 20000 + RANDOM % 20000; ; port++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

# Every abuse limit off (0), so every request does the full work instead of a quick 429;
# the attempt limit raised rather than off, so the attempt count is still checked and
# kept; codes long-lived, so the verify runs find them pending.
export_bench_limits() {
  export PHONEVERIFY_OTP_RESEND_COOLDOWN=0 PHONEVERIFY_OTP_MAX_SENDS_PER_DAY=0
  export PHONEVERIFY_IP_MAX_SENDS_PER_HOUR=0 PHONEVERIFY_IP_MAX_SIGNUPS_PER_HOUR=0
  export PHONEVERIFY_ACCOUNT_MAX_SENDS_PER_DAY=0 PHONEVERIFY_LOGIN_MAX_FAILURES=0
  export PHONEVERIFY_LOGIN_MAX_FAILURES_PER_IP=0
  export PHONEVERIFY_SMS_DAILY_BUDGET=0 PHONEVERIFY_PREFIX_MAX_SENDS_PER_HOUR=0
  export PHONEVERIFY_OTP_MAX_ATTEMPTS=${PHONEVERIFY_OTP_MAX_ATTEMPTS:-1000000000}
  export PHONEVERIFY_OTP_TTL=${PHONEVERIFY_OTP_TTL:-3600}
}
