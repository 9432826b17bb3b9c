#include "actions/log_action.h"

#include <string>
#include <utility>

#include "common/log.h"

namespace fraiseql {
namespace {

log::Level LevelOf(LogAction::Level level) {
  switch (level) {
    case LogAction::Level::kTrace: return log::Level::kTrace;
    case LogAction::Level::kDebug: return log::Level::kDebug;
    case LogAction::Level::kInfo: return log::Level::kInfo;
    case LogAction::Level::kWarn: return log::Level::kWarn;
    case LogAction::Level::kError: return log::Level::kError;
  }
  return log::Level::kInfo;
}

class LogActionImpl final : public Action {
 public:
  explicit LogActionImpl(const LogAction& spec) : spec_(spec) {}

  const std::string& destination() const override { return destination_; }

  void Execute(const ActionCall& call, ActionCallback done) override {
    const log::Level level = LevelOf(spec_.level);
    if (log::Enabled(level)) {
      // A template built from ${VAR} may carry a secret; it is never written out.
      std::string message =
          spec_.message_template.sensitive() ? Secret::kRedacted : spec_.message_template.RenderText(*call.event).text;
      log::Write(level, message,
                 {{"event_id", call.event->id},
                  {"entity_type", call.event->entity_type},
                  {"entity_id", call.event->entity_id},
                  {"event_type", std::string(EventKindName(call.event->event_type))},
                  {"delivery_id", call.delivery_id}});
    }
    DeliveryOutcome outcome;
    outcome.kind = DeliveryOutcomeKind::kSuccess;
    outcome.message = "logged";
    done(std::move(outcome));
  }

 private:
  const LogAction& spec_;
  const std::string destination_ = "log";
};

}  // namespace

Result<std::unique_ptr<Action>> MakeLogAction(const ActionConfig& /*config*/, const LogAction& spec,
                                              const ActionDependencies& /*deps*/) {
  return std::unique_ptr<Action>(std::make_unique<LogActionImpl>(spec));
}

}  // namespace fraiseql
