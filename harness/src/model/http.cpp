#include "upfault/http.hpp"

#include <fmt/format.h>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/uuid/detail/sha1.hpp>

namespace upfault {

namespace http = boost::beast::http;

namespace {

constexpr std::size_t kMaxHeldBack = 64 * 1024;

// A body kept as its first kBodyKeep bytes, its size and its SHA-1: a proxy that sends
// gigabytes costs the client 64 KiB, and a whole body can still be compared exactly.
// The SHA-1 is taken only once the body outgrows what is kept (until then the kept bytes are
// the body): our own scenarios' bodies, kept whole, are never hashed.
struct BoundedBody {
  std::size_t keep = kBodyKeep;  // how many bytes are kept as bytes
  std::string prefix;
  std::uint64_t size = 0;
  bool hashing = false;  // set once the body outgrows `keep`
  boost::uuids::detail::sha1 hash;

  void append(std::string_view bytes) {
    if (!hashing && size + bytes.size() > keep) {
      hashing = true;  // from here on the prefix alone is not the body: hash it all
      hash.process_bytes(prefix.data(), prefix.size());
    }
    if (prefix.size() < keep) prefix.append(bytes.substr(0, keep - prefix.size()));
    if (hashing) hash.process_bytes(bytes.data(), bytes.size());
    size += bytes.size();
  }
};

// Beast's basic_parser with the message kept as plain strings. Beast's own message type
// (basic_fields) holds a field's name and value sizes in 16 bits, so a valid field line over
// 64 KiB, which a proxy may forward, could not be read; here a field is as large as the header
// limit lets it be. `fields` holds the fields not yet taken: the header section's, then a chunked
// body's trailer section's.
class ImageParser final : public http::basic_parser<false> {
 public:
  explicit ImageParser(std::size_t keep) { body.keep = keep; }
  int status = 0;
  std::string reason;
  std::vector<Header> fields;
  BoundedBody body;

 private:
  void on_request_impl(http::verb, boost::beast::string_view, boost::beast::string_view, int,
                       boost::system::error_code& ec) override {
    ec = http::error::bad_method;  // never called: this parser reads responses
  }
  void on_response_impl(int code, boost::beast::string_view phrase, int, boost::system::error_code&) override {
    status = code;
    reason.assign(phrase.data(), phrase.size());
  }
  void on_field_impl(http::field, boost::beast::string_view name, boost::beast::string_view value,
                     boost::system::error_code&) override {
    fields.emplace_back(std::string(name), std::string(value));
  }
  void on_header_impl(boost::system::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, boost::system::error_code&) override {}
  std::size_t on_body_impl(boost::beast::string_view bytes, boost::system::error_code&) override {
    body.append(std::string_view(bytes.data(), bytes.size()));
    return bytes.size();
  }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, boost::system::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view bytes,
                                 boost::system::error_code& ec) override {
    return on_body_impl(bytes, ec);
  }
  void on_finish_impl(boost::system::error_code&) override {}
};

std::string hex_digest(boost::uuids::detail::sha1 hash) {  // by value: get_digest pads the state
  boost::uuids::detail::sha1::digest_type d;
  hash.get_digest(d);
  return fmt::format("{:08x}{:08x}{:08x}{:08x}{:08x}", d[0], d[1], d[2], d[3], d[4]);
}

}  // namespace

std::string body_digest(std::string_view body) {
  boost::uuids::detail::sha1 hash;
  hash.process_bytes(body.data(), body.size());
  return hex_digest(hash);
}

struct ResponseReader::Impl {
  Impl(bool head, std::size_t keep_bytes, std::size_t header_bytes)
      : head_request(head), keep(keep_bytes), header_limit(header_bytes) {
    reset();
  }
  void reset() {
    parser.emplace(keep);
    parser->eager(true);
    parser->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(header_limit, UINT32_MAX)));
    parser->body_limit(boost::none);  // the body's memory is bounded (BoundedBody), its size is not
    if (head_request) parser->skip(true);
  }
  bool head_request;
  std::size_t keep;
  std::size_t header_limit;
  std::optional<ImageParser> parser;
  std::string pending;  // bytes the parser has not consumed yet (it wants a whole header at once)
};

ResponseReader::ResponseReader(bool head_request, std::size_t keep, std::size_t header_limit)
    : impl_(std::make_unique<Impl>(head_request, keep, header_limit)) {}
ResponseReader::~ResponseReader() = default;
ResponseReader::ResponseReader(ResponseReader&&) noexcept = default;
ResponseReader& ResponseReader::operator=(ResponseReader&&) noexcept = default;

bool ResponseReader::header_done() const { return impl_->parser->is_header_done(); }

std::uint64_t ResponseReader::body_bytes() const {
  return impl_->parser->is_header_done() ? impl_->parser->body.size : 0;
}

