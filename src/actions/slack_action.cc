#include "actions/slack_action.h"

#include <utility>

#include "actions/http_action.h"
#include "http/http_client.h"

namespace fraiseql {
namespace {

class SlackActionImpl final : public Action {
 public:
  SlackActionImpl(const ActionConfig& config, const SlackAction& spec, std::string destination, HttpClient* http,
                  Clock& clock)
      : config_(config), spec_(spec), destination_(std::move(destination)), http_(http), clock_(clock) {}

  const std::string& destination() const override { return destination_; }

  void Execute(const ActionCall& call, ActionCallback done) override {
    HttpRequest request;
    request.method = "POST";
    request.url = spec_.webhook_url.Reveal();
    request.headers = {{"Content-Type", "application/json"}, {"User-Agent", std::string(kUserAgent)}};
    request.body = SlackBody(spec_, *call.event);
    request.timeout = config_.timeout;
    request.connect_timeout = ConnectTimeoutFor(config_.timeout);
    SendAndClassify(*http_, std::move(request), clock_, call.max_retry_delay, std::move(done));
  }

 private:
  const ActionConfig& config_;
  const SlackAction& spec_;
  const std::string destination_;
  HttpClient* const http_;
  Clock& clock_;
};

}  // namespace

std::string SlackBody(const SlackAction& spec, const EntityEvent& event) {
  nlohmann::json body;
  body["text"] = spec.message_template ? spec.message_template->RenderText(event).text
                                       : "Event: " + std::string(EventKindName(event.event_type)) + " on " +
                                             event.entity_type + " (ID: " + event.entity_id + ")";
  if (spec.channel) body["channel"] = *spec.channel;
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<std::unique_ptr<Action>> MakeSlackAction(const ActionConfig& config, const SlackAction& spec,
                                                const ActionDependencies& deps) {
  if (deps.http == nullptr) return Error::InvalidArgument("slack actions need the HTTP engine");
  Result<std::string> destination = HttpDestinationOf(spec.webhook_url.Reveal());
  if (!destination) return Error::InvalidArgument("'webhook_url': " + destination.error().message);
  return std::unique_ptr<Action>(
      std::make_unique<SlackActionImpl>(config, spec, std::move(*destination), deps.http, deps.clock));
}

}  // namespace fraiseql
