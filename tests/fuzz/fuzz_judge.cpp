// libFuzzer target: any bytes as what a proxy sends back, read as the client reads them, then
// judged against scenarios with every kind of expectation and written in every report format.
// Nothing may crash; the JSON must parse as JSON (valid UTF-8), the JUnit XML and the terminal
// line must hold no control byte but tab and newline, whatever the proxy sent.
#include <fmt/format.h>
#include <string.h>
#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "upfault/http.hpp"
#include "upfault/loader.hpp"
#include "upfault/report.hpp"
#include "upfault/verdict.hpp"

namespace {

const std::vector<upfault::Scenario>& scenarios() {
  static const auto loaded = [] {
    const char* kHead =
        "summary = \"s\"\nrfc = \"RFC 9110 §15.6.3\"\nlevel = \"must\"\n[[upstream.steps]]\nread = \"head\"\n"
        "[[upstream.steps]]\nresponse = { status = 503, headers = [\"X-Why: x\"], body = \"down\" }\n";
    const char* kExpect[] = {
        "[expect]\nstatus = [502, 504]\nwithin = \"2 * read_timeout\"",
        "[expect]\npassthrough = true",
        "[expect]\naborted = true\n[[expect.or]]\nstatus = 502\n[[expect.stricter]]\nstatus = 500",
        "[expect]\nstatus = 200\nheaders_match = [\"X-A: (a|b)*c+\", \"Via: 1\\\\.1 .*\"]\nheader_present = [\"X-B\"]",
        "[expect]\nstatus = 200\nheaders = [\"X-A: yes\"]\nheader_absent = [\"Connection\"]\nbody = \"ok\"\ninterim = "
        "[100]",
    };
    std::vector<upfault::Scenario> out;
    int i = 0;
    for (const char* e : kExpect) {
      auto r = upfault::load_scenario_text(fmt::format("name = \"j{}\"\n{}{}\n", i++, kHead, e), "judge.toml", "fuzz");
      if (r.scenarios.size() != 1) std::abort();  // the target's own scenarios must load
      out.push_back(r.scenarios.front());
    }
    return out;
  }();
  return loaded;
}

// What the client records, built as client.cpp builds it.
upfault::ClientResult observe(std::string_view bytes, std::size_t step) {
  upfault::ClientResult c;
  upfault::ResponseReader reader;
  for (std::size_t at = 0; at < bytes.size() && reader.state() == upfault::ResponseReader::State::need_more;
       at += step) {
    auto piece = bytes.substr(at, step);
    c.raw_total += piece.size();
    if (c.raw.size() < 64 * 1024) c.raw.append(piece.substr(0, 64 * 1024 - c.raw.size()));
    reader.feed(piece);
  }
  if (reader.state() == upfault::ResponseReader::State::need_more) reader.eof();
  c.ending = reader.state() == upfault::ResponseReader::State::complete ? upfault::Ending::complete
             : reader.header_done()                                     ? upfault::Ending::closed_early
                                                                        : upfault::Ending::invalid;
  c.error = reader.error();
  reader.record(c);
  c.elapsed = upfault::Millis{static_cast<long>(bytes.size() % 5000)};
  return c;
}

void require_clean_text(std::string_view text) {
  for (char c : text) {
    const auto ch = static_cast<unsigned char>(c);
    if ((ch < 0x20 && ch != '\n' && ch != '\t' && ch != '\r') || ch == 0x7f) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = 1 + data[0] % 23;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto client = observe(bytes, step);
  std::vector<upfault::ScenarioResult> results;
  for (const auto& s : scenarios()) {
    upfault::ScenarioResult r;
    r.scenario = std::make_shared<const upfault::Scenario>(s);
    r.client = client;
    r.verdict = upfault::evaluate(s, client, {}, upfault::ProxyTimeouts{});
    if (r.verdict.reason.empty()) std::abort();
    results.push_back(std::move(r));
  }
  const upfault::ProxyInfo proxy{"fuzz", std::string(bytes.substr(0, 40)), "http://127.0.0.1:1"};
  try {
    (void)boost::json::parse(upfault::to_json(proxy, results, 1.0));
  } catch (const std::exception&) {
    std::abort();  // the JSON report is not JSON
  }
  require_clean_text(upfault::to_junit(proxy, results, 1.0));
  require_clean_text(upfault::to_markdown_summary(proxy, results, 1.0));
  char line[1 << 16];
  if (std::FILE* f = fmemopen(line, sizeof line, "w")) {
    for (const auto& r : results) upfault::print_result(f, r, false, true);
    std::fclose(f);
    require_clean_text(std::string_view(line, strnlen(line, sizeof line)));
  }
  return 0;
}
