// Webhook action: an HTTP request per attempt through the HttpClient, carrying the Standard
// Webhooks id/timestamp headers and, with signing secrets, signatures in both schemes.
// Thread-safety: Execute() may run concurrently; the actions are immutable after construction.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "actions/action.h"
#include "http/http_client.h"

namespace fraiseql {

// The body a webhook sends for `event`: the JSON-body template's rendering, or without one the
// event envelope, or `event.data` alone with payload = "data". Compact JSON.
std::string WebhookBody(const WebhookAction& spec, const EntityEvent& event);

// The full request of one webhook attempt at `unix_seconds`: configured headers, then
// Content-Type (unless configured), User-Agent, webhook-id, webhook-timestamp and signatures.
// kInvalidArgument when signing fails (an unusable secret, named by position).
Result<HttpRequest> BuildWebhookRequest(const ActionConfig& config, const WebhookAction& spec,
                                        const EntityEvent& event, const std::string& delivery_id,
                                        int64_t unix_seconds);

Result<std::unique_ptr<Action>> MakeWebhookAction(const ActionConfig& config, const WebhookAction& spec,
                                                  const ActionDependencies& deps);

}  // namespace fraiseql