std::string ResponseReader::body_digest() const {
  if (!impl_->parser->is_header_done()) return upfault::body_digest("");
  const auto& body = impl_->parser->body;
  return body.hashing ? hex_digest(body.hash) : upfault::body_digest(body.prefix);
}

void ResponseReader::record(ClientResult& result) {
  result.header_complete = header_done();
  if (result.header_complete) {
    result.response = response();
    result.body_size = body_bytes();
    result.body_digest = body_digest();
  }
  result.interim = interim_;
}

void ResponseReader::capture_header() {
  if (header_captured_ || !impl_->parser->is_header_done()) return;
  image_.status = impl_->parser->status;
  image_.reason = impl_->parser->reason;
  image_.headers = std::exchange(impl_->parser->fields, {});
  header_captured_ = true;
}

const ResponseImage& ResponseReader::response() {
  capture_header();
  if (!header_captured_) return image_;
  // Trailer fields follow the header's as they arrive, however the bytes were split.
  auto& trailers = impl_->parser->fields;
  image_.headers.insert(image_.headers.end(), std::make_move_iterator(trailers.begin()),
                        std::make_move_iterator(trailers.end()));
  trailers.clear();
  image_.body = impl_->parser->body.prefix;
  return image_;
}

ResponseReader::State ResponseReader::feed(std::string_view input) {
  if (state_ != State::need_more) return state_;
  auto& pending = impl_->pending;
  pending.append(input);
  std::string_view bytes = pending;
  while (state_ == State::need_more && !bytes.empty()) {
    boost::system::error_code ec;
    const std::size_t n = impl_->parser->put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    bytes.remove_prefix(n);
    if (ec == http::error::need_more) break;
    if (ec) {
      capture_header();
      error_ = ec.message();
      state_ = State::error;
      break;
    }
    if (impl_->parser->is_done()) {
      capture_header();
      int st = image_.status;
      if (st >= 100 && st < 200 && st != 101) {
        if (interim_.size() >= kMaxInterim) {
          error_ = fmt::format("more than {} interim (1xx) responses", kMaxInterim);
          state_ = State::error;
          break;
        }
        interim_.push_back(st);
        image_ = {};
        header_captured_ = false;
        impl_->reset();
        continue;
      }
      state_ = State::complete;
    } else if (n == 0) {
      break;
    }
  }
  pending.erase(0, pending.size() - bytes.size());
  // What the parser holds back is a chunk-size line, a chunk extension or the trailer section,
  // which it parses only whole: a proxy that never ends one must not grow memory without limit.
  if (state_ == State::need_more && impl_->parser->is_header_done() && pending.size() > kMaxHeldBack) {
    error_ = fmt::format("a chunk header or trailer section longer than {} KiB", kMaxHeldBack / 1024);
    state_ = State::error;
  }
  // A status code is any three digits on the wire (RFC 9112 §4); one outside 100-599 is invalid
  // (RFC 9110 §15), but the client reports what the proxy sent ("got 099"), and the scenario's
  // expectation judges it.
  capture_header();
  return state_;
}

std::string ResponseReader::take_leftover() {
  if (state_ != State::complete) return {};
  return std::exchange(impl_->pending, {});
}

ResponseReader::State ResponseReader::eof() {
  if (state_ != State::need_more) return state_;
  if (!impl_->parser->got_some()) {
    error_ = "connection closed before any response";
    state_ = State::error;
    return state_;
  }
  boost::system::error_code ec;
  impl_->parser->put_eof(ec);
  capture_header();
  if (ec) {
    error_ = ec == http::error::partial_message ? "connection closed before the message was complete" : ec.message();
    state_ = State::error;
  } else if (impl_->parser->is_done()) {
    state_ = State::complete;
  } else {
    error_ = "connection closed before any response";
    state_ = State::error;
  }
  return state_;
}

std::optional<ResponseImage> parse_complete_response(std::string_view bytes) {
  // Our own bytes: the whole body is kept, and the header may be as large as they are.
  ResponseReader r(false, bytes.size(), std::max(kMinHeaderLimit, bytes.size()));
  if (r.feed(bytes) == ResponseReader::State::need_more) r.eof();
  if (r.state() != ResponseReader::State::complete) return std::nullopt;
  return r.response();
}

std::string serialize_response(const ResponseImage& r) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", r.status, r.reason);
  for (const auto& [name, value] : r.headers) out += fmt::format("{}: {}\r\n", name, value);
  out += "\r\n";
  out += r.body;
  return out;
}

std::string printable(std::string_view bytes, std::size_t max) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (out.size() >= max) {
      out += "…";
      break;
    }
    auto c = static_cast<unsigned char>(bytes[i]);
    switch (c) {
      case '\r': out += "\\r"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default:
        if (c >= 0x20 && c < 0x7f)
          out += static_cast<char>(c);
        else
          out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

}  // namespace upfault
