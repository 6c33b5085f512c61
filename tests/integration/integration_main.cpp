// The one Boost.Test main of the integration test binary (build/bin/integration_tests);
// test cases live in the *_test.cpp files beside it. BOOST_TEST_DYN_LINK comes from the
// Makefile.
#define BOOST_TEST_MODULE phoneverify_integration_tests
#include <boost/test/unit_test.hpp>
