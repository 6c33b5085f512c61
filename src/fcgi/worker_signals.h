// Internal to src/fcgi: signal set-up shared by the master (for forked workers) and
// RunInherited.
#pragma once

namespace phoneverify::fcgi {

// Installs the worker's handlers (SIGTERM/SIGINT set the stop flag, SIGHUP asks for a
// log reopen), ignores SIGPIPE, and leaves those three signals blocked: Serve()
// unblocks them only while waiting for a connection.
void PrepareWorkerSignals();

}  // namespace phoneverify::fcgi
