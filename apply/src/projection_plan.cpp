#include "projection_plan.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "modsync/common/error.hpp"
#include "target_creator.hpp"

namespace modsync::apply {

void ProjectionPlan::config_error(const std::string& what, const std::string& fix) const {
  fail("{}:{}: projection to {}: {}. Fix: {}", projection_.location.file, projection_.location.line,
       projection_.to.qualified(), what, fix);
}

ProjectionPlan::ProjectionPlan(const config::Projection& projection, pgsink::TargetTable target)
    : projection_(projection), target_(std::move(target)) {
  const auto& proj = projection_;
  auto own = [&](const std::string& name) {
    return name == pgsink::kLsnColumn || name == pgsink::kSeqColumn ||
           name == proj.soft_delete_column;
  };
  if (proj.columns) {
    for (const auto& m : *proj.columns) {
      const auto* c = target_.find(m.target);
      if (!c) {
        std::string names;
        for (const auto& tc : target_.columns)
          if (!own(tc.name)) names += (names.empty() ? "" : ", ") + tc.name;
        config_error(fmt::format("column {} (mapped from {}) does not exist in {}; it has: {}",
                                 m.target, m.source, proj.to.qualified(), names),
                     "correct the mapping in `columns`, or add the column to the table");
      }
      fed_.push_back(FedColumn{m.target, m.source, c});
    }
  } else {
    for (const auto& c : target_.columns)
      if (!own(c.name)) fed_.push_back(FedColumn{c.name, c.name, &c});
  }
  for (const auto& c : target_.columns) {
    if (!c.key) continue;
    bool fed_key = false;
    for (const auto& f : fed_) fed_key = fed_key || f.target == c.name;
    if (!fed_key) {
      config_error(fmt::format("the primary key column {} of {} is not fed by the projection",
                               c.name, proj.to.qualified()),
                   "map a source key column to it in `columns`");
    }
  }
  if (!proj.soft_delete_column.empty() && !target_.find(proj.soft_delete_column)) {
    config_error(fmt::format("soft_delete_column {} does not exist in {}", proj.soft_delete_column,
                             proj.to.qualified()),
                 fmt::format("ALTER TABLE {} ADD COLUMN {} timestamptz", proj.to.qualified(),
                             proj.soft_delete_column));
  }
  // Checked here rather than left to the writer, so the error names the projection's file
  // and line like every other start-up problem.
  for (const char* own_column : {pgsink::kLsnColumn, pgsink::kSeqColumn}) {
    if (target_.has_key() && !target_.find(own_column)) {
      config_error(fmt::format("target table {} lacks column {}: modsync stores each row's "
                               "source position there so replayed events never overwrite "
                               "newer rows",
                               proj.to.qualified(), own_column),
                   fmt::format("ALTER TABLE {} ADD COLUMN _modsync_lsn pg_lsn, ADD COLUMN "
                               "_modsync_seq integer",
                               proj.to.qualified()));
    }
  }
  try {
    const auto filter = projection::Filter::parse(proj.where);
    filter_columns_ = filter.columns();
    bound_.emplace(filter.bind(filter_columns_));
  } catch (const Error& e) {
    config_error(e.what(), "correct the `where` expression (docs/filters.md)");
  }
  for (auto op : proj.ops) ops_ += static_cast<char>(op);
}

std::unique_ptr<ProjectionPlan> ProjectionPlan::prepare(const config::PairConfig& pair,
                                                        const config::Projection& proj,
                                                        pg::PgConnection& conn,
                                                        const std::string& context) {
  auto target = pgsink::describe_target(conn, {proj.to.schema, proj.to.table});
  if (!target && proj.create_table) {
    create_target_table(pair, proj, conn);
    target = pgsink::describe_target(conn, {proj.to.schema, proj.to.table});
  }
  if (!target) {
    fail(
        "{}:{}: projection to {}: target table {} does not exist in the subscriber database. "
        "Fix: create it, with columns _modsync_lsn pg_lsn and _modsync_seq integer for the "
        "version guard",
        proj.location.file, proj.location.line, proj.to.qualified(), proj.to.qualified());
  }
  auto plan = std::make_unique<ProjectionPlan>(proj, std::move(*target));
  if (!proj.from) return plan;
  // When the capture has not published the schema yet, events are checked one by one instead.
  const auto columns = latest_source_schema(pair, *proj.from);
  if (!columns) {
    spdlog::info("{}: the schema of {}.{} is not on {}.schemas yet; columns are checked per event",
                 context, proj.from->module, proj.from->table.qualified(), pair.kafka.topic_prefix);
    return plan;
  }
  plan->check_against_source(*columns, proj.from->module + "." + proj.from->table.qualified(),
                             conn);
  return plan;
}

void ProjectionPlan::check_against_source(const std::vector<event::SchemaColumn>& columns,
                                          const std::string& source, pg::PgConnection& conn) const {
  std::string names;
  for (const auto& c : columns) names += (names.empty() ? "" : ", ") + c.name;
  auto find = [&](const std::string& name) -> const event::SchemaColumn* {
    for (const auto& c : columns)
      if (c.name == name) return &c;
    return nullptr;
  };
  for (const auto& f : fed_) {
    const event::SchemaColumn* c = find(f.source);
    if (!c) {
      config_error(fmt::format("source column {} (mapped to {}) is not in {}; it has: {}", f.source,
                               f.target, source, names),
                   "correct the mapping in `columns`");
    }
    const char source_category = pgsink::type_category(conn, c->type_oid, c->type_name);
    const char target_category = f.column->category;
    // Text takes anything; user-defined and JSON types are left to PostgreSQL's casts.
    const bool compatible = source_category == target_category || target_category == 'S' ||
                            target_category == 'U' || source_category == 'U';
    if (!compatible) {
      const std::string source_type =
          !c->type_name.empty() ? c->type_name
                                : conn.query_value(fmt::format("SELECT format_type({}, {})",
                                                               c->type_oid, c->type_modifier));
      config_error(fmt::format("column {} is {} in {} but {} ({}) in the target: the types are "
                               "incompatible",
                               f.source, source_type, source, f.target, f.column->type),
                   fmt::format("change the type of {} in {}, or map another column", f.target,
                               projection_.to.qualified()));
    }
  }
  for (const auto& name : filter_columns_) {
    if (!find(name)) {
      config_error(fmt::format("`where` names column {}, which {} does not have; it has: {}", name,
                               source, names),
                   "correct the `where` expression");
    }
  }
}

bool ProjectionPlan::wants(char op) const {
  return ops_.find(op) != std::string::npos;
}

pgsink::WriterOptions ProjectionPlan::writer_options(const std::string& projection_id) const {
  std::vector<std::string> targets;
  for (const auto& f : fed_) targets.push_back(f.target);
  return pgsink::WriterOptions{projection_id, targets,
                               projection_.on_delete == config::OnDelete::kSoft
                                   ? projection_.soft_delete_column
                                   : std::string()};
}

}  // namespace modsync::apply
