// The load generator behind `upfault bench`. One io_context per thread, each driving its share
// of the connections; a connection is a coroutine that sends one request at a time (keep-alive)
// and reads the response with a Beast parser that counts instead of storing. Timeouts are a
// per-thread sweep over deadlines (as wrk does), not a timer per operation.
#include "upfault/bench.hpp"
#include "upfault/interrupt.hpp"

#include <fmt/format.h>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <sys/resource.h>
#include <atomic>
#include <charconv>
#include <cmath>
#include <memory>
#include <numeric>
#include <thread>

#include "base/util.hpp"
#include "bench/bench_series.hpp"
#include "bench/bench_wire.hpp"
#include "io/net.hpp"
#include "upfault/upstream.hpp"

namespace upfault {

using namespace net;
namespace http = beast::http;
using bench_wire::classify;
using bench_wire::CountingParser;

namespace {

constexpr auto kNever = Clock::time_point::max();
constexpr auto kSweepEvery = std::chrono::milliseconds(5);
constexpr auto kConnectBackoff = std::chrono::milliseconds(10);

// What every worker reads and none writes, except the request tickets.
struct Plan {
  const BenchOptions& o;
  tcp::endpoint target;
  std::vector<std::string> requests;  // wire bytes, one per mix entry
  std::vector<std::size_t> schedule;
  Clock::time_point start, measure_from, end;
  std::atomic<std::uint64_t> tickets{0};
  bool offload_faulty = false;  // the mix has healthy and faulty entries: faulty ones go on side connections
};

struct Connection {
  explicit Connection(asio::io_context& ioc, std::size_t index) : sock(ioc), pause(ioc), id(index) {
    buf.reserve(16 * 1024);
  }
  tcp::socket sock;
  asio::steady_timer pause;
  beast::flat_buffer buf{64 * 1024};  // a chunk header or trailer longer than this is a parse error
  std::optional<CountingParser> parser;
  std::optional<Pacer> pacer;
  std::size_t id;
  std::uint64_t k = 0;
  Clock::time_point deadline = kNever;
  bool timed_out = false;
  bool in_flight = false;
  bool open = false;
};

class Worker {
 public:
  Worker(Plan& plan, std::size_t side_cap, std::size_t last_second)
      : plan_(plan),
        sweeper_(ioc_),
        stopper_(ioc_),
        side_cap_(side_cap),
        stats_(plan.o.mix.size()),
        series_(last_second) {}

  /// Ends the run early (from any thread): what was measured so far is kept.
  void request_stop() {
    asio::post(ioc_, [this] { stop(); });
  }

  void add(std::size_t id) { conns_.push_back(std::make_unique<Connection>(ioc_, id)); }

  void run() {
    live_ = conns_.size();
    for (auto& c : conns_) asio::co_spawn(ioc_, drive(*c), asio::detached);
    asio::co_spawn(ioc_, sweep(), asio::detached);
    if (plan_.end != kNever) {
      stopper_.expires_at(plan_.end);
      stopper_.async_wait([this](error_code ec) {
        if (!ec) stop();
      });
    }
    ioc_.run();
  }

  std::vector<BenchStats>& stats() { return stats_; }
  std::uint64_t connects() const { return connects_; }
  std::uint64_t in_flight_at_end() const { return in_flight_at_end_; }
  std::uint64_t side_exhausted() const { return side_exhausted_; }
  std::size_t side_connections() const { return side_.size(); }
  std::vector<BenchSecond> series() { return series_.finish(); }
  std::uint64_t sent() const { return sent_; }
  Clock::time_point last_sent() const { return last_sent_; }
  std::atomic<std::uint64_t> responses{0}, errors{0};  // measured so far, for the progress line

 private:
  // Every connection, the driving ones and the side ones.
  template <typename F>
  void for_each_connection(F&& f) {
    for (auto* list : {&conns_, &side_})
      for (auto& c : *list) f(*c);
  }

  void stop() {
    if (stopping_) return;
    stopping_ = true;
    for_each_connection([this](Connection& c) {
      if (c.in_flight) ++in_flight_at_end_;
      error_code ignored;
      c.sock.close(ignored);
      c.pause.cancel();
    });
    sweeper_.cancel();
    stopper_.cancel();
  }

