// Output helpers for phoneverify-admin: aligned tables, times, phones.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace phoneverify::admin {

// Columns padded to their widest cell, two spaces apart; the header first.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  size_t size() const { return rows_.size() - 1; }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// "2024-05-01 14:03:59" in local time; "-" for 0.
std::string FormatTime(int64_t unix_seconds);
// "4m10s", "2h05m", "3d04h"; negative values as "-4m10s".
std::string FormatDuration(int64_t seconds);
// "in 4m10s" / "4m10s ago" / "now", relative to `now`; "-" for 0.
std::string Relative(int64_t at, int64_t now);
// The phone as is when `show`, else masked (98******78); "-" for "".
std::string ShowPhone(const std::string& national, bool show);
std::string YesNo(bool value);

// Parses YYYY-MM-DD as a local calendar day: [start, end) in Unix seconds.
std::optional<std::pair<int64_t, int64_t>> LocalDay(const std::string& date);
// The local calendar day containing `at`, as YYYY-MM-DD.
std::string LocalDate(int64_t at);
// The local UTC offset at `at`, e.g. "+0545".
std::string LocalOffset(int64_t at);

}  // namespace phoneverify::admin
