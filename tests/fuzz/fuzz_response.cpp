// libFuzzer target: any bytes as what a proxy sends back, fed to the client's reader in the
// splits the first byte chooses. The reader must classify them (complete / need more / error)
// the same way however they are split, and never crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "upfault/http.hpp"

namespace {
upfault::ResponseReader::State classify(std::string_view bytes, std::size_t step, bool* header) {
  upfault::ResponseReader r;
  for (std::size_t at = 0; at < bytes.size() && r.state() == upfault::ResponseReader::State::need_more; at += step)
    r.feed(bytes.substr(at, step));
  if (r.state() == upfault::ResponseReader::State::need_more) r.eof();
  *header = r.header_done();
  return r.state();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = 1 + data[0] % 17;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  bool whole_header = false, split_header = false;
  const auto whole = classify(bytes, bytes.size() + 1, &whole_header);
  const auto split = classify(bytes, step, &split_header);
  if (whole != split || whole_header != split_header) std::abort();  // splitting must not change the verdict
  return 0;
}
