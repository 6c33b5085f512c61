// The one Boost.Test main of the unit test binary (build/bin/unit_tests); test cases live
// in the *_test.cpp files beside it. BOOST_TEST_DYN_LINK comes from the Makefile.
#define BOOST_TEST_MODULE phoneverify_unit_tests
#include <boost/test/unit_test.hpp>