  awaitable<void> sweep() {
    while (!stopping_) {
      sweeper_.expires_after(kSweepEvery);
      co_await sweeper_.async_wait(use_tuple);
      const auto now = Clock::now();
      for_each_connection([now](Connection& c) {
        if (c.deadline > now) return;
        c.timed_out = true;
        c.deadline = kNever;
        error_code ignored;
        // close, not cancel: a composed read of an endless body starts a new read after a cancel.
        c.sock.close(ignored);
      });
    }
  }

  void count_error(std::size_t entry, BenchError kind, const error_code& ec, Clock::time_point at) {
    if (at < plan_.measure_from) return;
    auto& s = stats_[entry];
    ++s.errors[static_cast<std::size_t>(kind)];
    if (kind == BenchError::other) ++s.other_errors[ec.message()];
    series_.error(second_of(at), plan_.o.mix[entry].healthy);
    errors.fetch_add(1, std::memory_order_relaxed);
  }

  void close(Connection& c) {
    error_code ignored;
    c.sock.close(ignored);
    c.open = false;
    c.buf.clear();
  }

  awaitable<bool> wait_until(Connection& c, Clock::time_point t) {
    if (t <= Clock::now()) co_return true;
    c.pause.expires_at(t);
    co_await c.pause.async_wait(use_tuple);
    co_return !stopping_;
  }

  awaitable<bool> connect(Connection& c, std::size_t entry) {
    c.sock = tcp::socket(ioc_);
    c.timed_out = false;
    c.deadline = Clock::now() + plan_.o.connect_timeout;
    auto [ec] = co_await c.sock.async_connect(plan_.target, use_tuple);
    c.deadline = kNever;
    if (stopping_) co_return false;
    ++connects_;
    if (ec) {
      count_error(entry, classify(ec, c.timed_out, true, false), ec, Clock::now());
      close(c);
      co_await wait_until(c, Clock::now() + kConnectBackoff);  // do not spin on a refusing port
      co_return false;
    }
    error_code ignored;
    c.sock.set_option(tcp::no_delay(true), ignored);
    c.open = true;
    co_return true;
  }

  // One exchange on `c`: (re)connect if needed, send, read the whole response, record it.
  awaitable<void> exchange(Connection& c, std::size_t entry, Clock::time_point intended, bool paced) {
    const auto& o = plan_.o;
    if (!c.open && !co_await connect(c, entry)) co_return;
    const auto sent = Clock::now();
    if (!paced) intended = sent;
    if (sent >= plan_.measure_from) ++sent_, last_sent_ = sent;
    c.timed_out = false;
    c.in_flight = true;
    c.deadline = sent + o.timeout;
    auto [ec, n] = co_await asio::async_write(c.sock, asio::buffer(plan_.requests[entry]), use_tuple);
    int status = 0;
    while (!ec) {
      c.parser.emplace();
      std::tie(ec, n) = co_await http::async_read(c.sock, c.buf, *c.parser, use_tuple);
      status = c.parser->status;
      if (ec || status >= 200 || status == 101) break;  // an interim 1xx: the final response follows
    }
    c.in_flight = false;
    c.deadline = kNever;
    if (stopping_) co_return;
    const auto done = Clock::now();
    if (ec) {
      count_error(entry, classify(ec, c.timed_out, false, c.parser && c.parser->is_header_done()), ec, done);
      close(c);
      co_return;
    }
    if (done >= plan_.measure_from) {
      auto& s = stats_[entry];
      const auto latency = static_cast<std::uint64_t>(std::chrono::nanoseconds(done - intended).count());
      s.latency.record(latency);
      series_.response(second_of(done), o.mix[entry].healthy, latency);
      ++s.responses;
      ++s.status[status];
      responses.fetch_add(1, std::memory_order_relaxed);
    }
    if (!c.parser->keep_alive()) close(c);
  }

  // A faulty request on a side connection of its own; the connection is idle again after it.
  awaitable<void> side_exchange(Connection& c, std::size_t entry, Clock::time_point intended, bool paced) {
    ++side_live_;
    co_await exchange(c, entry, intended, paced);
    idle_side_.push_back(&c);
    if (--side_live_ == 0 && live_ == 0) stop();  // the last exchange of a --requests run
  }

  std::size_t second_of(Clock::time_point t) const {
    return static_cast<std::size_t>((t - plan_.measure_from) / std::chrono::seconds(1));
  }

