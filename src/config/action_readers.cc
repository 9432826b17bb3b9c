// Reading one [[observers.actions]] table: the keys common to every action, then the keys of
// its type. One reader function per action type.
#include <algorithm>
#include <array>
#include <cctype>

#include "common/base64.h"
#include "common/email_address.h"
#include "common/text.h"
#include "common/url.h"
#include "config/loader.h"

namespace fraiseql::config_internal {
namespace {

// Action types the config accepts but this version cannot perform yet: loading fails rather
// than silently doing nothing.
bool IsSupported(ActionType type) {
  return type != ActionType::kCache && type != ActionType::kSearch && type != ActionType::kSms &&
         type != ActionType::kPush;
}

// Header names that carry credentials are shown as <redacted> (as FraiseQL does).
bool IsSensitiveHeaderName(std::string_view name) {
  const std::string lower = ToLowerAscii(name);
  for (std::string_view marker : {"authorization", "api-key", "apikey", "cookie", "secret", "token",
                                  "password"}) {
    if (lower.find(marker) != std::string::npos) return true;
  }
  return false;
}

bool IsHeaderToken(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) !=
                                                              std::string_view::npos;
  });
}

bool IsIdentifier(std::string_view text) {
  return !text.empty() && (std::isalpha(static_cast<unsigned char>(text[0])) || text[0] == '_') &&
         std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

std::string TypeList() {
  std::string list;
  for (std::string_view name : AllActionTypeNames()) list += (list.empty() ? "" : ", ") + std::string(name);
  return list;
}

// Whether a URL may be quoted (redacted) in a message, or is a credential as a whole (a Slack
// incoming-webhook URL: its path is the secret).
enum class UrlSecrecy { kRedactCredentials, kWholeUrlIsSecret };

// The HTTP engine's own rule (common/url.h): a URL it could never send to fails here, not on
// every delivery. Messages show the URL redacted, or what the file says for one from the
// environment, or nothing of it when the whole URL is the secret.
void CheckHttpUrl(TableReader& in, std::string_view key, const StringValue& url, UrlSecrecy secrecy) {
  const std::string name = "'" + in.section() + "." + std::string(key) + "'";
  if (url.text.size() > 2048) {
    in.context().Error(in.context().Where(*url.node), name + " is longer than 2048 bytes");
  } else if (Result<void> sendable = CheckSendableUrl(url.text); !sendable) {
    const bool quote = secrecy == UrlSecrecy::kRedactCredentials || url.via_env_key;
    in.context().Error(in.context().Where(*url.node),
                       name + (quote ? " is " + ShownUrl(url) : std::string(" (not shown: it is a credential)")) +
                           ": " + sendable.error().message);
  }
}

// Headers every delivery sets itself: a configured one would be sent twice, and a receiver
// could read either (a second signature header, a body length that does not match the body).
bool IsReservedHeaderName(std::string_view name) {
  for (std::string_view reserved : {"webhook-id", "webhook-timestamp", "webhook-signature",
                                    "X-FraiseQL-Signature-256", "Content-Length", "Transfer-Encoding"}) {
    if (EqualsIgnoreCase(name, reserved)) return true;
  }
  return false;
}

void ReadHeaders(TableReader& in, WebhookAction& out) {
  const toml::table* headers = in.Table("headers");
  if (!headers) return;
  LoadContext& context = in.context();
  TableReader header_in(*headers, in.section() + ".headers", context);
  for (auto&& [key, node] : *headers) {
    const std::string name(key.str());
    if (!IsHeaderToken(name)) {
      context.Error(context.Where(key.source()),
                    "header name '" + name + "' is not a valid HTTP token (no spaces, ':' or control characters)");
    } else if (IsReservedHeaderName(name)) {
      context.Error(context.Where(key.source()),
                    "header '" + name + "' is set by fraiseql-observer on every delivery; remove it");
    }
    std::optional<StringValue> value = header_in.String(name);
    if (!value) continue;
    if (value->text.find_first_of("\r\n", 0) != std::string::npos ||
        value->text.find('\0') != std::string::npos) {
      context.Error(context.Where(node), "header '" + name + "' contains a line break or NUL");
      continue;
    }
    out.headers.push_back({name, std::move(value->text), value->from_environment || IsSensitiveHeaderName(name)});
  }
  header_in.Finish();
}

// The secrets, each with the node that gives it (for locating a message about it).
std::vector<StringValue> ReadSigningSecrets(TableReader& in) {
  LoadContext& context = in.context();
  std::vector<StringValue> secrets;
  const std::vector<StringValue> literals = in.StringList("signing_secret");
  const std::vector<StringValue> variables = in.StringList("signing_secret_env");
  if (in.Has("signing_secret") && in.Has("signing_secret_env")) {
    // As for every key / key_env pair (TableReader::ValueOrEnv). For key rotation, list the
    // secrets in one of them.
    in.ErrorAt("signing_secret_env", "give either '" + in.section() + ".signing_secret' or '" + in.section() +
                                         ".signing_secret_env', not both (each takes a list for key rotation)");
    return secrets;
  }
  for (const StringValue& secret : literals) {
    if (secret.text.empty()) {
      context.Error(context.Where(*secret.node), "'" + in.section() + ".signing_secret' must not be empty");
    } else {
      secrets.push_back(secret);
    }
  }
  for (const StringValue& variable : variables) {
    if (std::optional<StringValue> value = in.ResolveEnvName(variable, "signing_secret_env")) {
      secrets.push_back(std::move(*value));
    }
  }
  return secrets;
}

// A "whsec_" secret keys the Standard scheme with its base64 part: one that does not decode
// would make every signed delivery fail, so it is refused now. Messages name the secret by
// position and place, never by value.
void CheckStandardSecrets(TableReader& in, const std::vector<StringValue>& secrets) {
  LoadContext& context = in.context();
  for (size_t i = 0; i < secrets.size(); ++i) {
    Result<std::string> key = StandardWebhooksKey(Secret(secrets[i].text));
    if (!key) {
      const std::string which = secrets.size() == 1 ? "the signing secret" : "signing secret #" + std::to_string(i + 1);
      context.Error(context.Where(*secrets[i].node),
                    "'" + in.section() + "': " + which +
                        (secrets[i].via_env_key ? " (the value of $" + secrets[i].raw + ")" : std::string()) +
                        " cannot sign the Standard Webhooks scheme: " + key.error().message +
                        " (or set signature_scheme = \"fraiseql\", which uses the secret verbatim)");
    }
  }
}

WebhookAction ReadWebhook(TableReader& in) {
  WebhookAction out;
  std::optional<StringValue> url = in.ValueOrEnv("url", "url_env");
  if (url) {
    CheckHttpUrl(in, "url", *url, UrlSecrecy::kRedactCredentials);
    out.url = std::move(url->text);
    out.url_from_environment = url->from_environment;
  } else if (!in.Has("url") && !in.Has("url_env")) {
    in.Error("'" + in.section() + "' (webhook) needs 'url' or 'url_env'");
  }
  if (auto method = in.NonEmptyString("method")) {
    out.method = ToUpperAscii(method->text);
    static constexpr std::array<std::string_view, 5> kMethods = {"POST", "PUT", "PATCH", "GET", "DELETE"};
    if (std::find(kMethods.begin(), kMethods.end(), out.method) == kMethods.end()) {
      in.ErrorAt("method", "'" + in.section() + ".method' is " + Shown(*method) +
                               "; expected POST, PUT, PATCH, GET or DELETE");
    }
  }
  ReadHeaders(in, out);
  out.body_template = ReadTemplate(in, "body_template");
  out.payload = in.Choice("payload", {"envelope", "data"}, 0) == 1 ? WebhookAction::Payload::kData
                                                                    : WebhookAction::Payload::kEnvelope;
  if (out.body_template && in.Has("payload")) {
    in.ErrorAt("payload", "'" + in.section() + "': 'payload' and 'body_template' exclude each other");
  }
  const std::vector<StringValue> secrets = ReadSigningSecrets(in);
  for (const StringValue& secret : secrets) out.signing_secrets.emplace_back(secret.text);
  out.signature_scheme = static_cast<WebhookAction::SignatureScheme>(
      in.Choice("signature_scheme", {"standard", "fraiseql", "both"}, 2));
  if (out.signature_scheme != WebhookAction::SignatureScheme::kFraiseql) CheckStandardSecrets(in, secrets);
  return out;
}

SlackAction ReadSlack(TableReader& in) {
  SlackAction out;
  if (std::optional<StringValue> url = in.ValueOrEnv("webhook_url", "webhook_url_env")) {
    CheckHttpUrl(in, "webhook_url", *url, UrlSecrecy::kWholeUrlIsSecret);
    out.webhook_url = Secret(std::move(url->text));
  } else if (!in.Has("webhook_url") && !in.Has("webhook_url_env")) {
    in.Error("'" + in.section() + "' (slack) needs 'webhook_url' or 'webhook_url_env'");
  }
  if (auto channel = in.NonEmptyString("channel")) out.channel = channel->text;
  out.message_template = ReadTemplate(in, "message_template");
  return out;
}

EmailAction ReadEmail(TableReader& in) {
  EmailAction out;
  LoadContext& context = in.context();
  const auto addresses = [&](std::string_view key) {
    std::vector<std::string> list;
    for (StringValue& address : in.StringList(key)) {
      // The email action's own rule: an address it could never send to fails here, not on
      // every delivery.
      if (!BareEmailAddress(address.text)) {
        context.Error(context.Where(*address.node), "'" + in.section() + "." + std::string(key) + "': " +
                                                        Shown(address) +
                                                        " is not an email address (name@domain, or "
                                                        "Name <name@domain>, without spaces or line breaks)");
      }
      list.push_back(std::move(address.text));
    }
    return list;
  };
  out.to = addresses("to");
  out.to_template = ReadTemplate(in, "to_template");
  out.cc = addresses("cc");
  if (auto subject = in.NonEmptyString("subject")) out.subject = subject->text;
  out.subject_template = ReadTemplate(in, "subject_template");
  if (auto body = RequiredTemplate(in, "body_template")) out.body_template = std::move(*body);
  std::vector<std::string> reply_to = addresses("reply_to");
  if (!reply_to.empty()) out.reply_to = reply_to.front();
  if (in.Choice("content_type", {"text/plain", "text/html"}, 0) == 1) out.content_type = "text/html";
  if (out.to.empty() && !out.to_template && !in.Has("to") && !in.Has("to_template")) {
    in.Error("'" + in.section() + "' (email) needs 'to' or 'to_template'");
  }
  if (!out.subject && !out.subject_template && !in.Has("subject") && !in.Has("subject_template")) {
    in.Error("'" + in.section() + "' (email) needs 'subject' or 'subject_template'");
  }
  return out;
}

DatabaseAction ReadDatabase(TableReader& in) {
  DatabaseAction out;
  if (auto name = in.NonEmptyString("function_name")) {
    out.function_name = name->text;
    const std::string shown = Shown(*name);
    const size_t dot = out.function_name.find('.');
    const bool valid = dot == std::string::npos
                           ? IsIdentifier(out.function_name)
                           : IsIdentifier(out.function_name.substr(0, dot)) &&
                                 IsIdentifier(out.function_name.substr(dot + 1));
    if (!valid) {
      in.ErrorAt("function_name", "'" + in.section() + ".function_name' is " + shown +
                                      "; expected name or schema.name, each [A-Za-z_][A-Za-z0-9_]*");
    }
  } else if (!in.Has("function_name")) {
    in.Error("'" + in.section() + "' (database) needs 'function_name'");
  }
  out.params = in.Json("params");
  return out;
}

LogAction ReadLog(TableReader& in) {
  LogAction out;
  out.level = static_cast<LogAction::Level>(
      in.Choice("level", {"trace", "debug", "info", "warn", "error"}, 2));
  if (auto message = RequiredTemplate(in, "message_template")) out.message_template = std::move(*message);
  return out;
}

CacheAction ReadCache(TableReader& in) {
  CacheAction out;
  if (auto pattern = RequiredTemplate(in, "key_pattern")) out.key_pattern = std::move(*pattern);
  if (auto verb = in.String("action"); verb && verb->text != "invalidate") {
    in.ErrorAt("action", "'" + in.section() + ".action' must be \"invalidate\"");
  }
  return out;
}

SearchAction ReadSearch(TableReader& in) {
  SearchAction out;
  if (auto index = in.NonEmptyString("index")) {
    out.index = index->text;
  } else if (!in.Has("index")) {
    in.Error("'" + in.section() + "' (search) needs 'index'");
  }
  out.id_template = ReadTemplate(in, "id_template");
  return out;
}

SmsAction ReadSms(TableReader& in) {
  SmsAction out;
  if (auto phone = in.NonEmptyString("phone")) out.phone = phone->text;
  out.phone_template = ReadTemplate(in, "phone_template");
  out.message_template = ReadTemplate(in, "message_template");
  return out;
}

PushAction ReadPush(TableReader& in) {
  PushAction out;
  if (auto token = in.NonEmptyString("device_token")) out.device_token = token->text;
  out.title_template = ReadTemplate(in, "title_template");
  out.body_template = ReadTemplate(in, "body_template");
  return out;
}

}  // namespace

