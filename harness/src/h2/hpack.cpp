// HPACK through nghttp2 (see hpack.hpp).
#include "h2/hpack.hpp"

#include <nghttp2/nghttp2.h>

#include <new>

namespace upfault::h2 {

Encoder::Encoder() {
  if (nghttp2_hd_deflate_new(&d_, 4096) != 0) throw std::bad_alloc();
}
Encoder::~Encoder() { nghttp2_hd_deflate_del(d_); }

std::optional<std::string> Encoder::encode(const std::vector<Field>& fields) {
  std::vector<nghttp2_nv> nva;
  nva.reserve(fields.size());
  for (const auto& [name, value] : fields) {
    // nghttp2 only reads these buffers; its API takes them as non-const.
    nva.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                   reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                   NGHTTP2_NV_FLAG_NONE});
  }
  std::string out(nghttp2_hd_deflate_bound(d_, nva.data(), nva.size()), '\0');
  const auto n =
      nghttp2_hd_deflate_hd(d_, reinterpret_cast<std::uint8_t*>(out.data()), out.size(), nva.data(), nva.size());
  if (n < 0) return std::nullopt;
  out.resize(static_cast<std::size_t>(n));
  return out;
}

Decoder::Decoder(std::size_t max_list_size) : max_list_size_(max_list_size) {
  if (nghttp2_hd_inflate_new(&i_) != 0) throw std::bad_alloc();
}
Decoder::~Decoder() { nghttp2_hd_inflate_del(i_); }

Result<std::vector<Field>> Decoder::decode(std::string_view block) {
  std::vector<Field> out;
  auto* in = reinterpret_cast<const std::uint8_t*>(block.data());
  std::size_t left = block.size();
  std::size_t list_size = 0;
  while (true) {
    nghttp2_nv nv;
    int flags = 0;
    const auto n = nghttp2_hd_inflate_hd2(i_, &nv, &flags, in, left, 1);
    if (n < 0) return problem(nghttp2_strerror(static_cast<int>(n)));
    in += n;
    left -= static_cast<std::size_t>(n);
    if (flags & NGHTTP2_HD_INFLATE_EMIT) {
      list_size += nv.namelen + nv.valuelen + 32;
      if (list_size > max_list_size_) return problem("header list over the size limit");
      out.emplace_back(std::string(reinterpret_cast<char*>(nv.name), nv.namelen),
                       std::string(reinterpret_cast<char*>(nv.value), nv.valuelen));
    }
    if (flags & NGHTTP2_HD_INFLATE_FINAL) {
      nghttp2_hd_inflate_end_headers(i_);
      return out;
    }
    if (n == 0 && left == 0 && !(flags & NGHTTP2_HD_INFLATE_EMIT)) return problem("truncated header block");
  }
}

}  // namespace upfault::h2
