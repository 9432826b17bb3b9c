// Reading [[observers]] / [observers.<name>] and their actions.
#include <algorithm>
#include <cctype>
#include <set>
#include <tuple>

#include "common/text.h"
#include "config/loader.h"

namespace fraiseql::config_internal {
namespace {

constexpr std::array<std::string_view, 9> kActionTypeNames = {
    "webhook", "slack", "email", "database", "log", "cache", "search", "sms", "push"};

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

class ObserverReader {
 public:
  explicit ObserverReader(TableReader& in) : in_(in) {}

  std::optional<Template> TemplateField(TableReader& in, std::string_view key) {
    std::optional<StringValue> value = in.NonEmptyString(key);
    if (!value) return std::nullopt;
    Template compiled = Template::Compile(value->text);
    for (const Diagnostic& warning : compiled.invalid_placeholders()) {
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
    return TemplateField(in, key);
  }

  void ReadCondition(ObserverConfig& observer) {
    std::optional<StringValue> source = in_.String("condition");
    if (!source) return;
    Result<Condition> condition = Condition::Compile(source->text);
    LoadContext& context = in_.context();
    if (!condition) {
      const SourceLocation inner = condition.error().location.value_or(SourceLocation{});
      context.Error(context.WhereInString(*source->node, inner),
                    "condition of observer '" + observer.name + "': " + condition.error().message);
      return;
    }
    for (const Diagnostic& warning : condition->warnings()) {
      context.Warning(context.WhereInString(*source->node, warning.location),
                      "condition of observer '" + observer.name + "': " + warning.message);
    }
    observer.condition = std::move(*condition);
  }

  void ReadEventKinds(ObserverConfig& observer) {
    const toml::node* node = in_.Node("event_type");
    LoadContext& context = in_.context();
    if (!node) {
      in_.Error("observer '" + observer.name +
                "' needs 'event_type': INSERT, UPDATE, DELETE, CUSTOM, a list of them, or \"*\"");
      return;
    }
    const auto add = [&](const toml::node& element) {
      if (!element.is_string()) {
        context.Error(context.Where(element), "'event_type' entries must be strings such as \"INSERT\"");
        return;
      }
      const std::string& text = element.as_string()->get();
      if (text == "*") {
        observer.event_kinds = EventKindSet::All();
      } else if (auto kind = ParseEventKind(text)) {
        observer.event_kinds.Add(*kind);
      } else {
        std::string message = "unknown event_type \"" + text +
                              "\"; expected INSERT, UPDATE, DELETE, CUSTOM or \"*\"";
        static constexpr std::array<std::string_view, 4> kKinds = {"INSERT", "UPDATE", "DELETE", "CUSTOM"};
        if (auto suggestion = ClosestMatch(ToUpperAscii(text), kKinds)) {
          message += " (did you mean \"" + *suggestion + "\"?)";
        }
        context.Error(context.Where(element), std::move(message));
      }
    };
    if (node->is_array()) {
      if (node->as_array()->empty()) context.Error(context.Where(*node), "'event_type' must not be empty");
      for (const toml::node& element : *node->as_array()) add(element);
    } else {
      add(*node);
    }
  }

  void ReadRetry(ObserverConfig& observer) {
    const toml::table* table = in_.Table("retry");
    if (!table) return;
    TableReader in(*table, in_.section() + ".retry", in_.context());
    RetryPolicy& retry = observer.retry;
    retry.max_attempts = in.Unsigned<uint32_t>("max_attempts", retry.max_attempts, 1, 1000);
    retry.initial_delay = in.Millis("initial_delay_ms", retry.initial_delay);
    retry.max_delay = in.Millis("max_delay_ms", retry.max_delay);
    retry.backoff = static_cast<BackoffStrategy>(
        in.Choice("backoff_strategy", {"exponential", "linear", "fixed"}, 0));
    retry.jitter = in.Bool("jitter", retry.backoff == BackoffStrategy::kExponential);
    if (retry.max_delay < retry.initial_delay) {
      in.ErrorAt("max_delay_ms", "'" + in.section() + ".max_delay_ms' (" +
                                     std::to_string(retry.max_delay.count()) +
                                     ") is smaller than 'initial_delay_ms' (" +
                                     std::to_string(retry.initial_delay.count()) + ")");
    }
    in.Finish();
  }

  void ReadFailurePolicy(ObserverConfig& observer) {
    const toml::node* node = in_.Node("on_failure");
    if (!node) return;
    LoadContext& context = in_.context();
    if (node->is_table()) {
      // The anchor's examples write an empty [observers.on_failure] table; accept it, with
      // `policy = "..."` inside, and say how to write it plainly.
      TableReader in(*node->as_table(), in_.section() + ".on_failure", context);
      observer.on_failure = static_cast<FailurePolicy>(in.Choice("policy", {"dlq", "log", "alert"}, 0));
      in.Finish();
      context.Warning(context.Where(*node),
                      "'on_failure' is a table; write on_failure = \"" +
                          std::string(FailurePolicyName(observer.on_failure)) +
                          "\" (an empty table means the default, \"dlq\")");
      return;
    }
    observer.on_failure = static_cast<FailurePolicy>(in_.Choice("on_failure", {"dlq", "log", "alert"}, 0));
  }

  void ReadActions(ObserverConfig& observer) {
    const toml::node* node = in_.Node("actions");
    LoadContext& context = in_.context();
    if (!node || (node->is_array() && node->as_array()->empty())) {
      in_.Error("observer '" + observer.name + "' has no actions; add at least one [[observers.actions]]");
      return;
    }
    if (!node->is_array()) {
      context.Error(context.Where(*node), "'actions' must be an array of tables ([[observers.actions]])");
      return;
    }
    size_t index = 0;
    for (const toml::node& element : *node->as_array()) {
      const std::string section = in_.section() + ".actions[" + std::to_string(index++) + "]";
      if (!element.is_table()) {
        context.Error(context.Where(element), "'" + section + "' must be a table");
        continue;
      }
      TableReader in(*element.as_table(), section, context);
      // Without a known type the other keys cannot be judged, so only the type is reported.
      if (std::optional<ActionConfig> action = ReadAction(in)) {
        observer.actions.push_back(std::move(*action));
        in.Finish();
      }
    }
  }

 private:
  std::optional<ActionConfig> ReadAction(TableReader& in) {
    std::optional<StringValue> type_name = in.NonEmptyString("type");
    if (!type_name) {
      if (!in.Has("type")) in.Error("'" + in.section() + "' needs 'type' (" + TypeList() + ")");
      return std::nullopt;
    }
    const auto found = std::find(kActionTypeNames.begin(), kActionTypeNames.end(), type_name->text);
    LoadContext& context = in.context();
    if (found == kActionTypeNames.end()) {
      std::string message = "unknown action type \"" + type_name->text + "\"; expected " + TypeList();
      if (auto suggestion = ClosestMatch(type_name->text, kActionTypeNames)) {
        message += " (did you mean \"" + *suggestion + "\"?)";
      }
      context.Error(context.Where(*type_name->node), std::move(message));
      return std::nullopt;
    }
    ActionConfig action;
    action.type = static_cast<ActionType>(found - kActionTypeNames.begin());
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
                    "action type \"" + type_name->text +
                        "\" is not supported in this version of fraiseql-observer; it would never "
                        "run, so the configuration is refused");
    }
    return action;
  }