std::optional<Template> ReadTemplate(TableReader& in, std::string_view key) {
  std::optional<StringValue> value = in.NonEmptyString(key);
  if (!value) return std::nullopt;
  Template compiled = Template::Compile(value->text);
  compiled.set_sensitive(value->from_environment);
  const std::vector<Diagnostic>& warnings = compiled.invalid_placeholders();
  if (value->from_environment && !warnings.empty()) {
    // Their messages quote the placeholders, which came (perhaps) from a variable.
    in.context().Warning(in.context().Where(*value->node),
                         "'" + in.section() + "." + std::string(key) + "' (" + Shown(*value) + ") has " +
                             std::to_string(warnings.size()) +
                             " placeholder(s) that can never resolve once its variables are expanded; the "
                             "details are withheld because they would quote the environment's values");
    return compiled;
  }
  for (const Diagnostic& warning : warnings) {
    in.context().Warning(in.context().WhereInString(*value->node, warning.location),
                         "'" + in.section() + "." + std::string(key) + "': " + warning.message);
  }
  return compiled;
}

std::optional<Template> RequiredTemplate(TableReader& in, std::string_view key) {
  if (!in.Has(key)) {
    in.Error("'" + in.section() + "' needs '" + std::string(key) + "'");
    in.Node(key);
    return std::nullopt;
  }
  return ReadTemplate(in, key);
}

