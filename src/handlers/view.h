// Renders the page templates (mustache files in <www_dir>/templates/) with libmstch. This
// is the only file that knows the template library. {{name}} is HTML-escaped (& < > " ' /
// become entities); the templates never use the unescaped {{{name}}} form, so text that
// came from a user can never become markup.
//
// ViewData is the context handed to a template: text, flags (for {{#flag}} sections),
// nested objects ({{t.title}}) and lists. Templates see each other as partials
// ({{> layout_top}}).
//
// Thread-safe after construction (rendering only reads).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "util/status.h"

namespace phoneverify::handlers {

struct ViewDataAccess;  // view.cpp: turns ViewData into the library's context type

class ViewData {
 public:
  ViewData& Set(const std::string& key, std::string text);
  ViewData& SetFlag(const std::string& key, bool on);
  ViewData& SetObject(const std::string& key, ViewData object);
  // Appends `item` to the list called `key`.
  ViewData& Append(const std::string& key, ViewData item);

  // The text under `key`, "" when none (for tests and for composing contexts).
  std::string Text(const std::string& key) const;

 private:
  friend struct ViewDataAccess;
  std::map<std::string, std::string> text_;
  std::map<std::string, bool> flags_;
  std::vector<std::pair<std::string, ViewData>> objects_;
  std::vector<std::pair<std::string, std::vector<ViewData>>> lists_;
};

class View {
 public:
  using TemplateMap = std::map<std::string, std::string>;  // name -> mustache text

  // Reads every <dir>/*.mustache file (the name is the file name without .mustache).
  // Errors (Internal, naming the file): an unreadable directory or file, or a name of
  // `required` with no file.
  static util::Result<View> Load(const std::string& dir, const std::vector<std::string>& required);
  // From text in memory (tests).
  explicit View(TemplateMap templates) : templates_(std::move(templates)) {}

  // The rendered template `name`. Errors: Internal for an unknown name or a template the
  // library cannot render.
  util::Result<std::string> Render(const std::string& name, const ViewData& data) const;

  const TemplateMap& templates() const { return templates_; }

 private:
  TemplateMap templates_;
};

}  // namespace phoneverify::handlers
