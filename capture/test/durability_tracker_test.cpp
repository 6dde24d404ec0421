#include "durability_tracker.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <random>
#include <vector>

namespace modsync::capture {
namespace {

Position pos(uint64_t commit, uint32_t index) {
  return Position{Lsn{commit}, index};
}

/// Records what checkpoint_due() says, as the pipeline does, and returns it.
std::optional<checkpoint::SourceCheckpoint> record(DurabilityTracker& t, bool in_tx = false) {
  auto due = t.checkpoint_due(in_tx, 1);
  if (due) t.recorded(*due);
  return due;
}

TEST_CASE("acks in order move the acked position and complete the transaction", "[durability]") {
  DurabilityTracker t;
  const auto a = t.add(pos(0x100, 0));
  const auto b = t.add(pos(0x100, 1));
  t.end_unit(Lsn{0x180});
  t.acked(a);
  CHECK(t.acked_position() == pos(0x100, 0));
  auto due = record(t);
  REQUIRE(due);
  CHECK(due->acked == pos(0x100, 0));
  CHECK(due->confirmed == Lsn{});  // the transaction is not complete
  t.acked(b);
  due = record(t);
  REQUIRE(due);
  CHECK(due->acked == pos(0x100, 1));
  CHECK(due->confirmed == Lsn{0x180});
  CHECK(t.confirmed() == Lsn{0x180});
  CHECK(t.pending() == 0);
  CHECK_FALSE(record(t));  // nothing changed
}

TEST_CASE("acks out of order wait for the oldest unacknowledged event", "[durability]") {
  DurabilityTracker t;
  const auto a = t.add(pos(0x100, 0));
  const auto b = t.add(pos(0x100, 1));
  t.end_unit(Lsn{0x180});
  const auto c = t.add(pos(0x200, 0));
  t.end_unit(Lsn{0x280});
  t.acked(c);
  t.acked(b);
  CHECK_FALSE(t.acked_position());
  CHECK_FALSE(record(t));
  t.acked(b);             // repeated: ignored
  t.acked(EventSeq{99});  // unknown: ignored
  t.acked(a);
  CHECK(t.acked_position() == pos(0x200, 0));
  const auto due = record(t);
  REQUIRE(due);
  CHECK(due->confirmed == Lsn{0x280});
}

TEST_CASE("events without a position hold back units but never move the acked position",
          "[durability]") {
  DurabilityTracker t;
  const auto begin = t.add(std::nullopt);  // a BEGIN record
  const auto row = t.add(pos(0x100, 0));
  const auto end = t.add(std::nullopt);  // the END record
  t.end_unit(Lsn{0x180});
  t.acked(row);
  t.acked(begin);
  CHECK(t.acked_position() == pos(0x100, 0));
  auto due = record(t);
  REQUIRE(due);
  CHECK(due->confirmed == Lsn{});  // END not acknowledged yet
  t.acked(end);
  CHECK(t.acked_position() == pos(0x100, 0));
  due = record(t);
  REQUIRE(due);
  CHECK(due->confirmed == Lsn{0x180});
}

TEST_CASE("a delivery error stops the recorded and confirmed positions before the event",
          "[durability]") {
  // The chaos finding's shape: a transaction's first event reaches Kafka, the next ones fail,
  // a later transaction's events are acknowledged (another partition), and a keepalive comes.
  DurabilityTracker t;
  const auto t1_part = t.add(pos(0x100, 0));
  const auto t1_line_delete = t.add(std::nullopt);
  const auto t1_line_tombstone = t.add(pos(0x100, 1));
  const auto t1_note = t.add(pos(0x100, 2));
  t.end_unit(Lsn{0x180});
  const auto t2_line = t.add(pos(0x200, 0));
  t.end_unit(Lsn{0x280});

  t.acked(t1_part);
  t.failed(t1_line_delete);
  t.acked(t1_line_tombstone);
  t.failed(t1_note);
  t.acked(t2_line);
  CHECK(t.has_failure());
  t.keepalive(Lsn{0x300}, false);

  auto due = record(t);
  REQUIRE(due);
  CHECK(due->acked == pos(0x100, 0));
  CHECK(due->confirmed == Lsn{});
  // Whatever is reported afterwards for the failed event (a late success) cannot count.
  t.acked(t1_line_delete);
  t.acked(t1_note);
  t.keepalive(Lsn{0x400}, false);
  CHECK(t.acked_position() == pos(0x100, 0));
  CHECK_FALSE(record(t));
  CHECK(t.confirmed() == Lsn{});
  CHECK(t.resume_after() == pos(0x100, 0));
}

TEST_CASE("a failed delete keeps its tombstone's position from being recorded", "[durability]") {
  DurabilityTracker t;
  const auto del = t.add(std::nullopt);
  const auto tombstone = t.add(pos(0x100, 0));
  t.end_unit(Lsn{0x180});
  t.acked(tombstone);
  t.failed(del);
  CHECK_FALSE(t.acked_position());
  CHECK_FALSE(record(t));
}

TEST_CASE("a failure is forgotten with the run, and the recorded position stays", "[durability]") {
  DurabilityTracker t;
  const auto a = t.add(pos(0x100, 0));
  const auto b = t.add(pos(0x100, 1));
  t.end_unit(Lsn{0x180});
  t.acked(a);
  record(t);
  t.failed(b);
  t.forget_in_flight();
  CHECK_FALSE(t.has_failure());
  CHECK(t.pending() == 0);
  CHECK(t.resume_after() == pos(0x100, 0));
  // A late report from the old run's producer matches nothing of the new run.
  const auto c = t.add(pos(0x100, 1));
  t.acked(b);
  CHECK(t.pending() == 1);
  CHECK(c > b);
  CHECK_FALSE(record(t));
  t.acked(c);
  t.end_unit(Lsn{0x180});
  const auto due = record(t);
  REQUIRE(due);
  CHECK(due->acked == pos(0x100, 1));
  CHECK(due->confirmed == Lsn{0x180});
}

TEST_CASE("an idle keepalive is confirmed only when nothing is in flight or open", "[durability]") {
  DurabilityTracker t;
  SECTION("idle: the keepalive's WAL end is confirmed") {
    t.keepalive(Lsn{0x500}, false);
    const auto due = record(t);
    REQUIRE(due);
    CHECK(due->confirmed == Lsn{0x500});
    CHECK(t.received_lsn() == Lsn{0x500});
  }
  SECTION("inside a transaction: not confirmed") {
    t.keepalive(Lsn{0x500}, true);
    CHECK_FALSE(record(t, true));
    CHECK_FALSE(record(t, false));  // the keepalive was not idle when it came
  }
  SECTION("events in flight: not confirmed, not even after they are acknowledged") {
    const auto a = t.add(pos(0x400, 0));
    t.keepalive(Lsn{0x500}, false);
    CHECK_FALSE(record(t));
    t.acked(a);  // the transaction has not ended: its unit is open
    const auto due = record(t);
    REQUIRE(due);
    CHECK(due->acked == pos(0x400, 0));
    CHECK(due->confirmed == Lsn{});
  }
  SECTION("an idle keepalive seen before a transaction is confirmed once it is acknowledged") {
    t.keepalive(Lsn{0x300}, false);
    const auto a = t.add(pos(0x400, 0));
    t.end_unit(Lsn{0x480});
    CHECK_FALSE(record(t));  // in flight: not even the idle LSN (it would be safe, but wait)
    t.acked(a);
    const auto due = record(t);
    REQUIRE(due);
    CHECK(due->confirmed == Lsn{0x480});
  }
  SECTION("after a delivery error: not confirmed") {
    const auto a = t.add(pos(0x400, 0));
    t.end_unit(Lsn{0x480});
    t.failed(a);
    t.keepalive(Lsn{0x500}, false);
    CHECK_FALSE(record(t));
  }
}

TEST_CASE("the confirmed LSN never moves back", "[durability]") {
  DurabilityTracker t;
  t.resume(checkpoint::SourceCheckpoint{pos(0x900, 3), Lsn{0x980}, 0});
  CHECK(t.confirmed() == Lsn{0x980});
  CHECK(t.resume_after() == pos(0x900, 3));
  // A replayed transaction before the recorded position: entirely skipped by the mapper, its
  // end reported with nothing in flight.
  t.end_unit(Lsn{0x880});
  t.keepalive(Lsn{0x700}, false);
  CHECK_FALSE(record(t));
  CHECK(t.confirmed() == Lsn{0x980});
}

TEST_CASE("resuming from nothing, or from a zero position, skips nothing", "[durability]") {
  DurabilityTracker t;
  t.resume(std::nullopt);
  CHECK_FALSE(t.resume_after());
  t.resume(checkpoint::SourceCheckpoint{Position{}, Lsn{0x100}, 0});
  CHECK_FALSE(t.resume_after());
  CHECK(t.confirmed() == Lsn{0x100});
}

TEST_CASE("snapshot chunks complete by their own token, apart from LSNs", "[durability]") {
  DurabilityTracker t;
  const auto r1 = t.add(std::nullopt);
  const auto r2 = t.add(std::nullopt);
  t.end_chunk(ChunkToken{1});
  const auto r3 = t.add(std::nullopt);
  t.end_chunk(ChunkToken{2});
  t.acked(r3);
  t.acked(r1);
  CHECK_FALSE(t.completed_chunk());
  t.acked(r2);
  CHECK(t.completed_chunk() == ChunkToken{2});
  // A chunk is never a position to confirm.
  CHECK_FALSE(record(t));
  CHECK(t.confirmed() == Lsn{});
  t.end_chunk(ChunkToken{3});  // nothing in flight: complete at once
  CHECK(t.completed_chunk() == ChunkToken{3});
  t.forget_in_flight();
  CHECK_FALSE(t.completed_chunk());
}

TEST_CASE("a failed snapshot row keeps its chunk from completing", "[durability]") {
  DurabilityTracker t;
  const auto r1 = t.add(std::nullopt);
  t.end_chunk(ChunkToken{1});
  const auto r2 = t.add(std::nullopt);
  t.end_chunk(ChunkToken{2});
  t.acked(r1);
  t.failed(r2);
  t.acked(r2);
  CHECK(t.completed_chunk() == ChunkToken{1});
}

/// Random interleavings: transactions of random sizes (some events without a position, some
/// failing), acknowledged in random order, with keepalives and checkpoints in between. After
/// every step, what is recorded must be covered by Kafka: every event at or before the
/// recorded acked position, and every event of a unit at or before the confirmed LSN, was
/// acknowledged, and no failed event is among them.
TEST_CASE("events in flight keep their order across the queue's wrap-around and growth",
          "[durability]") {
  // The tracker's queue is a ring of 1024 entries at first: the oldest events are acknowledged
  // once its start has moved, so later events wrap around and then outgrow it.
  DurabilityTracker t;
  std::vector<EventSeq> seqs;
  uint32_t index = 0;
  const auto add = [&](int n) {
    for (int i = 0; i < n; ++i) seqs.push_back(t.add(pos(0x100, index++)));
  };
  add(1000);
  for (int i = 0; i < 600; ++i) t.acked(seqs[i]);
  CHECK(t.acked_position() == pos(0x100, 599));
  CHECK(t.pending() == 400);
  add(3000);  // wraps at 1024, grows twice while wrapped
  CHECK(t.pending() == 3400);
  for (size_t i = 600; i < 1700; ++i) t.acked(seqs[i]);
  CHECK(t.acked_position() == pos(0x100, 1699));
  CHECK(t.pending() == 2300);
  // Acknowledged newest first: the position moves only with the oldest.
  for (size_t i = seqs.size() - 1; i > 1700; --i) t.acked(seqs[i]);
  CHECK(t.acked_position() == pos(0x100, 1699));
  t.end_unit(Lsn{0x200});
  t.acked(seqs[1700]);
  CHECK(t.acked_position() == pos(0x100, 3999));
  CHECK(t.pending() == 0);
  const auto due = record(t);
  REQUIRE(due);
  CHECK(due->confirmed == Lsn{0x200});
  // Reused after emptying: a new event is tracked from the ring's new start.
  const auto next = t.add(pos(0x300, 0));
  t.acked(next);
  CHECK(t.acked_position() == pos(0x300, 0));
}

TEST_CASE("random interleavings never record past an unacknowledged or failed event",
          "[durability]") {
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    auto chance = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
    struct Event {
      EventSeq seq;
      std::optional<Position> position;
      Lsn unit_end;  ///< the end LSN of the unit it belongs to
      bool acked = false, failed = false;
    };
    std::vector<Event> events;
    std::vector<size_t> in_flight;
    DurabilityTracker t;
    uint64_t lsn = 0x1000;
    Lsn last_end;  // the end of the last unit received: what a keepalive may say
    bool in_tx = false;
    uint32_t index = 0;
    uint64_t commit = 0;
    for (int step = 0; step < 400; ++step) {
      const int what = static_cast<int>(rng() % 10);
      if (what < 4) {
        if (!in_tx) {
          in_tx = true;
          index = 0;
          commit = lsn + 0x40 + rng() % 0x40;  // the commit comes later in the WAL
        }
        const bool positioned = chance(70);
        std::optional<Position> p;
        if (positioned) p = Position{Lsn{commit}, index++};
        events.push_back(Event{t.add(p), p, Lsn{commit + 0x10}});
        in_flight.push_back(events.size() - 1);
      } else if (what == 4 && in_tx) {
        t.end_unit(Lsn{commit + 0x10});
        last_end = Lsn{commit + 0x10};
        lsn = commit + 0x20;
        in_tx = false;
      } else if (what < 8 && !in_flight.empty()) {
        const size_t k = rng() % in_flight.size();
        Event& e = events[in_flight[k]];
        if (chance(5)) {
          e.failed = true;
          t.failed(e.seq);
        } else {
          e.acked = true;
          t.acked(e.seq);
        }
        in_flight.erase(in_flight.begin() + static_cast<long>(k));
      } else if (what == 8) {
        t.keepalive(in_tx ? Lsn{lsn} : last_end, in_tx);
      } else {
        record(t, in_tx);
      }
      // Restarting skips every event at or before the recorded position (a positionless
      // delete with its tombstone's), and streams from the confirmed LSN: everything added
      // before the last such event, and every event of a confirmed unit, must be in Kafka.
      const auto acked = t.resume_after();
      const Lsn confirmed = t.confirmed();
      size_t covered = 0;
      for (size_t i = 0; i < events.size(); ++i) {
        const Event& e = events[i];
        if ((acked && e.position && *e.position <= *acked) || e.unit_end <= confirmed) {
          covered = i + 1;
        }
      }
      for (size_t i = 0; i < covered; ++i) {
        INFO("step " << step << " event " << i);
        REQUIRE(events[i].acked);
        REQUIRE_FALSE(events[i].failed);
      }
    }
  }
}

}  // namespace
}  // namespace modsync::capture
