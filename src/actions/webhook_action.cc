#include "actions/webhook_action.h"

#include <chrono>
#include <utility>

#include "actions/http_action.h"
#include "common/json_text.h"
#include "common/text.h"
#include "http/signing.h"

namespace fraiseql {
namespace {

SigningScheme SigningSchemeOf(WebhookAction::SignatureScheme scheme) {
  switch (scheme) {
    case WebhookAction::SignatureScheme::kStandard: return SigningScheme::kStandard;
    case WebhookAction::SignatureScheme::kFraiseql: return SigningScheme::kFraiseql;
    case WebhookAction::SignatureScheme::kBoth: return SigningScheme::kBoth;
  }
  return SigningScheme::kBoth;
}

class WebhookActionImpl final : public Action {
 public:
  WebhookActionImpl(const ActionConfig& config, const WebhookAction& spec, std::string destination,
                    HttpClient* http, Clock& clock)
      : config_(config), spec_(spec), destination_(std::move(destination)), http_(http), clock_(clock) {}

  const std::string& destination() const override { return destination_; }

  void Execute(const ActionCall& call, ActionCallback done) override {
    const auto now = clock_.Now();
    const int64_t unix_seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    Result<HttpRequest> request = BuildWebhookRequest(config_, spec_, *call.event, call.delivery_id, unix_seconds);
    if (!request) {
      done(PermanentOutcome("signing", request.error().message));
      return;
    }
    SendAndClassify(*http_, std::move(*request), clock_, call.max_retry_delay, std::move(done));
  }

 private:
  const ActionConfig& config_;
  const WebhookAction& spec_;
  const std::string destination_;
  HttpClient* const http_;
  Clock& clock_;
};

}  // namespace

std::string WebhookBody(const WebhookAction& spec, const EntityEvent& event) {
  if (spec.body_template) return spec.body_template->RenderJsonBody(event).text;
  std::string body;
  if (spec.payload == WebhookAction::Payload::kData) {
    AppendJson(body, event.data);
  } else {
    AppendEventJson(body, event, EventJsonForm::kEnvelope);  // no copy of the event's data
  }
  return body;
}

Result<HttpRequest> BuildWebhookRequest(const ActionConfig& config, const WebhookAction& spec,
                                        const EntityEvent& event, const std::string& delivery_id,
                                        int64_t unix_seconds) {
  HttpRequest request;
  request.method = spec.method;
  request.url = spec.url;
  request.timeout = config.timeout;
  request.connect_timeout = ConnectTimeoutFor(config.timeout);
  request.body = WebhookBody(spec, event);
  for (const HttpHeader& header : spec.headers) request.headers.push_back({header.name, header.value});
  if (!HasHeader(request.headers, "Content-Type")) request.headers.push_back({"Content-Type", "application/json"});
  request.headers.push_back({"User-Agent", std::string(kUserAgent)});
  const SigningScheme scheme = SigningSchemeOf(spec.signature_scheme);
  Result<std::vector<HttpHeaderLine>> signature =
      SignWebhook(delivery_id, unix_seconds, request.body, spec.signing_secrets, scheme);
  if (!signature) return signature.error();
  for (HttpHeaderLine& line : *signature) request.headers.push_back(std::move(line));
  return request;
}

Result<std::unique_ptr<Action>> MakeWebhookAction(const ActionConfig& config, const WebhookAction& spec,
                                                  const ActionDependencies& deps) {
  if (deps.http == nullptr) return Error::InvalidArgument("webhook actions need the HTTP engine");
  Result<std::string> destination = HttpDestinationOf(spec.url);
  if (!destination) return Error::InvalidArgument("'url': " + destination.error().message);
  return std::unique_ptr<Action>(
      std::make_unique<WebhookActionImpl>(config, spec, std::move(*destination), deps.http, deps.clock));
}

}  // namespace fraiseql
