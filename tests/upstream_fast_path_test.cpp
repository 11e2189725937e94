// The fake upstream's fast path for load (logs off, a plain scenario on a kept-alive connection):
// the same bytes as the general path, hand-over to it for anything else, the connection cap,
// several threads, and no allocation per request.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdlib>
#include <new>

#include "support.hpp"

// Counts every allocation of this test binary (operator new, and Asio's aligned_alloc) while
// `counting` is set.
namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// Every form of new that the deletes below may meet: a nothrow new left to the sanitizer's own
// allocator and freed here was an alloc-dealloc mismatch under ASan (std::stable_sort's buffer).
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
// Asio allocates coroutine frames and operations with aligned_alloc when its per-thread
// recycling cache misses: count those too (this definition takes the place of libc's).
extern "C" void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  void* p = nullptr;
  return posix_memalign(&p, alignment < sizeof(void*) ? sizeof(void*) : alignment, size) == 0 ? p : nullptr;
}

using namespace upfault;
using upfault::test::with_steps;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

const char* const kOkSteps =
    "[[upstream.steps]]\nread = \"request\"\n[[upstream.steps]]\n"
    "response = { status = 200, headers = [\"X-A: 1\"], body = \"hello\" }\n";
const char* const kOkResponse = "HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 5\r\n\r\nhello";

FakeUpstream::Options load_options(unsigned threads = 1) {
  FakeUpstream::Options o;
  o.keep_logs = false;
  o.threads = threads;
  return o;
}

// A blocking client on one kept-alive connection; reads exactly the bytes it expects.
struct Client {
  explicit Client(std::uint16_t port) : sock(ioc) { sock.connect({asio::ip::make_address("127.0.0.1"), port}); }
  std::string exchange(const std::string& request, std::size_t expect_bytes) {
    asio::write(sock, asio::buffer(request));
    std::string got(expect_bytes, '\0');
    boost::system::error_code ec;
    auto n = asio::read(sock, asio::buffer(got), ec);
    got.resize(n);
    return got;
  }
  asio::io_context ioc;
  tcp::socket sock;
};

std::string get(const std::string& scenario) { return "GET /__upfault/" + scenario + "/ HTTP/1.1\r\nHost: x\r\n\r\n"; }

// GET for the ok scenario; returns as many bytes as its response has.
std::string ask_ok(Client& c) { return c.exchange(get("ok"), std::strlen(kOkResponse)); }

}  // namespace

TEST(FastPath, SameBytesForEveryRequestOnAKeptAliveConnection) {
  auto ok = test::scenario(with_steps("ok", kOkSteps));
  FakeUpstream up(load_options());
  up.add(ok);
  up.start();
  Client c(up.port());
  for (int i = 0; i < 50; ++i) ASSERT_EQ(ask_ok(c), kOkResponse) << "request " << i;
  EXPECT_TRUE(up.log("ok").connections.empty());  // logs off: nothing recorded
}

TEST(FastPath, HandsOverToTheGeneralPathAndBack) {
  auto ok = test::scenario(with_steps("ok", kOkSteps));
  auto gone = test::scenario(with_steps("gone",
                                        "[[upstream.steps]]\nread = \"request\"\n[[upstream.steps]]\n"
                                        "response = { status = 503, body = \"x\" }\n"));
  FakeUpstream up(load_options());
  up.add(ok);
  up.add(gone);
  up.start();
  Client c(up.port());
  const std::string gone_response = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 1\r\n\r\nx";
  EXPECT_EQ(ask_ok(c), kOkResponse);
  EXPECT_EQ(c.exchange(get("gone"), gone_response.size()), gone_response);
  EXPECT_EQ(ask_ok(c), kOkResponse);
  // A request with a body leaves the fast path (the general path reads the body), then returns.
  const std::string post = "POST /__upfault/ok/ HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nping";
  EXPECT_EQ(c.exchange(post, std::strlen(kOkResponse)), kOkResponse);
  EXPECT_EQ(ask_ok(c), kOkResponse);
  // Two requests in one write (pipelined) get two responses, in order.
  EXPECT_EQ(c.exchange(get("ok") + get("gone"), std::strlen(kOkResponse) + gone_response.size()),
            kOkResponse + gone_response);
}

TEST(FastPath, AnUnknownScenarioStillGetsA404) {
  auto ok = test::scenario(with_steps("ok", kOkSteps));
  FakeUpstream up(load_options());
  up.add(ok);
  up.start();
  Client c(up.port());
  EXPECT_EQ(ask_ok(c), kOkResponse);
  auto reply = c.exchange(get("nope"), 12);
  EXPECT_EQ(reply, "HTTP/1.1 404");
  EXPECT_EQ(up.unrouted(), 1);
}

TEST(FastPath, TheConnectionCapStillHolds) {
  auto ok = test::scenario(with_steps("ok", kOkSteps));
  auto o = load_options();
  o.connection_cap = 1s;
  FakeUpstream up(o);
  up.add(ok);
  up.start();
  Client c(up.port());
  EXPECT_EQ(ask_ok(c), kOkResponse);
  // Idle in the fast path, the connection is closed once the cap is reached (the read returns EOF).
  char byte;
  boost::system::error_code ec;
  c.sock.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
}

TEST(FastPath, SeveralThreadsServeConnectionsConcurrently) {
  auto ok = test::scenario(with_steps("ok", kOkSteps));
  FakeUpstream up(load_options(3));
  up.add(ok);
  up.start();
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 6; ++i) clients.push_back(std::make_unique<Client>(up.port()));
  for (int round = 0; round < 20; ++round)
    for (auto& c : clients) ASSERT_EQ(ask_ok(*c), kOkResponse);
}

// The point of the fast path: after warm-up, serving a request allocates nothing. The client
// here uses blocking Asio calls on a prepared buffer, which allocate nothing either, so every
// allocation counted in the window would be the upstream's.
TEST(FastPath, ServingARequestAllocatesNothing) {
  auto ok = test::scenario(with_steps("ok", kOkSteps));
  FakeUpstream up(load_options());
  up.add(ok);
  up.start();
  Client c(up.port());
  const std::string request = get("ok");
  std::string reply(std::strlen(kOkResponse), '\0');
  auto once = [&] {
    asio::write(c.sock, asio::buffer(request));
    asio::read(c.sock, asio::buffer(reply));
  };
  for (int i = 0; i < 100; ++i) once();  // warm-up: frames and operations reach the recycling caches
  allocations = 0;
  counting = true;
  for (int i = 0; i < 1000; ++i) once();
  counting = false;
  EXPECT_EQ(reply, kOkResponse);
  EXPECT_EQ(allocations.load(), 0) << "allocations while serving 1000 kept-alive requests";
}
