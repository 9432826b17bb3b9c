// MakeAction: the one place that turns a configured action type into its implementation.
#include <memory>

#include "actions/action.h"
#include "actions/database_action.h"
#include "actions/email_action.h"
#include "actions/log_action.h"
#include "actions/slack_action.h"
#include "actions/webhook_action.h"

namespace fraiseql {

Result<std::unique_ptr<Action>> MakeAction(const ActionConfig& config, const ActionDependencies& deps) {
  switch (config.type) {
    case ActionType::kWebhook: return MakeWebhookAction(config, std::get<WebhookAction>(config.spec), deps);
    case ActionType::kSlack: return MakeSlackAction(config, std::get<SlackAction>(config.spec), deps);
    case ActionType::kEmail: return MakeEmailAction(config, std::get<EmailAction>(config.spec), deps);
    case ActionType::kDatabase: return MakeDatabaseAction(config, std::get<DatabaseAction>(config.spec), deps);
    case ActionType::kLog: return MakeLogAction(config, std::get<LogAction>(config.spec), deps);
    case ActionType::kCache:
    case ActionType::kSearch:
    case ActionType::kSms:
    case ActionType::kPush: break;
  }
  return Error::InvalidArgument("action type '" + std::string(ActionTypeName(config.type)) +
                                "' is not supported in this version");
}

}  // namespace fraiseql
