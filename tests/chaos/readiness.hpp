#pragma once
// What the daemon's HTTP endpoint said while the chaos test's faults ran: /readyz sampled every
// 100 ms and, when not ready, whether /metrics showed the outage too (docs/testing.md).

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace modsync::chaos {

class ReadinessWatch {
 public:
  using Clock = std::chrono::steady_clock;
  struct Sample {
    Clock::time_point at;
    int code = 0;               ///< 0: the daemon did not answer (killed, restarting)
    std::string body;           ///< /readyz's reasons when not ready
    bool metrics_show = false;  ///< a pipeline state metric said retrying/failed/stalled
  };

  explicit ReadinessWatch(int port);
  ~ReadinessWatch();
  ReadinessWatch(const ReadinessWatch&) = delete;
  ReadinessWatch& operator=(const ReadinessWatch&) = delete;

  /// Samples taken in [from, to].
  std::vector<Sample> between(Clock::time_point from, Clock::time_point to) const;

 private:
  void run();

  int port_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<Sample> samples_;
  std::thread thread_;
};

/// A fault that takes a server away; /readyz must say so, naming `expect` in a reason.
struct Outage {
  std::string what;
  ReadinessWatch::Clock::time_point start, end;
  std::vector<std::string> expect;  ///< one of these in a /readyz reason
};

struct OutageCheck {
  int checked = 0;
  int skipped = 0;  ///< a daemon restart near the outage: nothing to expect from the endpoint
  std::vector<std::string> problems;
};

/// Each outage must show while it lasts (or within `grace` after, the time to notice; a daemon
/// start after it ends that window): a /readyz 503 naming it, and /metrics showing an outage
/// state at the same time. Outages with a daemon (re)start in [start - 2 s, end] are skipped.
OutageCheck check_outages(const ReadinessWatch& watch, const std::vector<Outage>& outages,
                          const std::vector<ReadinessWatch::Clock::time_point>& starts,
                          std::chrono::milliseconds grace);

/// True when a /metrics text has a pipeline in an outage state: a capture or apply state
/// series `…state="retrying|failed|stalled"} 1`, or a Kafka stall flag at 1.
bool metrics_show_outage(const std::string& metrics);

}  // namespace modsync::chaos
