#pragma once
// HPACK (RFC 7541) through nghttp2's HPACK API: an encoder that encodes any header list, valid or
// not (uppercase names, connection-specific fields: the faults the scenarios script), and a decoder
// bounded by a header-list size limit.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "upfault/problem.hpp"

struct nghttp2_hd_deflater;
struct nghttp2_hd_inflater;

namespace upfault::h2 {

using Field = std::pair<std::string, std::string>;

/// One connection's HPACK encoder (its dynamic table lives as long as it does).
class Encoder {
 public:
  Encoder();
  ~Encoder();
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;
  /// The header block for `fields`, in order; nullopt when nghttp2 fails (out of memory).
  [[nodiscard]] std::optional<std::string> encode(const std::vector<Field>& fields);

 private:
  nghttp2_hd_deflater* d_ = nullptr;
};

/// One connection's HPACK decoder. A block whose decoded fields (name + value + 32 each, as
/// SETTINGS_MAX_HEADER_LIST_SIZE counts them) exceed `max_list_size` fails.
class Decoder {
 public:
  explicit Decoder(std::size_t max_list_size = 64 * 1024);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;
  /// The fields of one complete header block, in order, or why it cannot be decoded (nghttp2's
  /// reason, "header list over the size limit", "truncated header block"). After a failure the
  /// decoder is unusable (COMPRESSION_ERROR ends the connection).
  [[nodiscard]] Result<std::vector<Field>> decode(std::string_view block);

 private:
  nghttp2_hd_inflater* i_ = nullptr;
  std::size_t max_list_size_;
};

}  // namespace upfault::h2
