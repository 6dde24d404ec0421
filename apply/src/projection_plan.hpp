#pragma once
// A projection checked against its target table (and the source's published schema) once at
// start: which target column each event field feeds, the bound `where` filter, the ops.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "modsync/config/config.hpp"
#include "modsync/event/schema_event.hpp"
#include "modsync/pgsink/projection_writer.hpp"
#include "modsync/pgsink/target_table.hpp"
#include "modsync/pg/pg_connection.hpp"
#include "modsync/projection/filter.hpp"

namespace modsync::apply {

/// The validated form of one config::Projection. Immutable once built, so the event projector
/// and the batch applier read it without checks; every problem is found here and thrown as a
/// fatal modsync::Error naming the projection's file, line and the fix.
class ProjectionPlan {
 public:
  /// A target column fed from an event field.
  struct FedColumn {
    std::string target;
    std::string source;                            ///< field name in the current schema version
    const pgsink::TargetColumn* column = nullptr;  ///< into target()
  };

  /// Pure: checks `projection` against `target` (mapped columns exist, every primary key column
  /// is fed, the soft-delete and version-guard columns exist, `where` parses). `projection`
  /// must outlive the plan.
  ProjectionPlan(const config::Projection& projection, pgsink::TargetTable target);
  ProjectionPlan(const ProjectionPlan&) = delete;
  ProjectionPlan& operator=(const ProjectionPlan&) = delete;

  /// What the pipeline's setup does: reads the target table over `conn` (creating it when the
  /// projection sets create_table), builds the plan, and checks it against the source table's
  /// newest schema on `{prefix}.schemas` when the capture published one. `context` prefixes
  /// the log lines.
  static std::unique_ptr<ProjectionPlan> prepare(const config::PairConfig& pair,
                                                 const config::Projection& projection,
                                                 pg::PgConnection& conn,
                                                 const std::string& context);

  /// Checks the mapping and the filter against the source table's `columns` (of `source`,
  /// "module.schema.table"): every column they name must exist there, with a type the target
  /// column can take. `conn` (the subscriber database) resolves the source types' categories.
  void check_against_source(const std::vector<event::SchemaColumn>& columns,
                            const std::string& source, pg::PgConnection& conn) const;

  const config::Projection& projection() const { return projection_; }
  const pgsink::TargetTable& target() const { return target_; }
  const std::vector<FedColumn>& fed() const { return fed_; }
  /// The columns `where` reads, in the order the bound filter takes their values.
  const std::vector<std::string>& filter_columns() const { return filter_columns_; }
  const projection::BoundFilter& filter() const { return *bound_; }
  bool has_filter() const { return !projection_.where.empty(); }
  /// Whether `op` (a change event's op letter) is in the projection's `ops`.
  bool wants(char op) const;

  /// The writer's options for this plan, under `projection_id`.
  pgsink::WriterOptions writer_options(const std::string& projection_id) const;

 private:
  [[noreturn]] void config_error(const std::string& what, const std::string& fix) const;

  const config::Projection& projection_;
  pgsink::TargetTable target_;
  std::vector<FedColumn> fed_;
  std::vector<std::string> filter_columns_;
  std::optional<projection::BoundFilter> bound_;
  std::string ops_;
};

}  // namespace modsync::apply
