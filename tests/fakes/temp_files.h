// Scratch files for unit tests: a fresh directory under /tmp, and a file's whole text.
#pragma once

#include <stdlib.h>

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sstream>
#include <string>

namespace phoneverify::fakes {

// A new empty directory /tmp/<prefix>.XXXXXX (the caller removes it).
inline std::string MakeTempDir(const std::string& prefix) {
  std::string pattern = "/tmp/" + prefix + ".XXXXXX";
  BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  return pattern;
}

// The file's contents ("" when it cannot be read).
inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace phoneverify::fakes
