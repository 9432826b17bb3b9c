#include "listener/change_log_source.h"

namespace fraiseql {

nlohmann::json ChangeLogRowToJson(const ChangeLogRow& row, ChangeLogPosition position) {
  auto optional = [](const auto& value) { return value ? nlohmann::json(*value) : nlohmann::json(); };
  return nlohmann::json{{"txid", std::to_string(position.txid)},
                        {"pk_entity_change_log", row.pk},
                        {"id", row.id},
                        {"object_type", row.object_type},
                        {"modification_type", row.modification_type},
                        {"created_at", optional(row.created_at)},
                        {"tenant_id", optional(row.tenant_id)},
                        {"fk_customer_org", optional(row.fk_customer_org)},
                        {"fk_contact", optional(row.fk_contact)},
                        {"object_id", optional(row.object_id)},
                        {"object_data", row.object_data},
                        {"object_data_before", row.object_data_before},
                        {"duration_ms", optional(row.duration_ms)},
                        {"seq", optional(row.seq)},
                        {"actor_type", optional(row.actor_type)},
                        {"acting_for", optional(row.acting_for)},
                        {"schema_version", optional(row.schema_version)},
                        {"extra_metadata", row.extra_metadata}};
}

}  // namespace fraiseql
