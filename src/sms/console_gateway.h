// SmsGateway for development and tests (sms_backend = console): appends each message as
// one JSON line {"to": "98…", "text": "…"} to a file (config.sms_log), with a single
// O_APPEND write so lines from several processes never interleave.
// The file holds readable codes by design (it stands in for the phone); it is created 0600.
// Thread-safe (no shared state besides the file).
#pragma once

#include <string>

#include "sms/sms_gateway.h"

namespace phoneverify::sms {

class ConsoleGateway final : public SmsGateway {
 public:
  explicit ConsoleGateway(std::string path) : path_(std::move(path)) {}

  // kDelivered once the line is written; kTransient ("sms log: <reason>") when the file
  // cannot be opened or written (e.g. its directory is missing).
  SendResult Send(const std::string& to, const std::string& text) override;
  const char* Name() const override { return "console"; }

 private:
  std::string path_;
};

}  // namespace phoneverify::sms
