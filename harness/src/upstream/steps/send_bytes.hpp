#pragma once
// The step that sends fixed bytes, shared by the kinds that only differ in how the bytes are
// written: send (text), send_hex, response (structured).
#include "upstream/connection.hpp"
#include "upstream/steps/step.hpp"

namespace upfault {

class SendBytes final : public UpstreamStep {
 public:
  SendBytes(std::string_view kind, std::string bytes) : kind_(kind), bytes_(std::move(bytes)) {}
  std::string_view kind() const override { return kind_; }
  // Written back as `send`, whatever the kind: the bytes are what matters.
  std::string toml() const override { return "send = " + toml_quote(bytes_); }
  const std::string* sends() const override { return &bytes_; }
  net::awaitable<Flow> run(upstream::Connection& c) const override {
    co_return co_await c.send(bytes_) ? Flow::next : Flow::stop;
  }

 private:
  std::string_view kind_;
  std::string bytes_;
};

}  // namespace upfault
