#include "handlers/view.h"

#include <mstch/mstch.hpp>

#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace phoneverify::handlers {
namespace {

constexpr std::string_view kExtension = ".mustache";

}  // namespace

ViewData& ViewData::Set(const std::string& key, std::string text) {
  text_[key] = std::move(text);
  return *this;
}

ViewData& ViewData::SetFlag(const std::string& key, bool on) {
  flags_[key] = on;
  return *this;
}

ViewData& ViewData::SetObject(const std::string& key, ViewData object) {
  std::erase_if(objects_, [&](const auto& entry) { return entry.first == key; });
  objects_.emplace_back(key, std::move(object));
  return *this;
}

ViewData& ViewData::Append(const std::string& key, ViewData item) {
  for (auto& [name, items] : lists_) {
    if (name == key) {
      items.push_back(std::move(item));
      return *this;
    }
  }
  lists_.emplace_back(key, std::vector<ViewData>{std::move(item)});
  return *this;
}

std::string ViewData::Text(const std::string& key) const {
  auto it = text_.find(key);
  return it == text_.end() ? std::string() : it->second;
}

struct ViewDataAccess {
  static mstch::map Convert(const ViewData& data) {
    mstch::map out;
    for (const auto& [key, text] : data.text_) out.emplace(key, text);
    for (const auto& [key, on] : data.flags_) out.emplace(key, on);
    for (const auto& [key, object] : data.objects_) out.emplace(key, Convert(object));
    for (const auto& [key, items] : data.lists_) {
      mstch::array list;
      for (const ViewData& item : items) list.push_back(Convert(item));
      out.emplace(key, std::move(list));
    }
    return out;
  }
};

util::Result<View> View::Load(const std::string& dir, const std::vector<std::string>& required) {
  namespace fs = std::filesystem;
  std::map<std::string, std::string> templates;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string file = it->path().filename().string();
    if (file.size() <= kExtension.size() || !file.ends_with(kExtension)) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in || in.bad()) return util::Error::Internal("cannot read template " + it->path().string());
    templates[file.substr(0, file.size() - kExtension.size())] = text.str();
  }
  if (ec) return util::Error::Internal("cannot read template directory " + dir + ": " + ec.message());
  for (const std::string& name : required) {
    if (!templates.count(name)) {
      return util::Error::Internal("missing template " + dir + "/" + name + ".mustache");
    }
  }
  return View(std::move(templates));
}

util::Result<std::string> View::Render(const std::string& name, const ViewData& data) const {
  auto it = templates_.find(name);
  if (it == templates_.end()) return util::Error::Internal("unknown template " + name);
  try {
    return mstch::render(it->second, ViewDataAccess::Convert(data), templates_);
  } catch (const std::exception& e) {
    return util::Error::Internal("template " + name + ": " + e.what());
  }
}

}  // namespace phoneverify::handlers
