// util::DisableCoreDumps, in a child process so the test runner itself stays as it was.
#include "util/core_dumps.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

namespace phoneverify::util {
namespace {

BOOST_AUTO_TEST_SUITE(core_dumps)

BOOST_AUTO_TEST_CASE(a_process_that_disables_them_writes_no_core_and_is_not_dumpable) {
  const pid_t child = ::fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    // Exit status bits: 1 the call failed, 2 still dumpable, 4 a core limit left.
    int bad = DisableCoreDumps() ? 0 : 1;
    if (::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) bad |= 2;
    rlimit core{};
    if (::getrlimit(RLIMIT_CORE, &core) != 0 || core.rlim_cur != 0 || core.rlim_max != 0) bad |= 4;
    ::_exit(bad);
  }
  int status = 0;
  BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
  BOOST_REQUIRE(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0);
  BOOST_TEST(::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1);  // the runner itself untouched
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::util
