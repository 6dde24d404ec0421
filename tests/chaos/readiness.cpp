#include "readiness.hpp"

#include <httplib.h>

#include <fmt/format.h>

namespace modsync::chaos {

bool metrics_show_outage(const std::string& metrics) {
  size_t at = 0;
  while (at < metrics.size()) {
    size_t end = metrics.find('\n', at);
    if (end == std::string::npos) end = metrics.size();
    const std::string_view line(metrics.data() + at, end - at);
    at = end + 1;
    if (line.size() < 2 || line.substr(line.size() - 2) != " 1") continue;
    const bool state =
        line.rfind("modsync_capture_state{", 0) == 0 || line.rfind("modsync_apply_state{", 0) == 0;
    if (state && (line.find("state=\"retrying\"") != std::string_view::npos ||
                  line.find("state=\"failed\"") != std::string_view::npos ||
                  line.find("state=\"stalled\"") != std::string_view::npos)) {
      return true;
    }
    if (line.rfind("modsync_kafka_delivery_stalled{", 0) == 0 ||
        line.rfind("modsync_kafka_fetch_stalled{", 0) == 0) {
      return true;
    }
  }
  return false;
}

ReadinessWatch::ReadinessWatch(int port) : port_(port), thread_([this] { run(); }) {}

ReadinessWatch::~ReadinessWatch() {
  stop_ = true;
  thread_.join();
}

void ReadinessWatch::run() {
  while (!stop_.load()) {
    const auto next = Clock::now() + std::chrono::milliseconds(100);
    Sample s;
    {
      httplib::Client client("127.0.0.1", port_);
      client.set_connection_timeout(0, 300000);
      client.set_read_timeout(1, 0);
      s.at = Clock::now();
      if (auto res = client.Get("/readyz")) {
        s.code = res->status;
        if (s.code != 200) {
          s.body = res->body;
          if (auto m = client.Get("/metrics")) s.metrics_show = metrics_show_outage(m->body);
        }
      }
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      samples_.push_back(std::move(s));
    }
    std::this_thread::sleep_until(next);
  }
}

std::vector<ReadinessWatch::Sample> ReadinessWatch::between(Clock::time_point from,
                                                            Clock::time_point to) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Sample> out;
  for (const auto& s : samples_)
    if (s.at >= from && s.at <= to) out.push_back(s);
  return out;
}

OutageCheck check_outages(const ReadinessWatch& watch, const std::vector<Outage>& outages,
                          const std::vector<ReadinessWatch::Clock::time_point>& starts,
                          std::chrono::milliseconds grace) {
  OutageCheck out;
  for (const auto& o : outages) {
    const auto from = o.start;
    auto to = o.end + grace;
    bool restarted = false;
    for (const auto& s : starts) {
      // A daemon (re)started just before or during the outage was not up to see it; one
      // started after it ends the window.
      if (s >= from - std::chrono::seconds(2) && s <= o.end) restarted = true;
      if (s > o.end && s < to) to = s;
    }
    if (restarted) {
      ++out.skipped;
      continue;
    }
    ++out.checked;
    bool named = false, in_metrics = false;
    int answered = 0;
    for (const auto& s : watch.between(from, to)) {
      if (s.code != 0) ++answered;
      if (s.code != 503) continue;
      bool names = false;
      for (const auto& e : o.expect) names = names || s.body.find(e) != std::string::npos;
      named = named || names;
      in_metrics = in_metrics || (names && s.metrics_show);
    }
    if (!named || !in_metrics) {
      out.problems.push_back(fmt::format(
          "{}: {} ({} answers from the endpoint in the {} ms after it began)", o.what,
          !named ? "/readyz never answered 503 naming it" : "/metrics never showed it with /readyz",
          answered, std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count()));
    }
  }
  return out;
}

}  // namespace modsync::chaos