  Connection* acquire_side() {
    if (!idle_side_.empty()) {
      auto* c = idle_side_.back();
      idle_side_.pop_back();
      return c;
    }
    if (side_.size() >= side_cap_) return nullptr;
    side_.push_back(std::make_unique<Connection>(ioc_, plan_.o.connections + side_.size()));
    return side_.back().get();
  }

  awaitable<void> drive(Connection& c) {
    const auto& o = plan_.o;
    if (o.rate > 0) {
      // Each connection carries rate/N requests a second, the connections staggered evenly.
      const auto interval = std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 * o.connections / o.rate));
      c.pacer.emplace(plan_.start + interval * static_cast<std::int64_t>(c.id) / o.connections, interval);
    }
    while (!stopping_) {
      const std::size_t entry = plan_.schedule[(c.id + c.k++) % plan_.schedule.size()];
      auto intended = Clock::now();
      if (c.pacer) {
        auto slot = c.pacer->next(intended);
        intended = slot.intended;
        if (!co_await wait_until(c, slot.send_at)) break;
      }
      if (o.requests && plan_.tickets.fetch_add(1, std::memory_order_relaxed) >= o.requests) break;
      if (plan_.offload_faulty && !o.mix[entry].healthy) {
        if (Connection* side = acquire_side()) {
          asio::co_spawn(ioc_, side_exchange(*side, entry, intended, c.pacer.has_value()), asio::detached);
          continue;
        }
        // Every side connection is busy: carry it here (back-pressure), and say so.
        ++side_exhausted_;
      }
      co_await exchange(c, entry, intended, c.pacer.has_value());
    }
    if (--live_ == 0 && side_live_ == 0) stop();
  }

  Plan& plan_;
  asio::io_context ioc_{1};
  asio::steady_timer sweeper_, stopper_;
  std::vector<std::unique_ptr<Connection>> conns_;
  std::vector<std::unique_ptr<Connection>> side_;  // for faulty requests, made as needed up to side_cap_
  std::vector<Connection*> idle_side_;
  std::size_t side_cap_ = 0;
  std::vector<BenchStats> stats_;
  SeriesRecorder series_;
  std::uint64_t sent_ = 0;
  Clock::time_point last_sent_{};
  std::size_t live_ = 0;       // connections still driving
  std::size_t side_live_ = 0;  // side exchanges in flight
  bool stopping_ = false;
  std::uint64_t connects_ = 0;
  std::uint64_t in_flight_at_end_ = 0;
  std::uint64_t side_exhausted_ = 0;
};

// Waits until every worker has finished, reporting progress each second and passing on a
// Ctrl-C or SIGTERM as a request to stop.
void wait_for_workers(const BenchOptions& o, const Plan& plan, std::vector<std::unique_ptr<Worker>>& workers,
                      const std::atomic<unsigned>& finished) {
  auto next_report = plan.start + std::chrono::seconds(1);
  bool stop_requested = false;
  while (finished.load() < workers.size()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!stop_requested && interrupt::received()) {
      stop_requested = true;
      for (auto& w : workers) w->request_stop();
    }
    const auto now = Clock::now();
    if (o.on_progress && now >= next_report) {
      next_report += std::chrono::seconds(1);
      BenchProgress p;
      p.elapsed_seconds = std::chrono::duration<double>(now - plan.start).count();
      p.warming_up = now < plan.measure_from;
      for (auto& w : workers) {
        p.responses += w->responses.load(std::memory_order_relaxed);
        p.errors += w->errors.load(std::memory_order_relaxed);
      }
      o.on_progress(p);
    }
  }
}

