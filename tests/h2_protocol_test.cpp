// HTTP/2 on the fake upstream, seen from a raw client on a loopback socket: the frames the h2_*
// steps send carry what the scenario wrote.
#include <gtest/gtest.h>

#include "h2/frame.hpp"
#include "h2_client.hpp"
#include "support.hpp"

using namespace upfault;
using upfault::test::h2_exchange;
using upfault::test::h2_preface;
using upfault::test::h2_request_block;
using upfault::test::with_steps;

// h2_rst_stream sends RST_STREAM with the code the scenario names (by name or number; CANCEL
// by default) on the request's stream, or on the stream it names.
TEST(H2Steps, RstStreamSendsTheScenarioCodeOnItsStream) {
  struct Case {
    std::string step;
    std::uint32_t stream;
    std::uint32_t code;
  };
  const std::vector<Case> cases = {
      {"h2_rst_stream = \"internal_error\"", 1, 2},
      {"h2_rst_stream = { error = \"refused_stream\" }", 1, 7},
      {"h2_rst_stream = { error = 4660 }", 1, 4660},
      {"h2_rst_stream = {}", 1, 8},
      {"h2_rst_stream = { error = \"enhance_your_calm\", stream = 5 }", 5, 11},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.step);
    auto s = test::scenario(with_steps("rst", "[upstream]\nprotocol = \"h2c\"\n[[upstream.steps]]\n" + c.step + "\n"));
    test::Upstream up({s});
    auto got =
        h2_exchange(up.up.port(), h2_preface() + h2::serialize_frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 1,
                                                                     h2_request_block("/__h2c/__upfault/rst/")));
    ASSERT_EQ(got.count(h2::kRstStream), 1u) << got.text();
    const auto rst = got.rst_stream();
    ASSERT_TRUE(rst) << got.text();
    EXPECT_EQ(rst->stream, c.stream);
    EXPECT_EQ(rst->code, c.code);
    EXPECT_EQ(got.frames.back().header.type, h2::kGoaway) << got.text();  // then the script's end
  }
}
