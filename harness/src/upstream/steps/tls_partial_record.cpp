// tls_partial_record: encrypt bytes, but send only the first part of the TLS record.
#include "upstream/connection.hpp"
#include "upstream/steps/step.hpp"

namespace upfault {
namespace {

class PartialRecord final : public UpstreamStep {
 public:
  PartialRecord(std::string bytes, std::size_t keep) : bytes_(std::move(bytes)), keep_(keep) {}
  std::string_view kind() const override { return "tls_partial_record"; }
  std::string toml() const override {
    return "tls_partial_record = { send = " + toml_quote(bytes_) + ", keep = " + std::to_string(keep_) + " }";
  }
  bool needs_tls() const override { return true; }
  net::awaitable<Flow> run(upstream::Connection& c) const override {
    co_return co_await c.tls_send_partial(bytes_, keep_) ? Flow::next : Flow::stop;
  }

 private:
  std::string bytes_;
  std::size_t keep_;
};

std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& value) {
  const auto* t = value.as_table();
  if (!t) {
    cx.error(value, "tls_partial_record must be a table: { send = \"…\", keep = N }");
    return nullptr;
  }
  cx.check_keys(*t, {"send", "keep"}, "tls_partial_record");
  const auto* send = t->get("send");
  const auto* keep = t->get("keep");
  if (!send || !keep) {
    cx.error(value, "tls_partial_record needs send (the plaintext) and keep (how many bytes of its records to send)");
    return nullptr;
  }
  auto bytes = cx.string(*send, "send");
  auto n = keep->value<std::int64_t>();
  if (!n || *n < 1 || *n > 1 << 20) {
    cx.error(*keep, "keep must be a whole number of bytes from 1 to 1048576");
    return nullptr;
  }
  if (!bytes) return nullptr;
  // Every record is at least its 5-byte header and its plaintext: keeping fewer bytes always cuts one.
  if (static_cast<std::size_t>(*n) >= bytes->size() + 5) {
    cx.error(*keep, fmt::format("keep = {} would send the whole record, cutting nothing: keep fewer than {} bytes "
                                "(send's {} bytes and the 5-byte record header)",
                                *n, bytes->size() + 5, bytes->size()));
    return nullptr;
  }
  return std::make_shared<PartialRecord>(std::move(*bytes), static_cast<std::size_t>(*n));
}

}  // namespace

extern const StepDef tls_partial_record_step = {
    .key = "tls_partial_record",
    .order = 101,
    .summary = "TLS: encrypt `send`, but send only the first `keep` bytes of its records (a record cut short)",
    .doc =
        "Encrypt `send` as TLS records and send only their first `keep` bytes: the proxy holds a record it\n"
        "can never finish (a record carries a 5-byte header, then its ciphertext and tag; `keep` must be under\n"
        "`send`'s length + 5, so a record is always cut). A `close` after\n"
        "it cuts the connection mid-record.\n",
    .example =
        "[[upstream.steps]]\ntls_partial_record = { send = \"HTTP/1.1 200 OK\\r\\nContent-Length: "
        "5\\r\\n\\r\\nhello\", "
        "keep = 20 }\n",
    .parse = parse,
    .example_protocol = UpstreamProtocol::https,
};

}  // namespace upfault
