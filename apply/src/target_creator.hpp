#pragma once

#include <optional>
#include <string>
#include <vector>

#include "modsync/config/config.hpp"
#include "modsync/event/schema_event.hpp"
#include "modsync/pg/pg_connection.hpp"

namespace modsync::apply {

/// The newest published column list of `from`, read from the whole schemas topic (small: one
/// message per table version); nullopt when the capture has not published it yet.
std::optional<std::vector<event::SchemaColumn>> latest_source_schema(const config::PairConfig& pair,
                                                              const config::SourceTable& from);

/// Creates a projection's missing target table (`create_table: true`) from the newest version
/// of its source table on the `{prefix}.schemas` topic: the mapped columns with the source's
/// types, the source key as primary key, the version-guard columns and the soft-delete column.
/// A keyless source gives an append-only table. Throws a retriable Error while the schema is
/// not on Kafka yet (the capture publishes it when it first sees the table).
void create_target_table(const config::PairConfig& pair, const config::Projection& projection,
                         pg::PgConnection& conn);

}  // namespace modsync::apply
