#include "admin/format.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <ostream>

#include "domain/phone_number.h"

namespace phoneverify::admin {
namespace {

std::string Strftime(int64_t at, const char* format) {
  const time_t t = static_cast<time_t>(at);
  struct tm local {};
  if (localtime_r(&t, &local) == nullptr) return "?";
  char buf[64];
  const size_t n = strftime(buf, sizeof buf, format, &local);
  return std::string(buf, n);
}

}  // namespace

void Table::Print(std::ostream& out) const {
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

std::string FormatTime(int64_t unix_seconds) {
  return unix_seconds == 0 ? "-" : Strftime(unix_seconds, "%Y-%m-%d %H:%M:%S");
}

std::string FormatDuration(int64_t seconds) {
  const char* sign = seconds < 0 ? "-" : "";
  const int64_t s = seconds < 0 ? -seconds : seconds;
  char buf[48];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%s%llds", sign, static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%s%lldm%02llds", sign, static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%s%lldh%02lldm", sign, static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  } else {
    std::snprintf(buf, sizeof buf, "%s%lldd%02lldh", sign, static_cast<long long>(s / 86400),
                  static_cast<long long>(s % 86400 / 3600));
  }
  return buf;
}

std::string Relative(int64_t at, int64_t now) {
  if (at == 0) return "-";
  if (at == now) return "now";
  return at > now ? "in " + FormatDuration(at - now) : FormatDuration(now - at) + " ago";
}

std::string ShowPhone(const std::string& national, bool show) {
  if (national.empty()) return "-";
  return show ? national : domain::MaskPhone(national);
}

std::string YesNo(bool value) { return value ? "yes" : "no"; }

std::optional<std::pair<int64_t, int64_t>> LocalDay(const std::string& date) {
  int year = 0;
  int month = 0;
  int day = 0;
  char tail = 0;
  if (date.size() != 10 ||
      std::sscanf(date.c_str(), "%4d-%2d-%2d%c", &year, &month, &day, &tail) != 3 || month < 1 ||
      month > 12 || day < 1 || day > 31) {
    return std::nullopt;
  }
  struct tm start {};
  start.tm_year = year - 1900;
  start.tm_mon = month - 1;
  start.tm_mday = day;
  start.tm_isdst = -1;
  struct tm end = start;
  end.tm_mday += 1;  // mktime normalises; handles month ends and DST days
  const time_t from = mktime(&start);
  if (from == -1 || start.tm_mday != day) return std::nullopt;  // e.g. 2024-02-31
  const time_t to = mktime(&end);
  if (to == -1) return std::nullopt;
  return std::make_pair(static_cast<int64_t>(from), static_cast<int64_t>(to));
}

std::string LocalDate(int64_t at) { return Strftime(at, "%Y-%m-%d"); }

std::string LocalOffset(int64_t at) { return Strftime(at, "%z"); }

}  // namespace phoneverify::admin