  static std::string TypeList() {
    std::string list;
    for (std::string_view name : kActionTypeNames) list += (list.empty() ? "" : ", ") + std::string(name);
    return list;
  }

  static void CheckHttpUrl(TableReader& in, std::string_view key, const StringValue& url) {
    if (!url.text.starts_with("http://") && !url.text.starts_with("https://")) {
      in.context().Error(in.context().Where(*url.node),
                         "'" + in.section() + "." + std::string(key) + "' must start with http:// or https://" +
                             (url.from_environment ? "" : ", not '" + url.text + "'"));
    } else if (url.text.size() > 2048) {
      in.context().Error(in.context().Where(*url.node),
                         "'" + in.section() + "." + std::string(key) + "' is longer than 2048 bytes");
    }
  }

  WebhookAction ReadWebhook(TableReader& in) {
    WebhookAction out;
    std::optional<StringValue> url = in.ValueOrEnv("url", "url_env");
    if (url) {
      CheckHttpUrl(in, "url", *url);
      out.url = std::move(url->text);
    } else if (!in.Has("url") && !in.Has("url_env")) {
      in.Error("'" + in.section() + "' (webhook) needs 'url' or 'url_env'");
    }
    if (auto method = in.NonEmptyString("method")) {
      out.method = ToUpperAscii(method->text);
      static constexpr std::array<std::string_view, 5> kMethods = {"POST", "PUT", "PATCH", "GET", "DELETE"};
      if (std::find(kMethods.begin(), kMethods.end(), out.method) == kMethods.end()) {
        in.ErrorAt("method", "'" + in.section() + ".method' is \"" + method->text +
                                 "\"; expected POST, PUT, PATCH, GET or DELETE");
      }
    }
    ReadHeaders(in, out);
    out.body_template = TemplateField(in, "body_template");
    out.payload = in.Choice("payload", {"envelope", "data"}, 0) == 1 ? WebhookAction::Payload::kData
                                                                      : WebhookAction::Payload::kEnvelope;
    if (out.body_template && in.Has("payload")) {
      in.ErrorAt("payload", "'" + in.section() + "': 'payload' and 'body_template' exclude each other");
    }
    ReadSigningSecrets(in, out);
    out.signature_scheme = static_cast<WebhookAction::SignatureScheme>(
        in.Choice("signature_scheme", {"standard", "fraiseql", "both"}, 2));
    return out;
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

  void ReadSigningSecrets(TableReader& in, WebhookAction& out) {
    LoadContext& context = in.context();
    for (StringValue& secret : in.StringList("signing_secret")) {
      if (secret.text.empty()) {
        context.Error(context.Where(*secret.node), "'" + in.section() + ".signing_secret' must not be empty");
      } else {
        out.signing_secrets.emplace_back(std::move(secret.text));
      }
    }
    for (StringValue& variable : in.StringList("signing_secret_env")) {
      std::optional<std::string> value = context.env()(variable.text);
      if (!value || value->empty()) {
        context.Error(context.Where(*variable.node),
                      "environment variable '" + variable.text + "' named by '" + in.section() +
                          ".signing_secret_env' is " + (value ? "empty" : "not set") +
                          " (a webhook is never sent unsigned by mistake)");
      } else {
        out.signing_secrets.emplace_back(std::move(*value));
      }
    }
  }

  SlackAction ReadSlack(TableReader& in) {
    SlackAction out;
    if (std::optional<StringValue> url = in.ValueOrEnv("webhook_url", "webhook_url_env")) {
      CheckHttpUrl(in, "webhook_url", *url);
      out.webhook_url = Secret(std::move(url->text));
    } else if (!in.Has("webhook_url") && !in.Has("webhook_url_env")) {
      in.Error("'" + in.section() + "' (slack) needs 'webhook_url' or 'webhook_url_env'");
    }
    if (auto channel = in.NonEmptyString("channel")) out.channel = channel->text;
    out.message_template = TemplateField(in, "message_template");
    return out;
  }

  EmailAction ReadEmail(TableReader& in) {
    EmailAction out;
    LoadContext& context = in.context();
    const auto addresses = [&](std::string_view key) {
      std::vector<std::string> list;
      for (StringValue& address : in.StringList(key)) {
        if (address.text.find('@') == std::string::npos) {
          context.Error(context.Where(*address.node), "'" + in.section() + "." + std::string(key) + "': '" +
                                                          address.text + "' is not an email address");
        }
        list.push_back(std::move(address.text));
      }
      return list;
    };
    out.to = addresses("to");
    out.to_template = TemplateField(in, "to_template");
    out.cc = addresses("cc");
    if (auto subject = in.NonEmptyString("subject")) out.subject = subject->text;
    out.subject_template = TemplateField(in, "subject_template");
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
      const size_t dot = out.function_name.find('.');
      const bool valid = dot == std::string::npos
                             ? IsIdentifier(out.function_name)
                             : IsIdentifier(out.function_name.substr(0, dot)) &&
                                   IsIdentifier(out.function_name.substr(dot + 1));
      if (!valid) {
        in.ErrorAt("function_name", "'" + in.section() + ".function_name' is \"" + out.function_name +
                                        "\"; expected name or schema.name, each [A-Za-z_][A-Za-z0-9_]*");
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
    out.id_template = TemplateField(in, "id_template");
    return out;
  }

  SmsAction ReadSms(TableReader& in) {
    SmsAction out;
    if (auto phone = in.NonEmptyString("phone")) out.phone = phone->text;
    out.phone_template = TemplateField(in, "phone_template");
    out.message_template = TemplateField(in, "message_template");
    return out;
  }

  PushAction ReadPush(TableReader& in) {
    PushAction out;
    if (auto token = in.NonEmptyString("device_token")) out.device_token = token->text;
    out.title_template = TemplateField(in, "title_template");
    out.body_template = TemplateField(in, "body_template");
    return out;
  }

  TableReader& in_;
};

std::string Slug(std::string_view text) {
  std::string out;
  for (char c : text) {
    out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : '_';
  }
  return out;
}

// "order_insert_0": derived from entity, event kinds and the position in the file.
std::string DerivedName(const toml::table& table, size_t index) {
  std::string entity = "any";
  if (const toml::node* node = table.get("entity"); node && node->is_string() && node->as_string()->get() != "*") {
    entity = Slug(node->as_string()->get());
  }
  std::string kinds;
  const auto add = [&kinds](const toml::node& node) {
    if (!node.is_string()) return;
    const std::string& text = node.as_string()->get();
    kinds += (kinds.empty() ? "" : "_") + (text == "*" ? std::string("any") : Slug(text));
  };
  if (const toml::node* node = table.get("event_type")) {
    if (node->is_array()) {
      for (const toml::node& element : *node->as_array()) add(element);
    } else {
      add(*node);
    }
  }
  return entity + "_" + (kinds.empty() ? "any" : kinds) + "_" + std::to_string(index);
}

void ReadObserver(TableReader& in, ObserverConfig observer, Config& config) {
  ObserverReader reader(in);
  observer.location = in.Where();
  if (auto entity = in.NonEmptyString("entity")) {
    observer.entity = entity->text;
  } else if (!in.Has("entity")) {
    in.Error("observer '" + observer.name + "' needs 'entity': a type name such as \"Order\", or \"*\"");
  }
  reader.ReadEventKinds(observer);
  reader.ReadCondition(observer);
  reader.ReadActions(observer);
  reader.ReadRetry(observer);
  reader.ReadFailurePolicy(observer);
  observer.enabled = in.Bool("enabled", true);
  in.Finish();
  config.observers.push_back(std::move(observer));
}

}  // namespace

void ReadObservers(TableReader& root, Config& config) {
  const toml::node* node = root.Node("observers");
  if (!node) return;
  LoadContext& context = root.context();
  std::set<std::string> names;
  const auto claim_name = [&](const std::string& name, const SourceLocation& where) {
    if (!names.insert(name).second) {
      context.Error(where, "observer name '" + name + "' is used twice; names must be unique");
    }
  };

  if (node->is_array()) {
    size_t index = 0;
    for (const toml::node& element : *node->as_array()) {
      const std::string section = "observers[" + std::to_string(index) + "]";
      if (!element.is_table()) {
        context.Error(context.Where(element), "'" + section + "' must be a table ([[observers]])");
        ++index;
        continue;
      }
      TableReader in(*element.as_table(), section, context);
      ObserverConfig observer;
      if (auto name = in.NonEmptyString("name")) {
        observer.name = name->text;
      } else {
        observer.name = DerivedName(*element.as_table(), index);
      }
      claim_name(observer.name, in.Where());
      ReadObserver(in, std::move(observer), config);
      ++index;
    }
  } else if (node->is_table()) {
    // toml++ keeps keys sorted; observers are kept in the order the file declares them.
    std::vector<std::pair<const toml::key*, const toml::node*>> entries;
    for (auto&& [key, value] : *node->as_table()) entries.emplace_back(&key, &value);
    std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
      return std::tie(a.second->source().begin.line, a.second->source().begin.column) <
             std::tie(b.second->source().begin.line, b.second->source().begin.column);
    });
    for (const auto& [key_pointer, value_pointer] : entries) {
      const toml::key& key = *key_pointer;
      const toml::node& value = *value_pointer;
      const std::string name(key.str());
      if (!value.is_table()) {
        context.Error(context.Where(value), "'observers." + name + "' must be a table ([observers." + name + "])");
        continue;
      }
      TableReader in(*value.as_table(), "observers." + name, context);
      if (in.Has("name")) {
        in.ErrorAt("name", "'observers." + name + "' takes its name from the table key; remove 'name'");
        in.Node("name");
      }
      ObserverConfig observer;
      observer.name = name;
      claim_name(name, in.Where());
      ReadObserver(in, std::move(observer), config);
    }
  } else {
    context.Error(context.Where(*node),
                  "'observers' must be an array of tables ([[observers]]) or a table of named observers "
                  "([observers.<name>])");
  }
}

}  // namespace fraiseql::config_internal
