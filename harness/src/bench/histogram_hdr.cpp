// A Histogram in HdrHistogram's V2 encoding: the payload (ZigZag LEB128 counters), the compressed
// form of its interval logs (a zlib stream, here of stored blocks) and base64. The layout is
// HdrHistogram's own (AbstractHistogram.encodeIntoCompressedByteBuffer): every integer big-endian.
#include <fmt/format.h>

#include <array>
#include <cstring>

#include "upfault/histogram.hpp"

namespace upfault {

namespace {

constexpr std::uint32_t kV2Cookie = 0x1c849303 | 0x10;            // V2, ZigZag LEB128 counters
constexpr std::uint32_t kV2CompressedCookie = 0x1c849304 | 0x10;  // the same, in a zlib stream
constexpr std::size_t kHeaderBytes = 40;
constexpr std::uint64_t kOneHourNs = 3'600'000'000'000;
// The largest payload there can be: every counter a 9-byte number.
constexpr std::size_t kMaxPayload = Histogram::kCounters * 9;

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}
std::uint64_t get_be(std::string_view in, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(in[at + static_cast<std::size_t>(i)]);
  return v;
}

// HdrHistogram's "LEB128-64b9B": 7 bits a byte for 8 bytes, then the 9th byte holds the top 8 bits.
void put_zigzag(std::string& out, std::int64_t n) {
  std::uint64_t v = (static_cast<std::uint64_t>(n) << 1) ^ static_cast<std::uint64_t>(n >> 63);
  for (int i = 0; i < 8; ++i) {
    if (v < 0x80) {
      out.push_back(static_cast<char>(v));
      return;
    }
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Reads one number at `at`; false when the payload ends inside it.
bool get_zigzag(std::string_view in, std::size_t& at, std::int64_t& n) {
  std::uint64_t v = 0;
  for (int i = 0; i < 9; ++i) {
    if (at >= in.size()) return false;
    const auto b = static_cast<unsigned char>(in[at++]);
    if (i == 8) {
      v |= std::uint64_t{b} << 56;
      break;
    }
    v |= std::uint64_t{b & 0x7fu} << (7 * i);
    if (!(b & 0x80)) break;
  }
  n = static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
  return true;
}

std::uint32_t adler32(std::string_view data) {
  std::uint32_t a = 1, b = 0;
  for (char c : data) {
    a = (a + static_cast<unsigned char>(c)) % 65521;
    b = (b + a) % 65521;
  }
  return (b << 16) | a;
}

// A zlib stream (RFC 1950) of stored deflate blocks (RFC 1951 §3.2.4): no compression, readable by any inflater.
std::string zlib_stored(std::string_view data) {
  const std::uint32_t checksum = adler32(data);
  std::string out = "\x78\x01";
  do {
    const std::size_t n = std::min<std::size_t>(data.size(), 65535);
    out.push_back(n == data.size() ? '\x01' : '\x00');  // BFINAL on the last block, BTYPE 00
    for (std::size_t len : {n, ~n & 0xffff}) {          // LEN and NLEN, little-endian
      out.push_back(static_cast<char>(len & 0xff));
      out.push_back(static_cast<char>(len >> 8));
    }
    out.append(data.substr(0, n));
    data.remove_prefix(n);
  } while (!data.empty());
  put_u32(out, checksum);
  return out;
}

Result<std::string> zlib_unstore(std::string_view in) {
  if (in.size() < 2 || (in[0] & 0x0f) != 8 ||
      ((static_cast<unsigned char>(in[0]) << 8) | static_cast<unsigned char>(in[1])) % 31)
    return problem("not a zlib stream");
  if (in[1] & 0x20) return problem("a zlib stream with a preset dictionary");
  std::string out;
  std::size_t at = 2;
  for (bool final = false; !final;) {
    if (at + 5 > in.size()) return problem("the zlib stream is cut short");
    const auto head = static_cast<unsigned char>(in[at]);
    if (head & 0x06)
      return problem("the zlib stream is deflate-compressed: upfault reads the stored (uncompressed) blocks it writes");
    final = head & 1;
    const auto len = static_cast<std::size_t>(get_be(in, at + 2, 1) << 8 | get_be(in, at + 1, 1));
    const auto nlen = static_cast<std::size_t>(get_be(in, at + 4, 1) << 8 | get_be(in, at + 3, 1));
    if ((len ^ nlen) != 0xffff) return problem("a stored block's length is damaged");
    at += 5;
    if (at + len > in.size() || out.size() + len > kHeaderBytes + kMaxPayload)
      return problem("a stored block runs past the end (or the histogram is too large)");
    out.append(in.substr(at, len));
    at += len;
  }
  if (at + 4 > in.size() || get_be(in, at, 4) != adler32(out)) return problem("the zlib checksum does not match");
  return out;
}

constexpr std::string_view kBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < in.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, in.size() - i);  // bytes in this group
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 3; ++k) v = (v << 8) | (k < n ? static_cast<unsigned char>(in[i + k]) : 0u);
    for (std::size_t k = 0; k < 4; ++k) out.push_back(k <= n ? kBase64[(v >> (18 - 6 * k)) & 0x3f] : '=');
  }
  return out;
}

