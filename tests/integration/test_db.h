// Database settings for integration tests that talk to MariaDB directly: the same
// sources as the product (conf/phoneverify.conf, <var_dir>/secrets.conf, PHONEVERIFY_*
// environment), with var_dir defaulting to var/test when PHONEVERIFY_VAR_DIR is unset.
// Run from the repository root.
#pragma once

#include "util/config.h"

namespace phoneverify::itest {

// Throws std::runtime_error when the configuration cannot be loaded.
util::Config IntegrationDbConfig();

}  // namespace phoneverify::itest
