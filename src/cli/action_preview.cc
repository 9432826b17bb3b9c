#include "cli/action_preview.h"

#include <string>

#include "common/json_limits.h"
#include "common/url.h"

namespace fraiseql::cli {
namespace {

using nlohmann::json;

constexpr const char* kUserAgent = "fraiseql-observer/" FRAISEQL_VERSION;

class Preview {
 public:
  explicit Preview(const EntityEvent& event) : event_(event) {}

  std::string Text(const Template& text_template) {
    if (text_template.sensitive()) return Secret::kRedacted;
    return Keep(text_template.RenderText(event_));
  }

  json JsonBody(const Template& body_template) {
    if (body_template.sensitive()) return Secret::kRedacted;
    RenderResult rendered = body_template.RenderJsonBody(event_);
    std::string text = Keep(std::move(rendered));
    // Shown as JSON only within the JSON limits: a body template may nest deeper than the dump
    // of this preview can recurse. Deeper, it is shown as the text that would be sent.
    Result<json> parsed = ParseJsonWithin(text);
    return parsed ? std::move(parsed).value() : json(std::move(text));
  }

  json Finish(json preview) {
    if (!unresolved_.empty()) preview["unresolved"] = unresolved_;
    return preview;
  }

  std::string Glob(const Template& key_template) {
    if (key_template.sensitive()) return Secret::kRedacted;
    return Keep(key_template.RenderGlobEscaped(event_));
  }

 private:
  // Takes the text, and remembers the placeholders that did not resolve.
  std::string Keep(RenderResult rendered) {
    for (std::string& path : rendered.unresolved) unresolved_.push_back(std::move(path));
    return std::move(rendered.text);
  }

  const EntityEvent& event_;
  json unresolved_ = json::array();
};

json PreviewWebhook(const WebhookAction& webhook, Preview& preview, const EntityEvent& event) {
  json headers = json::object();
  for (const HttpHeader& header : webhook.headers) {
    headers[header.name] = header.sensitive ? Secret::kRedacted : header.value;
  }
  if (!headers.contains("Content-Type")) headers["Content-Type"] = "application/json";
  headers["User-Agent"] = kUserAgent;
  json body;
  if (webhook.body_template) {
    body = preview.JsonBody(*webhook.body_template);
  } else {
    body = webhook.payload == WebhookAction::Payload::kData ? event.data : EventEnvelope(event);
  }
  // The whole URL when it came from the environment; otherwise its userinfo and credential
  // parameters, which the file may carry.
  json out = {{"url", webhook.url_from_environment ? Secret::kRedacted : RedactUrl(webhook.url)},
              {"method", webhook.method}, {"headers", headers}, {"body", body}};
  if (!webhook.signing_secrets.empty()) {
    out["signature"] = {{"scheme", SignatureSchemeName(webhook.signature_scheme)},
                        {"keys", webhook.signing_secrets.size()}};
  }
  return out;
}

json PreviewSlack(const SlackAction& slack, Preview& preview, const EntityEvent& event) {
  // FraiseQL's default message.
  std::string text = slack.message_template
                         ? preview.Text(*slack.message_template)
                         : "Event: " + std::string(EventKindName(event.event_type)) + " on " +
                               event.entity_type + " (ID: " + event.entity_id + ")";
  json body = {{"text", text}, {"type", "mrkdwn"}};
  if (slack.channel) body["channel"] = *slack.channel;
  return {{"url", Secret::kRedacted}, {"method", "POST"}, {"body", body}};
}

json PreviewEmail(const EmailAction& email, Preview& preview) {
  json to = email.to;
  if (email.to_template) to.push_back(preview.Text(*email.to_template));
  json out = {{"to", to},
              {"subject", email.subject_template ? preview.Text(*email.subject_template)
                                                 : email.subject.value_or("")},
              {"body", preview.Text(email.body_template)},
              {"content_type", email.content_type}};
  if (!email.cc.empty()) out["cc"] = email.cc;
  if (email.reply_to) out["reply_to"] = *email.reply_to;
  return out;
}

}  // namespace

json PreviewAction(const ActionConfig& action, const EntityEvent& event) {
  Preview preview(event);
  json out;
  switch (action.type) {
    case ActionType::kWebhook:
      out = PreviewWebhook(std::get<WebhookAction>(action.spec), preview, event);
      break;
    case ActionType::kSlack: out = PreviewSlack(std::get<SlackAction>(action.spec), preview, event); break;
    case ActionType::kEmail: out = PreviewEmail(std::get<EmailAction>(action.spec), preview); break;
    case ActionType::kDatabase: {
      const auto& database = std::get<DatabaseAction>(action.spec);
      out = {{"sql", "SELECT " + database.function_name + "($1::jsonb)"},
             {"argument", {{"event", EventEnvelope(event)}, {"params", database.params}}}};
      break;
    }
    case ActionType::kLog: {
      const auto& log = std::get<LogAction>(action.spec);
      out = {{"level", LogLevelName(log.level)}, {"message", preview.Text(log.message_template)}};
      break;
    }
    case ActionType::kCache:
      out = {{"key_pattern", preview.Glob(std::get<CacheAction>(action.spec).key_pattern)}};
      break;
    case ActionType::kSearch:
    case ActionType::kSms:
    case ActionType::kPush: out = {{"note", "not supported in this version"}}; break;
  }
  return preview.Finish(std::move(out));
}

}  // namespace fraiseql::cli
