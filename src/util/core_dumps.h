// The servers hold every secret in memory (Sparrow token, code and outbox keys, session
// key): a core dump or a ptrace by another process of the same user would hand them out.
#pragma once

namespace phoneverify::util {

// RLIMIT_CORE to 0 and PR_SET_DUMPABLE off, for this process and what it forks. False when
// either call failed (the process runs on; the caller may warn).
bool DisableCoreDumps();

}  // namespace phoneverify::util