Result<std::string> unbase64(std::string_view in) {
  if (in.size() % 4) return problem("not base64 (its length is not a multiple of 4)");
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    std::uint32_t v = 0;
    int pad = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = in[i + k];
      const auto pos = kBase64.find(c);
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        ++pad;
        v <<= 6;
        continue;
      }
      if (pos == std::string_view::npos || pad) return problem(fmt::format("not base64 (at character {})", i + k + 1));
      v = (v << 6) | static_cast<std::uint32_t>(pos);
    }
    out.push_back(static_cast<char>(v >> 16));
    if (pad < 2) out.push_back(static_cast<char>((v >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(v & 0xff));
  }
  return out;
}

}  // namespace

std::string hdr_payload(const Histogram& h) {
  std::string out;
  const std::size_t used = h.counters_used();
  for (std::size_t i = 0; i < used;) {
    const std::uint64_t c = h.counter(i++);
    if (c != 0) {
      // Counts past 2^63 cannot be encoded: HdrHistogram's counters are signed.
      put_zigzag(out, static_cast<std::int64_t>(std::min<std::uint64_t>(c, INT64_MAX)));
      continue;
    }
    std::int64_t zeros = 1;
    while (i < used && h.counter(i) == 0) ++zeros, ++i;
    put_zigzag(out, zeros > 1 ? -zeros : 0);
  }
  return out;
}

Result<void> hdr_add_payload(std::string_view payload, Histogram& into) {
  // Read it all first: a damaged payload changes nothing.
  std::vector<std::pair<std::size_t, std::uint64_t>> counters;
  std::size_t index = 0, at = 0;
  std::uint64_t total = into.count();
  while (at < payload.size()) {
    std::int64_t n = 0;
    if (!get_zigzag(payload, at, n)) return problem("the histogram's counters are cut short");
    if (n < 0) {
      if (n == INT64_MIN || static_cast<std::uint64_t>(-n) > Histogram::kCounters - index)
        return problem("the histogram's counters run past its range");
      index += static_cast<std::size_t>(-n);
      continue;
    }
    if (index >= Histogram::kCounters) return problem("the histogram's counters run past its range");
    if (n > 0) {
      if (total + static_cast<std::uint64_t>(n) < total || total + static_cast<std::uint64_t>(n) > INT64_MAX)
        return problem("the histogram counts more than 2^63 samples");
      total += static_cast<std::uint64_t>(n);
      counters.emplace_back(index, static_cast<std::uint64_t>(n));
    }
    ++index;
  }
  for (auto [i, n] : counters) into.add_to_counter(i, n);
  return {};
}

std::string hdr_to_base64(const Histogram& h) {
  const std::string payload = hdr_payload(h);
  std::string plain;
  put_u32(plain, kV2Cookie);
  put_u32(plain, static_cast<std::uint32_t>(payload.size()));
  put_u32(plain, 0);  // normalizing index offset
  put_u32(plain, 3);  // significant digits
  put_u64(plain, 1);  // lowest discernible value
  put_u64(plain, std::min<std::uint64_t>(std::max(kOneHourNs, h.max()), INT64_MAX));
  std::uint64_t ratio = 0;
  const double one = 1.0;
  std::memcpy(&ratio, &one, sizeof ratio);
  put_u64(plain, ratio);  // integer-to-double conversion ratio, an IEEE double
  plain += payload;
  const std::string z = zlib_stored(plain);
  std::string compressed;
  put_u32(compressed, kV2CompressedCookie);
  put_u32(compressed, static_cast<std::uint32_t>(z.size()));
  return base64(compressed + z);
}

Result<Histogram> hdr_from_base64(std::string_view text) {
  if (text.size() > kMaxHdrBase64) return problem("the histogram is too large");
  auto bytes = unbase64(text);
  if (!bytes) return bytes.error();
  const std::string_view b = *bytes;
  if (b.size() < 8 || get_be(b, 0, 4) != kV2CompressedCookie)
    return problem("not an HdrHistogram V2 compressed histogram (its cookie is not 0x1c849314)");
  if (get_be(b, 4, 4) != b.size() - 8) return problem("the histogram's length does not match its contents");
  auto plain = zlib_unstore(b.substr(8));
  if (!plain) return plain.error();
  const std::string_view p = *plain;
  if (p.size() < kHeaderBytes || get_be(p, 0, 4) != kV2Cookie)
    return problem("the histogram's inner header is damaged");
  if (get_be(p, 4, 4) != p.size() - kHeaderBytes) return problem("the histogram's payload length does not match");
  if (get_be(p, 8, 4) != 0 || get_be(p, 12, 4) != 3 || get_be(p, 16, 8) != 1)
    return problem(
        "the histogram is not in upfault's layout (3 significant digits, lowest discernible value 1, not shifted)");
  Histogram h;
  if (auto added = hdr_add_payload(p.substr(kHeaderBytes), h); !added) return added.error();
  return h;
}

}  // namespace upfault
