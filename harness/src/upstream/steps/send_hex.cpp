// send_hex: bytes written as hex digits, for bytes that are not text.
#include "upstream/steps/send_bytes.hpp"

namespace upfault {
namespace {
std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& value) {
  auto s = cx.string(value, "send_hex");
  if (!s) return nullptr;
  auto bytes = decode_hex(*s);
  if (!bytes) {
    cx.error(value, "send_hex: " + bytes.error().message);
    return nullptr;
  }
  return std::make_shared<SendBytes>("send_hex", std::move(*bytes));
}
}  // namespace

extern const StepDef send_hex_step = {
    .key = "send_hex",
    .order = 30,
    .summary = "send bytes written as hex digits (spaces allowed)",
    .doc =
        "Send bytes written as hex digits (spaces, colons and newlines are ignored): for NUL, bare CR,\n"
        "bytes ≥ 0x80.\n",
    .example =
        "[[upstream.steps]]\nsend_hex = \"48 54 54 50 2f 31 2e 31 20 32 30 30 20 4f 4b 0d 0a\"   # \"HTTP/1.1 200 "
        "OK\\r\\n\"\n",
    .parse = parse,
};

}  // namespace upfault
