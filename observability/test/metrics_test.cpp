#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "modsync/common/error.hpp"
#include "modsync/observability/metrics.hpp"

using namespace modsync::observability;

TEST_CASE("a registry renders owned counters, gauges and collectors in the text format") {
  MetricsRegistry registry;
  registry.counter("modsync_test_total", "A test counter.", {{"pair", "a"}}).inc(3);
  registry.counter("modsync_test_total", "A test counter.", {{"pair", "b"}}).inc();
  registry.gauge("modsync_up", "1 when running.").set(1);
  registry.add_collector([](MetricsWriter& out) {
    out.gauge("modsync_source_lag_bytes", "WAL not yet confirmed, in bytes.",
              {{"pair", "orders-to-shipping"}, {"module", "orders"}}, uint64_t{72});
    // A family already written by the registry gets the collector's samples under one header.
    out.counter("modsync_test_total", "A test counter.", {{"pair", "c"}}, uint64_t{7});
  });

  CHECK(registry.render() ==
        "# HELP modsync_source_lag_bytes WAL not yet confirmed, in bytes.\n"
        "# TYPE modsync_source_lag_bytes gauge\n"
        "modsync_source_lag_bytes{pair=\"orders-to-shipping\",module=\"orders\"} 72\n"
        "# HELP modsync_test_total A test counter.\n"
        "# TYPE modsync_test_total counter\n"
        "modsync_test_total{pair=\"a\"} 3\n"
        "modsync_test_total{pair=\"b\"} 1\n"
        "modsync_test_total{pair=\"c\"} 7\n"
        "# HELP modsync_up 1 when running.\n"
        "# TYPE modsync_up gauge\n"
        "modsync_up 1\n");
}

TEST_CASE("label values and help text are escaped") {
  MetricsWriter out;
  out.gauge("modsync_x", "Help with \\ backslash\nand newline.",
            {{"v", "quote \" backslash \\ newline \n tab \t end"}}, 1.5);
  CHECK(out.render() ==
        "# HELP modsync_x Help with \\\\ backslash\\nand newline.\n"
        "# TYPE modsync_x gauge\n"
        "modsync_x{v=\"quote \\\" backslash \\\\ newline \\n tab \t end\"} 1.5\n");
}

TEST_CASE("values: integers exactly, special floats as Prometheus spells them") {
  MetricsWriter out;
  out.gauge("modsync_lsn", "", {}, uint64_t{18446744073709551615u});
  out.gauge("modsync_neg", "", {}, int64_t{-5});
  out.gauge("modsync_inf", "", {{"s", "p"}}, std::numeric_limits<double>::infinity());
  out.gauge("modsync_inf", "", {{"s", "n"}}, -std::numeric_limits<double>::infinity());
  out.gauge("modsync_nan", "", {}, std::numeric_limits<double>::quiet_NaN());
  out.gauge("modsync_whole", "", {}, 3.0);
  CHECK(out.render() ==
        "# TYPE modsync_inf gauge\n"
        "modsync_inf{s=\"p\"} +Inf\n"
        "modsync_inf{s=\"n\"} -Inf\n"
        "# TYPE modsync_lsn gauge\n"
        "modsync_lsn 18446744073709551615\n"
        "# TYPE modsync_nan gauge\n"
        "modsync_nan NaN\n"
        "# TYPE modsync_neg gauge\n"
        "modsync_neg -5\n"
        "# TYPE modsync_whole gauge\n"
        "modsync_whole 3\n");
}

TEST_CASE("a histogram renders cumulative buckets, +Inf, sum and count") {
  MetricsRegistry registry;
  auto& h =
      registry.histogram("modsync_batch_rows", "Rows per batch.", {{"pair", "p"}}, {1, 10, 100});
  for (double v : {0.5, 1.0, 5.0, 50.0, 500.0}) h.observe(v);
  CHECK(registry.render() ==
        "# HELP modsync_batch_rows Rows per batch.\n"
        "# TYPE modsync_batch_rows histogram\n"
        "modsync_batch_rows_bucket{pair=\"p\",le=\"1\"} 2\n"
        "modsync_batch_rows_bucket{pair=\"p\",le=\"10\"} 3\n"
        "modsync_batch_rows_bucket{pair=\"p\",le=\"100\"} 4\n"
        "modsync_batch_rows_bucket{pair=\"p\",le=\"+Inf\"} 5\n"
        "modsync_batch_rows_sum{pair=\"p\"} 556.5\n"
        "modsync_batch_rows_count{pair=\"p\"} 5\n");
}

