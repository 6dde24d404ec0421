#pragma once
// `modsync resnapshot`'s apply side: empties projections and sets where they refill from.

#include <memory>

#include "modsync/config/config.hpp"

namespace modsync::apply {

/// Resets the projections of one pair's sink (docs/projections.md, "Rebuilding"). Connects to
/// the subscriber database and Kafka at construction (creating modsync's offsets tables when
/// missing); run only while the pair's daemon is stopped. Errors throw modsync::Error.
class ProjectionReset {
 public:
  /// `pair.sink` must be set; `pair` must outlive this.
  explicit ProjectionReset(const config::PairConfig& pair);
  ~ProjectionReset();
  ProjectionReset(const ProjectionReset&) = delete;
  ProjectionReset& operator=(const ProjectionReset&) = delete;

  /// In one subscriber transaction: empties `projection`'s target table and sets its stored
  /// offsets to its topic's current end when `from_topic_end` (a new snapshot's rows follow
  /// there), else forgets them, so it replays its topic from the beginning. Returns whether it
  /// recorded offsets (false: it refills from the beginning of its topic).
  bool reset(const config::Projection& projection, bool from_topic_end);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace modsync::apply
