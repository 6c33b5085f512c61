// Internal to src/fcgi: signal set-up shared by the master (for forked workers) and
// RunInherited.
#pragma once

namespace phoneverify::fcgi {

// Ignores SIGPIPE and blocks SIGTERM, SIGINT and SIGHUP (before any thread starts, so
// every thread inherits the mask): Serve() reads them from a signalfd.
void PrepareWorkerSignals();

}  // namespace phoneverify::fcgi
