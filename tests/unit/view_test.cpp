// The template renderer: escaping by default, partials, nested data, load errors.
#include "handlers/view.h"

#include <boost/test/unit_test.hpp>

#include "handlers/page_handlers.h"

namespace phoneverify::handlers {
namespace {

BOOST_AUTO_TEST_SUITE(view)

BOOST_AUTO_TEST_CASE(text_is_html_escaped) {
  View view(View::TemplateMap{{"page", "<p title=\"{{v}}\">{{v}}</p>"}});
  ViewData data;
  data.Set("v", "\"><script>alert('x')</script>&");
  auto html = view.Render("page", data);
  BOOST_REQUIRE(html.ok());
  BOOST_TEST(html.value().find("<script>") == std::string::npos, html.value());
  BOOST_TEST(html.value().find("&lt;script&gt;") != std::string::npos, html.value());
  BOOST_TEST(html.value().find("&quot;&gt;") != std::string::npos, html.value());
  BOOST_TEST(html.value().find("&#39;x&#39;") != std::string::npos, html.value());
  BOOST_TEST(html.value().find("&amp;") != std::string::npos, html.value());
}

BOOST_AUTO_TEST_CASE(utf8_text_passes_through) {
  View view(View::TemplateMap{{"page", "{{v}}"}});
  ViewData data;
  data.Set("v", "नेपाली");
  BOOST_TEST(view.Render("page", data).value() == "नेपाली");
}

BOOST_AUTO_TEST_CASE(flags_objects_lists_and_partials) {
  View view(View::TemplateMap{{"page", "{{> head}}{{#on}}ON{{/on}}{{^off}}!{{/off}}{{o.k}}{{#l}}[{{x}}]{{/l}}"},
             {"head", "<{{title}}>"}});
  ViewData data;
  ViewData object;
  object.Set("k", "K");
  ViewData one;
  one.Set("x", "1");
  ViewData two;
  two.Set("x", "2");
  data.Set("title", "T").SetFlag("on", true).SetFlag("off", false).SetObject("o", object);
  data.Append("l", one).Append("l", two);
  auto html = view.Render("page", data);
  BOOST_REQUIRE(html.ok());
  BOOST_TEST(html.value() == "<T>ON!K[1][2]");
}

BOOST_AUTO_TEST_CASE(missing_keys_render_nothing) {
  View view(View::TemplateMap{{"page", "a{{nothing}}b{{#none}}X{{/none}}c"}});
  BOOST_TEST(view.Render("page", ViewData()).value() == "abc");
}

BOOST_AUTO_TEST_CASE(an_unknown_template_is_an_internal_error) {
  View view(View::TemplateMap{});
  auto html = view.Render("nope", ViewData());
  BOOST_REQUIRE(!html.ok());
  BOOST_TEST(html.error().code == "internal_error");
}

BOOST_AUTO_TEST_CASE(the_shipped_templates_load) {
  auto view = View::Load("www/templates", PageHandlers::Templates());
  BOOST_REQUIRE_MESSAGE(view.ok(), (view.ok() ? "" : view.error().details));
  BOOST_TEST(view.value().templates().size() >= PageHandlers::Templates().size());
}

BOOST_AUTO_TEST_CASE(loading_names_what_is_missing) {
  auto view = View::Load("www/templates", {"signup", "no_such_page"});
  BOOST_REQUIRE(!view.ok());
  BOOST_TEST(view.error().details.find("no_such_page") != std::string::npos);
  auto nowhere = View::Load("/nonexistent/templates", {});
  BOOST_TEST(!nowhere.ok());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::handlers
