#include "handlers/metrics_handler.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <tuple>

#include "http/client_ip.h"

namespace phoneverify::handlers {
namespace {

constexpr char kSendRoute[] = "/api/v1/phone/send-otp";
constexpr char kVerifyRoute[] = "/api/v1/phone/verify-otp";

struct Family {
  const char* name;
  const char* type;
  const char* help;
};

constexpr Family kFamilies[] = {
    {"phoneverify_http_requests_total", "counter",
     "HTTP requests by route pattern, method and status."},
    {"phoneverify_http_errors_total", "counter",
     "Error answers by route pattern, status and error code."},
    {"phoneverify_otp_sent_total", "counter", "Codes accepted for sending (send-otp 202)."},
    {"phoneverify_otp_verified_total", "counter", "Phones verified (verify-otp 200)."},
    {"phoneverify_otp_verify_failed_total", "counter", "Refused verify-otp calls by code."},
    {"phoneverify_rate_limited_total", "counter",
     "Requests refused by an abuse limit (429, or 503 sms_budget_exhausted)."},
    {"phoneverify_sms_attempts_total", "counter",
     "Gateway calls by gateway, result and gateway code (Sparrow response_code or HTTP "
     "status; 0 when no answer)."},
    {"phoneverify_sms_gateway_latency_seconds", "histogram", "Duration of gateway calls."},
    {"phoneverify_sms_expired_total", "counter", "Messages that expired undelivered."},
    {"phoneverify_sms_not_sent_total", "counter", "Messages failed without a gateway call."},
    {"phoneverify_sms_circuit_opened_total", "counter",
     "Times sending paused: consecutive gateway failures or no credits."},
    {"phoneverify_sms_sending_paused", "gauge", "1 while a dispatcher pauses sending."},
    {"phoneverify_outbox_depth", "gauge", "Undelivered outbox messages by state."},
    {"phoneverify_database_up", "gauge", "1 when the database figures could be read."},
    {"phoneverify_webhooks_total", "counter",
     "Webhook tries by outcome (delivered, retry, dropped, gone: 410 disabled the webhook)."},
    {"phoneverify_webhooks_pending", "gauge", "Webhook events not yet delivered, by state."},
    {"phoneverify_metrics_dropped_total", "counter",
     "Counts lost because the shared counter table was full."},
};

std::string NameOf(const std::string& series) { return series.substr(0, series.find('{')); }

// The family a series belongs to (histogram parts share their base name).
std::string FamilyOf(const std::string& series) {
  const std::string name = NameOf(series);
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      const std::string base = name.substr(0, name.size() - s.size());
      for (const Family& f : kFamilies) {
        if (base == f.name && std::string(f.type) == "histogram") return base;
      }
    }
  }
  return name;
}

// Value of label `label` in the series, "" when absent.
std::string Label(const std::string& series, const std::string& label) {
  const std::string needle = label + "=\"";
  size_t at = series.find("{" + needle);
  at = at == std::string::npos ? series.find("," + needle) : at;
  if (at == std::string::npos) return "";
  const size_t begin = at + 1 + needle.size();
  return series.substr(begin, series.find('"', begin) - begin);
}

// Sort key: family, then part (_bucket < _count < _sum), other labels, then le numerically.
std::tuple<std::string, std::string, std::string, double> SortKey(const std::string& series) {
  std::string le = Label(series, "le");
  std::string rest = series;
  if (!le.empty()) {
    const size_t at = rest.find("le=\"" + le + "\"");
    rest.erase(at, 5 + le.size());
  }
  const double bound = le.empty() ? 0 : le == "+Inf" ? 1e300 : std::strtod(le.c_str(), nullptr);
  return {FamilyOf(series), NameOf(series), rest, bound};
}

std::string FormatValue(double value) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return ec == std::errc() ? std::string(buf, end) : "0";
}

const Family* FindFamily(const std::string& name) {
  for (const Family& f : kFamilies) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

bool IsLoopback(const std::string& remote_addr) {
  const auto ip = http::NormalizeIp(remote_addr);
  return ip && (*ip == "::1" || ip->rfind("127.", 0) == 0);
}

}  // namespace

void AddDerivedSamples(std::vector<domain::MetricSample>& samples) {
  double sent = 0, verified = 0;
  std::map<std::string, double> failed, limited;
  for (const auto& s : samples) {
    const std::string name = NameOf(s.series);
    const std::string route = Label(s.series, "route");
    const std::string status = Label(s.series, "status");
    const std::string code = Label(s.series, "code");
    if (name == "phoneverify_http_requests_total") {
      if (route == kSendRoute && status == "202") sent += s.value;
      if (route == kVerifyRoute && status == "200") verified += s.value;
    } else if (name == "phoneverify_http_errors_total") {
      if (route == kVerifyRoute && status.size() == 3 && status[0] == '4' && status != "401") {
        failed["phoneverify_otp_verify_failed_total{code=\"" + code + "\"}"] += s.value;
      }
      if (status == "429" || code == "sms_budget_exhausted") {
        limited["phoneverify_rate_limited_total{route=\"" + route + "\",code=\"" + code + "\"}"] +=
            s.value;
      }
    }
  }
  samples.push_back({"phoneverify_otp_sent_total", sent});
  samples.push_back({"phoneverify_otp_verified_total", verified});
  for (const auto& [series, value] : failed) samples.push_back({series, value});
  for (const auto& [series, value] : limited) samples.push_back({series, value});
}

std::string RenderPrometheus(std::vector<domain::MetricSample> samples) {
  std::sort(samples.begin(), samples.end(), [](const auto& a, const auto& b) {
    return SortKey(a.series) < SortKey(b.series);
  });
  std::string out;
  std::string current;
  for (const auto& s : samples) {
    const std::string family = FamilyOf(s.series);
    if (family != current) {
      current = family;
      const Family* f = FindFamily(family);
      out += "# HELP " + family + " " + (f ? f->help : "phoneverify figure.") + "\n";
      out += "# TYPE " + family + " " + (f ? f->type : "untyped") + "\n";
    }
    out += s.series + " " + FormatValue(s.value) + "\n";
  }
  return out;
}

util::Result<http::Response> Metrics(const util::Counters* counters, domain::MetricsStore* store,
                                     const http::Request& request) {
  if (!IsLoopback(request.remote_addr)) {
    return util::Error::Make(util::ErrorKind::kForbidden, "forbidden",
                             "Metrics are served on the loopback interface only.");
  }
  std::vector<domain::MetricSample> samples;
  if (counters != nullptr) {
    for (const auto& [series, value] : counters->Snapshot()) {
      samples.push_back({series, static_cast<double>(value)});
    }
    AddDerivedSamples(samples);
    samples.push_back({"phoneverify_metrics_dropped_total", static_cast<double>(counters->dropped())});
  }
  if (store != nullptr) {
    auto stored = store->Read();
    if (stored.ok()) samples.insert(samples.end(), stored.value().begin(), stored.value().end());
    samples.push_back({"phoneverify_database_up", stored.ok() ? 1.0 : 0.0});
  }
  http::Response response;
  response.status = 200;
  response.SetHeader("Content-Type", kPrometheusContentType);
  response.body = RenderPrometheus(std::move(samples));
  return response;
}

}  // namespace phoneverify::handlers
