#pragma once
// The fake upstream's server: listeners and endpoints, worker threads, the route table and the
// per-scenario logs. Connections (connection.hpp) run the steps; this file only hands them out.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "io/net.hpp"
#include "tls/certs.hpp"
#include "upfault/upstream.hpp"

namespace upfault {
class UpstreamStep;
namespace h2 {
struct FixedResponse;
}
namespace upstream {

/// What the upstream saw for one scenario; connections append to it as they go.
struct ScenarioLog {
  std::mutex m;
  std::vector<ConnectionLog> connections;  ///< at most kMaxLogged entries: a long `serve` stays bounded
  std::atomic<int> requests{0};            ///< across all connections: the index of the latest request
};
inline constexpr std::size_t kMaxLogged = 10'000;
inline constexpr std::size_t kNotLogged = static_cast<std::size_t>(-1);
inline constexpr std::size_t kLogCap = 64 * 1024;  ///< bytes of a connection's input kept in its log

/// One scenario as the server routes it.
struct Route {
  std::shared_ptr<const Scenario> scenario;
  std::shared_ptr<ScenarioLog> log;
  /// For a plain scenario — read the request, send fixed bytes, keep the connection — those
  /// bytes, which the fast path sends for each request; else null.
  const std::string* plain_response = nullptr;
  /// Each step's runnable form, found once when the scenario is added (null for a StepAction made
  /// outside the step registry, which nothing here can run).
  std::vector<const UpstreamStep*> steps;
  /// For an HTTP/2 scenario whose script is one valid h2_response (after a `read`, if any): that
  /// response, which a multiplexed connection sends (Options::h2_multiplex); else null.
  std::shared_ptr<const h2::FixedResponse> h2_response;
};

/// How a request came: its connection, and the port, transport and protocol it came by.
struct Arrival {
  net::Clock::time_point accepted;
  std::uint64_t connection = 0;
  bool reused = false;    ///< the connection served another scenario's request before
  std::string_view port;  ///< the PortField name ("" for the scripted port)
  bool tls = false;
  bool http2 = false;
};

/// Adds an entry for one request's connection to the route's log; returns its index (kNotLogged
/// once the log is full) and sets `request_index` to the scenario's count of requests so far.
std::size_t open_entry(const Route& route, const Arrival& arrival, std::string_view received, ConnectionEnd end,
                       std::string ended, int& request_index);

/// Adds an entry to the route's log that counts `requests` requests and leaves the scenario's
/// request index alone (an HTTP/2 stream the upstream refused counts none); kNotLogged once full.
std::size_t add_entry(const Route& route, const Arrival& arrival, std::string_view received, ConnectionEnd end,
                      std::string ended, int requests);

/// One connection or TLS handshake counted against its cap (Options::max_connections,
/// max_handshakes) for as long as it lives; release() gives it back early.
class Slot {
 public:
  Slot() = default;
  explicit Slot(std::atomic<std::size_t>& count) : count_(&count) { ++count; }
  Slot(Slot&& o) noexcept : count_(std::exchange(o.count_, nullptr)) {}
  Slot& operator=(Slot&& o) noexcept {
    release();
    count_ = std::exchange(o.count_, nullptr);
    return *this;
  }
  ~Slot() { release(); }
  void release() {
    if (count_) --*count_;
    count_ = nullptr;
  }

 private:
  std::atomic<std::size_t>* count_ = nullptr;
};

/// One of the TLS ports (tls, tls-h2, and the handshake and certificate endpoints).
struct TlsListener {
  enum class Kind { serve, stall, garbage, alert };
  explicit TlsListener(net::asio::io_context& ioc) : acceptor(ioc) {}
  net::tcp::acceptor acceptor;
  std::string_view name;  ///< its PortField name
  Kind kind = Kind::serve;
  tls::CtxPtr ctx;  ///< for serve: the certificate and ALPN it presents
};

}  // namespace upstream

struct FakeUpstream::Impl {
  explicit Impl(Options o);