TEST_CASE("histogram bounds with fractions render as short decimals") {
  Histogram h(latency_buckets_seconds());
  h.observe(0.003);
  MetricsWriter out;
  out.histogram("modsync_apply_seconds", "", {}, h.snapshot());
  const std::string text = out.render();
  CHECK(text.find("modsync_apply_seconds_bucket{le=\"0.0025\"} 0\n") != std::string::npos);
  CHECK(text.find("modsync_apply_seconds_bucket{le=\"0.005\"} 1\n") != std::string::npos);
  CHECK(text.find("modsync_apply_seconds_bucket{le=\"60\"} 1\n") != std::string::npos);
  CHECK(text.find("modsync_apply_seconds_sum 0.003\n") != std::string::npos);
}

TEST_CASE("bad names, reserved labels and type conflicts are programming errors") {
  MetricsWriter out;
  CHECK_THROWS_WITH(out.gauge("1bad", "", {}, 1.0),
                    "metric name \"1bad\" is invalid: use [a-zA-Z_:][a-zA-Z0-9_:]*");
  CHECK_THROWS_WITH(out.gauge("modsync_x", "", {{"bad-label", "v"}}, 1.0),
                    "metric modsync_x: label name \"bad-label\" is invalid: use "
                    "[a-zA-Z_][a-zA-Z0-9_]*, not starting with __");
  CHECK_THROWS_WITH(out.histogram("modsync_h", "", {{"le", "1"}}, HistogramSnapshot{}),
                    "histogram modsync_h: the label name \"le\" is reserved");
  out.gauge("modsync_y", "", {}, 1.0);
  CHECK_THROWS_WITH(out.counter("modsync_y", "", {}, uint64_t{1}),
                    "metric modsync_y written as gauge and as counter: one name, one type");
  CHECK_THROWS_AS(Histogram({1, 1}), modsync::Error);

  MetricsRegistry registry;
  registry.counter("modsync_z_total", "help");
  CHECK_THROWS_AS(registry.gauge("modsync_z_total", "help"), modsync::Error);
}

TEST_CASE("the same name and labels return the same metric") {
  MetricsRegistry registry;
  auto& a = registry.counter("modsync_c_total", "h", {{"k", "v"}});
  auto& b = registry.counter("modsync_c_total", "h", {{"k", "v"}});
  CHECK(&a == &b);
  CHECK(&a != &registry.counter("modsync_c_total", "h", {{"k", "w"}}));
}

TEST_CASE("removed collectors no longer run, and counters count across threads") {
  MetricsRegistry registry;
  auto id = registry.add_collector(
      [](MetricsWriter& out) { out.gauge("modsync_g", "", {}, uint64_t{1}); });
  CHECK(registry.render() == "# TYPE modsync_g gauge\nmodsync_g 1\n");
  registry.remove_collector(id);
  CHECK(registry.render().empty());

  auto& c = registry.counter("modsync_n_total", "");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c] {
      for (int i = 0; i < 10000; ++i) c.inc();
    });
  }
  for (auto& t : threads) t.join();
  CHECK(c.value() == 40000);
}

TEST_CASE("a collector registration removes its collector when reset, moved over or destroyed") {
  MetricsRegistry registry;
  const auto gauge = [](const char* name) {
    return [name](MetricsWriter& out) { out.gauge(name, "", {}, uint64_t{1}); };
  };
  {
    CollectorRegistration a(registry, gauge("modsync_a"));
    CHECK(a.registered());
    CHECK(registry.render() == "# TYPE modsync_a gauge\nmodsync_a 1\n");
    CollectorRegistration moved(std::move(a));
    CHECK_FALSE(a.registered());
    a.reset();  // nothing left to remove: the moved-to one still renders
    CHECK(registry.render() == "# TYPE modsync_a gauge\nmodsync_a 1\n");
    moved = CollectorRegistration(registry, gauge("modsync_b"));  // replaces, removing modsync_a
    CHECK(registry.render() == "# TYPE modsync_b gauge\nmodsync_b 1\n");
  }
  CHECK(registry.render().empty());
}