std::optional<ActionConfig> ReadAction(TableReader& in) {
  std::optional<StringValue> type_name = in.NonEmptyString("type");
  if (!type_name) {
    if (!in.Has("type")) in.Error("'" + in.section() + "' needs 'type' (" + TypeList() + ")");
    return std::nullopt;
  }
  const std::optional<ActionType> type = ParseActionType(type_name->text);
  LoadContext& context = in.context();
  if (!type) {
    std::string message = "unknown action type " + Shown(*type_name) + "; expected " + TypeList();
    // No suggestion for a value from the environment: it would hint at what the value is.
    if (auto suggestion = ClosestMatch(type_name->text, AllActionTypeNames());
        suggestion && !type_name->from_environment) {
      message += " (did you mean \"" + *suggestion + "\"?)";
    }
    context.Error(context.Where(*type_name->node), std::move(message));
    return std::nullopt;
  }
  ActionConfig action;
  action.type = *type;
  action.location = in.Where();
  action.timeout = in.Millis("timeout_ms", action.timeout, 1);
  if (const toml::table* breaker = in.Table("circuit_breaker")) {
    TableReader breaker_in(*breaker, in.section() + ".circuit_breaker", context);
    action.circuit_breaker = ReadCircuitBreaker(breaker_in, CircuitBreakerSettings{});
    breaker_in.Finish();
  }
  switch (action.type) {
    case ActionType::kWebhook: action.spec = ReadWebhook(in); break;
    case ActionType::kSlack: action.spec = ReadSlack(in); break;
    case ActionType::kEmail: action.spec = ReadEmail(in); break;
    case ActionType::kDatabase: action.spec = ReadDatabase(in); break;
    case ActionType::kLog: action.spec = ReadLog(in); break;
    case ActionType::kCache: action.spec = ReadCache(in); break;
    case ActionType::kSearch: action.spec = ReadSearch(in); break;
    case ActionType::kSms: action.spec = ReadSms(in); break;
    case ActionType::kPush: action.spec = ReadPush(in); break;
  }
  if (!IsSupported(action.type)) {
    context.Error(context.Where(*type_name->node),
                  "action type " + Shown(*type_name) +
                      " is not supported in this version of fraiseql-observer; it would never "
                      "run, so the configuration is refused");
  }
  return action;
}

}  // namespace fraiseql::config_internal