  Options options;
  // Connections open and TLS handshakes in progress, against options.max_*. Taken on `ioc` by the
  // accept loops, given back on any thread; declared before the io_contexts, whose destruction
  // ends the connections that hold them.
  std::atomic<std::size_t> open_connections{0};
  std::atomic<std::size_t> open_handshakes{0};
  bool connection_cap_noted = false;  // on `ioc`: each cap is reported once (verbose)
  bool handshake_cap_noted = false;
  // With options.threads > 1: one io_context and thread per worker; accepted connections are
  // dealt out round-robin, and each stays on its worker for life. Declared before `ioc`, so they
  // outlive it: a pending accept on `ioc` holds a socket that belongs to a worker.
  std::vector<std::unique_ptr<net::asio::io_context>> workers;
  std::vector<std::thread> worker_threads;
  std::size_t next_worker = 0;
  net::asio::io_context ioc{1};  // acceptors, and the connections too when there is one thread
  net::tcp::acceptor acceptor;
  net::tcp::acceptor refused;  ///< bound, listening only during pre-flight: connects are refused
  net::tcp::acceptor blackhole;
  std::vector<net::tcp::socket> fillers;
  bool blackhole_routed = false;  ///< under `m`: a blackhole scenario was added, so its accept queue is filled
  // Pre-flight (Options::preflight): from start() until end_preflight(), every endpoint serves the
  // scenarios routed to it, each TLS port with the valid certificate (`valid_ctx`: full handshakes,
  // so no session made in pre-flight can be resumed on a certificate port after it).
  std::atomic<bool> preflight{false};
  tls::CtxPtr valid_ctx;
  net::tcp::acceptor accept_close;
  net::tcp::acceptor accept_reset;
  std::vector<std::unique_ptr<upstream::TlsListener>> tls_listeners;
  // Under `m`: why the proxy last refused a valid certificate's handshake with an alert; a
  // connection it closed after the handshake without a request; whether any request came over TLS.
  std::string tls_refusal;
  bool tls_closed_unasked = false;
  std::string tls_on_plain;            // a ClientHello reached a plaintext port
  std::set<std::string> plain_on_tls;  // the TLS ports (PortField names) plain bytes reached instead of a ClientHello
  // Notes that plain bytes reached the TLS port `listener` (under `m`).
  void note_plain_on_tls(std::string_view listener) {
    std::lock_guard lock(m);
    plain_on_tls.emplace(listener);
  }
  bool tls_spoken = false;
  // Under `m`: who waits for a TLS note (FakeUpstream::on_tls_note), told by tell_tls_watchers().
  std::map<std::uint64_t, std::function<void()>> tls_watchers;
  std::uint64_t next_tls_watcher = 0;
  void tell_tls_watchers() const {  // called with `m` held
    for (const auto& [id, notify] : tls_watchers) notify();
  }
  std::thread thread;
  mutable std::mutex m;
  std::map<std::string, upstream::Route, std::less<>> routes;
  int unrouted = 0;
  std::set<int> reported_accept_errors;
  std::vector<net::Clock::time_point> accept_failures;  // the first kKeptFailures, under `m`
  std::condition_variable accept_failed;
  static constexpr std::size_t kKeptFailures = 64;

  /// The route for a scenario name, if it is known.
  std::optional<upstream::Route> find(std::string_view key);
  void note_unrouted();

  /// Binds every endpoint's port (options.ports; 0: the kernel picks), or names the one that failed.
  [[nodiscard]] Result<void> bind();
  [[nodiscard]] Result<void> listen(net::tcp::acceptor& a, std::uint16_t port, int backlog, std::string_view role);
  [[nodiscard]] Result<void> bind_tls();
  net::awaitable<void> tls_accept_loop(upstream::TlsListener& l);
  void fill_accept_queue();
  /// Pre-flight's accept loop on a fault port (refused, blackhole): serves each connection's scenario.
  net::awaitable<void> preflight_accept_loop(net::tcp::acceptor& a, std::string_view name);
  /// On `ioc`, as pre-flight ends: the refused port stops listening where it is bound, the blackhole's
  /// queue filled.
  [[nodiscard]] Result<void> end_preflight();
  /// Binds `refused` to `port` (0: the kernel picks) by number, without listening.
  [[nodiscard]] Result<void> bind_refused(std::uint16_t port);
  net::awaitable<void> act_before_reading(net::tcp::acceptor& a, bool reset);
  net::awaitable<bool> back_off(const net::error_code& ec, bool scripted);
  /// Returns once a connection (and with `handshake`, a TLS handshake) may start: while a cap is
  /// reached the accept loops wait here, polling every 20 ms, and new connections queue in the kernel.
  net::awaitable<void> wait_for_room(bool handshake);
  net::awaitable<void> accept_loop();
  void spawn_acceptors();
  void start_workers();
  void stop();
  net::asio::io_context& session_context();
};

}  // namespace upfault
