// send: bytes exactly as written.
#include "upstream/steps/send_bytes.hpp"

namespace upfault {
namespace {
std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& value) {
  auto s = cx.string(value, "send");
  if (!s) return nullptr;
  return std::make_shared<SendBytes>("send", std::move(*s));
}
}  // namespace

extern const StepDef send_step = {
    .key = "send",
    .order = 20,
    .summary = "send bytes exactly as written (TOML escapes: \\r \\n \\t \\\" \\\\ \\uXXXX; other bytes: send_hex)",
    .doc =
        "Send bytes exactly as written. TOML's escapes apply: `\\r`, `\\n`, `\\t`, `\\\"`, `\\\\`, `\\uXXXX`\n"
        "(TOML has no `\\xNN`: write bytes that are not text with `send_hex`).\n",
    .example =
        "[[upstream.steps]]\nsend = \"HTTP/1.1 200 OK\\r\\nContent-Length: 5\\r\\nContent-Length: "
        "6\\r\\n\\r\\nhello!\"\n",
    .parse = parse,
};

}  // namespace upfault
