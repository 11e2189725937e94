// response: a structured response, serialised (scenario_toml.cpp's load_response).
#include "upstream/steps/send_bytes.hpp"

namespace upfault {
namespace {
std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& value) {
  auto wire = load_response(cx, value);
  if (!wire) return nullptr;
  return std::make_shared<SendBytes>("response", std::move(*wire));
}
}  // namespace

extern const StepDef response_step = {
    .key = "response",
    .order = 40,
    .summary =
        "send a structured response: { status, reason, headers, header_fill, body | body_size, chunked, last_chunk, "
        "truncate }",
    .doc =
        "A structured response. `headers` keep their order and duplicates. A `Content-Length` is added\n"
        "unless the headers frame the body themselves or `auto_length = false`. `body_size = N` generates\n"
        "N bytes instead of `body`; `header_fill = { count = N, size = S }` adds N generated fields\n"
        "`X-Fill-1` … `X-Fill-N` of S bytes each (for oversized header sections). What one scenario\n"
        "generates this way adds up to at most 16 MiB, and a whole suite to at most 256 MiB. `chunked = [5, 6]` sends "
        "the "
        "body in chunks of those sizes\n"
        "(`chunked = true`: one chunk), ending with the last chunk unless `last_chunk = false`.\n"
        "`truncate = N` sends only the first N bytes of the serialised response.\n",
    .example =
        "[[upstream.steps]]\n"
        "response = { status = 503, reason = \"Service Unavailable\", headers = [\"Retry-After: 5\"], body = "
        "\"down\\n\" "
        "}\n"
        "[[upstream.steps]]\n"
        "response = { status = 200, body = \"hello world\", chunked = [5, 6], last_chunk = false }\n"
        "[[upstream.steps]]\n"
        "response = { status = 200, body_size = 1000, truncate = 500 }\n",
    .parse = parse,
};

}  // namespace upfault