// The workers' figures, added up.
BenchResult collect(const BenchOptions& o, const Plan& plan, std::vector<std::unique_ptr<Worker>>& workers,
                    Clock::time_point finished_at) {
  BenchResult r;
  r.per_entry.resize(o.mix.size());
  Clock::time_point last_sent = plan.measure_from;
  for (auto& w : workers) {
    for (std::size_t e = 0; e < o.mix.size(); ++e) r.per_entry[e].merge(w->stats()[e]);
    r.connects += w->connects();
    r.in_flight_at_end += w->in_flight_at_end();
    r.side_exhausted += w->side_exhausted();
    r.side_connections += w->side_connections();
    r.sent += w->sent();
    last_sent = std::max(last_sent, w->last_sent());
    merge_series(r.series, w->series());
  }
  for (std::size_t e = 0; e < o.mix.size(); ++e) {
    r.per_entry[e].wrong = wrong_answers(o.mix[e], r.per_entry[e]);
    r.total.merge(r.per_entry[e]);
    (o.mix[e].healthy ? r.healthy : r.faulty).merge(r.per_entry[e]);
  }
  const auto window_end = o.requests ? finished_at : std::min(finished_at, plan.end);
  r.seconds = std::max(0.0, std::chrono::duration<double>(window_end - plan.measure_from).count());
  r.series.resize(std::max(r.series.size(), static_cast<std::size_t>(std::ceil(r.seconds))));
  // With --requests and --rate, sending ends before the window does (the last responses are still
  // awaited): the rate counts to the last send, plus the one interval that send stands for.
  r.send_seconds = r.seconds;
  if (o.requests && r.sent && o.rate > 0)
    r.send_seconds = std::chrono::duration<double>(last_sent - plan.measure_from).count() + 1.0 / o.rate;
  r.interrupted = interrupt::received();
  return r;
}

}  // namespace

Result<BenchResult> run_bench(const BenchOptions& o) {
  if (o.mix.empty()) return problem("upfault bench: the mix is empty");
  if (o.connections == 0) return problem("upfault bench: at least one connection is needed");
  error_code ec;
  const auto address = asio::ip::make_address(o.host, ec);
  if (ec) return problem(fmt::format("{} is not an IP address: {}", o.host, ec.message()));
  Plan plan{o, tcp::endpoint(address, o.port), {}, {}, {}, {}, {}, {}, false};
  const std::string host = o.host_header.empty()
                               ? (o.host.find(':') != std::string::npos ? fmt::format("[{}]:{}", o.host, o.port)
                                                                        : fmt::format("{}:{}", o.host, o.port))
                               : o.host_header;
  std::vector<unsigned> weights;
  for (const auto& m : o.mix) {
    plan.requests.push_back(
        fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: upfault-bench\r\n\r\n", m.target, host));
    weights.push_back(m.weight);
  }
  plan.schedule = mix_schedule(weights);
  const bool any_healthy = std::any_of(o.mix.begin(), o.mix.end(), [](const MixEntry& m) { return m.healthy; });
  const bool any_faulty = std::any_of(o.mix.begin(), o.mix.end(), [](const MixEntry& m) { return !m.healthy; });
  plan.offload_faulty = any_healthy && any_faulty && o.side_connections > 0;

  const unsigned threads = std::max(1u, std::min(o.threads, o.connections));
  // Side connections need file descriptors: stay below the process's limit, leaving room for the
  // main connections and some to spare.
  std::size_t side_cap = o.side_connections;
  if (rlimit lim{}; getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    const auto room = static_cast<std::size_t>(lim.rlim_cur);
    side_cap = std::min(side_cap, room > o.connections + 128 ? room - o.connections - 128 : 0);
  }
  // A --duration run's last second takes what completes as the time runs out.
  const std::size_t last_second =
      o.requests ? SIZE_MAX
                 : static_cast<std::size_t>(std::max<std::int64_t>(1, (o.duration.count() + 999) / 1000) - 1);
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned t = 0; t < threads; ++t)
    workers.push_back(std::make_unique<Worker>(plan, (side_cap + threads - 1) / threads, last_second));
  for (std::size_t i = 0; i < o.connections; ++i) workers[i % threads]->add(i);

  plan.start = Clock::now();
  const auto wall_start = std::chrono::system_clock::now();
  plan.measure_from = plan.start + o.warmup;
  plan.end = o.requests ? kNever : plan.measure_from + o.duration;
  std::atomic<unsigned> finished{0};
  std::vector<std::thread> pool;
  for (auto& w : workers)
    pool.emplace_back([&w, &finished] {
      w->run();
      finished.fetch_add(1);
    });

  wait_for_workers(o, plan, workers, finished);
  const auto finished_at = Clock::now();
  for (auto& t : pool) t.join();

  BenchResult r = collect(o, plan, workers, finished_at);
  r.started_at = std::chrono::duration<double>((wall_start + o.warmup).time_since_epoch()).count();
  return r;
}

}  // namespace upfault
