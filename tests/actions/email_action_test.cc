// Email action: message building (pure), and delivery through libcurl to the real SMTP sink
// (tests/services/smtp_sink.py, started by scripts/services) including its scripted 4xx/5xx.
#include "actions/email_action.h"

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "executor/worker_pool.h"
#include "testing/event_builder.h"
#include "testing/services.h"

namespace fraiseql {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ReceivedMail;
using ::testing::StartsWith;

constexpr auto kMailWait = 30s;
constexpr const char* kDeliveryId = "0f8e4b5a-3c2d-5e1f-9a7b-6c5d4e3f2a1b";
// 2026-12-01 19:40:05 UTC, a Tuesday.
const std::chrono::system_clock::time_point kNow = std::chrono::sys_days(std::chrono::year(2026) / 12 / 1) +
                                                   std::chrono::hours(19) + std::chrono::minutes(40) +
                                                   std::chrono::seconds(5);

EmailAction BasicSpec(const std::string& to) {
  EmailAction spec;
  spec.to = {to};
  spec.subject = "Order shipped";
  spec.body_template = Template::Compile("Order {{ data.id }} shipped.\nThanks.");
  return spec;
}

std::shared_ptr<const EntityEvent> OrderEvent(nlohmann::json data) {
  return std::make_shared<const EntityEvent>(testing::MakeOrderUpdate(std::move(data), nullptr));
}

// ---- BuildEmailMessage: no server ----

Result<EmailMessage> Build(const EmailAction& spec, const nlohmann::json& data = {{"id", 42}}) {
  return BuildEmailMessage(spec, "Observer <observer@fraiseql.test>", *OrderEvent(data), kDeliveryId, kNow);
}

TEST(BuildEmailMessageTest, HeadersAndEnvelope) {
  EmailAction spec = BasicSpec("a@example.test");
  spec.cc = {"Carol <c@example.test>", "a@example.test"};
  auto message = Build(spec);
  ASSERT_TRUE(message) << message.error().message;
  EXPECT_EQ(message->mail_from, "observer@fraiseql.test");
  EXPECT_THAT(message->recipients, ElementsAre("a@example.test", "c@example.test"));  // no repeat
  EXPECT_EQ(message->data,
            "Date: Tue, 01 Dec 2026 19:40:05 +0000\r\n"
            "From: Observer <observer@fraiseql.test>\r\n"
            "To: a@example.test\r\n"
            "Cc: Carol <c@example.test>, a@example.test\r\n"
            "Subject: Order shipped\r\n"
            "Message-ID: <0f8e4b5a-3c2d-5e1f-9a7b-6c5d4e3f2a1b@fraiseql-observer>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 7bit\r\n"
            "Auto-Submitted: auto-generated\r\n"
            "\r\n"
            "Order 42 shipped.\r\n"
            "Thanks.\r\n");
}

TEST(BuildEmailMessageTest, LongSubjectIsFoldedAtBlanks) {
  EmailAction spec = BasicSpec("a@example.test");
  std::string subject;
  for (int i = 0; i < 30; ++i) subject += "word" + std::to_string(i) + " ";
  spec.subject = subject.substr(0, subject.size() - 1);
  auto message = Build(spec);
  ASSERT_TRUE(message) << message.error().message;
  const size_t start = message->data.find("Subject: ");
  const std::string header = message->data.substr(start, message->data.find("\r\nMessage-ID") - start);
  EXPECT_THAT(header, HasSubstr("\r\n word"));
  size_t line_start = 0;
  while (line_start < header.size()) {
    const size_t end = std::min(header.find("\r\n", line_start), header.size());
    EXPECT_LE(end - line_start, 78u) << header;
    line_start = end + 2;
  }
}

TEST(BuildEmailMessageTest, LongNonAsciiBodyLinesAreQuotedPrintable) {
  EmailAction spec = BasicSpec("a@example.test");
  spec.body_template = Template::Compile(std::string(100, 'x') + " = 12 €\n.\nend ");
  auto message = Build(spec);
  ASSERT_TRUE(message) << message.error().message;
  EXPECT_THAT(message->data, HasSubstr("Content-Transfer-Encoding: quoted-printable\r\n"));
  const std::string body = message->data.substr(message->data.find("\r\n\r\n") + 4);
  EXPECT_EQ(body, std::string(75, 'x') + "=\r\n" + std::string(25, 'x') + " =3D 12 =E2=82=AC\r\n.\r\nend=20\r\n");
}

TEST(BuildEmailMessageTest, LineBreakInARenderedHeaderIsRefused) {
  EmailAction spec = BasicSpec("a@example.test");
  spec.subject_template = Template::Compile("Order {{ data.title }}");
  for (const char* title : {"x\r\nBcc: victim@example.test", "x\nBcc: v@example.test", "x\ry"}) {
    auto message = Build(spec, {{"title", title}});
    ASSERT_FALSE(message) << title;
    EXPECT_EQ(message.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(message.error().message, HasSubstr("template produced a header with a line break"));
  }
  EmailAction to_spec = BasicSpec("a@example.test");
  to_spec.to_template = Template::Compile("{{ data.email }}");
  auto message = Build(to_spec, {{"email", "b@example.test\r\nBcc: v@example.test"}});
  ASSERT_FALSE(message);
  EXPECT_THAT(message.error().message, HasSubstr("template produced a header with a line break"));
}

TEST(BuildEmailMessageTest, NoRecipientsAndBadAddressesAreRefused) {
  EmailAction spec = BasicSpec("a@example.test");
  spec.to.clear();
  spec.to_template = Template::Compile("{{ data.email }}");
  auto empty = Build(spec, {{"email", " , "}});
  ASSERT_FALSE(empty);
  EXPECT_THAT(empty.error().message, StartsWith("no recipients"));
  auto unresolved = Build(spec, {{"id", 1}});  // the placeholder stays verbatim: not an address
  ASSERT_FALSE(unresolved);
  EXPECT_THAT(unresolved.error().message, HasSubstr("is not an email address"));
}

// ---- delivery through the SMTP sink ----

class EmailActionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sink_ = testing::SmtpSinkService();
    marker_ = testing::UniqueMarker("mail");
    server_.host = sink_.host;
    server_.port = sink_.port;
    server_.tls = EmailConfig::Tls::kNone;
    server_.from = "Observer <observer@fraiseql.test>";
    server_.timeout = 20s;
  }

  std::string Address(std::string_view local) const { return std::string(local) + "-" + marker_ + "@example.test"; }

  std::unique_ptr<Action> Make(const EmailAction& spec) {
    ActionConfig config;
    config.type = ActionType::kEmail;
    config.spec = spec;
    ActionDependencies deps(clock_);
    deps.blocking = &pool_;
    deps.email = &server_;
    auto action = MakeEmailAction(config, spec, deps);
    EXPECT_TRUE(action) << action.error().message;
    return action ? std::move(*action) : nullptr;
  }

  // Runs one attempt and waits for its callback.
  DeliveryOutcome Run(Action& action, nlohmann::json data = {{"id", 42}}, uint32_t attempt = 1) {
    auto promise = std::make_shared<std::promise<DeliveryOutcome>>();
    std::future<DeliveryOutcome> future = promise->get_future();
    const ActionCall call{OrderEvent(std::move(data)), kDeliveryId, attempt, 30000ms};
    action.Execute(call, [promise](DeliveryOutcome outcome) { promise->set_value(std::move(outcome)); });
    if (future.wait_for(60s) != std::future_status::ready) {
      ADD_FAILURE() << "the email action did not call back";
      return PermanentOutcome("test", "no callback");
    }
    return future.get();
  }

  std::vector<ReceivedMail> Mails(size_t count) { return testing::WaitForMails(sink_, marker_, count, kMailWait); }

  testing::SmtpSink sink_;
  std::string marker_;
  EmailConfig server_;
  FakeClock clock_{kNow};
  WorkerPool pool_{2};
};

TEST_F(EmailActionTest, DestinationIsTheServer) {
  auto action = Make(BasicSpec(Address("a")));
  ASSERT_NE(action, nullptr);
  EXPECT_EQ(action->destination(), "smtp://" + sink_.host + ":" + std::to_string(sink_.port));
}

TEST_F(EmailActionTest, DeliversToRecipientsAndCc) {
  EmailAction spec = BasicSpec(Address("to1"));
  spec.to.push_back("Second Person <" + Address("to2") + ">");
  spec.cc = {Address("cc1")};
  auto action = Make(spec);
  ASSERT_NE(action, nullptr);

  const DeliveryOutcome outcome = Run(*action);
  EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kSuccess) << outcome.message;
  EXPECT_EQ(outcome.message, "SMTP 250 2.0.0 OK: queued");

  const auto mails = Mails(1);
  ASSERT_EQ(mails.size(), 1u);
  const ReceivedMail& mail = mails[0];
  EXPECT_EQ(mail.mail_from, "observer@fraiseql.test");
  EXPECT_THAT(mail.rcpt_tos, ElementsAre(Address("to1"), Address("to2"), Address("cc1")));
  EXPECT_EQ(mail.Header("From"), "Observer <observer@fraiseql.test>");
  EXPECT_EQ(mail.Header("To"), Address("to1") + ", Second Person <" + Address("to2") + ">");
  EXPECT_EQ(mail.Header("Cc"), Address("cc1"));
  EXPECT_EQ(mail.Header("Subject"), "Order shipped");
  EXPECT_EQ(mail.Header("Date"), "Tue, 01 Dec 2026 19:40:05 +0000");  // the injected clock's
  EXPECT_EQ(mail.Header("MIME-Version"), "1.0");
  EXPECT_EQ(mail.Header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(mail.Header("Content-Transfer-Encoding"), "7bit");
  EXPECT_EQ(mail.Header("Reply-To"), std::nullopt);
  EXPECT_TRUE(mail.Headers("Bcc").empty());
  EXPECT_EQ(mail.body, "Order 42 shipped.\r\nThanks.\r\n");
}

TEST_F(EmailActionTest, TemplatedSubjectAndRecipients) {
  EmailAction spec = BasicSpec(Address("fixed"));
  spec.to_template = Template::Compile("{{ data.emails }}");
  spec.subject.reset();
  spec.subject_template = Template::Compile("Order {{ data.id }} is {{ data.status }}");
  auto action = Make(spec);
  ASSERT_NE(action, nullptr);

  const DeliveryOutcome outcome =
      Run(*action, {{"id", 7}, {"status", "shipped"}, {"emails", Address("t1") + ", " + Address("t2")}});
  EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kSuccess) << outcome.message;
  const auto mails = Mails(1);
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_THAT(mails[0].rcpt_tos, ElementsAre(Address("fixed"), Address("t1"), Address("t2")));
  EXPECT_EQ(mails[0].Header("Subject"), "Order 7 is shipped");
}

TEST_F(EmailActionTest, NonAsciiSubjectIsEncodedAndBodyQuotedPrintable) {
  EmailAction spec = BasicSpec(Address("utf8"));
  const std::string subject = "Commande expédiée ✓ — numéro 42, merci beaucoup pour votre confiance renouvelée";
  spec.subject = subject;
  spec.body_template = Template::Compile("Prix : 12 € pour {{ data.name }}\n.\nfin");
  auto action = Make(spec);
  ASSERT_NE(action, nullptr);

  const DeliveryOutcome outcome = Run(*action, {{"id", 42}, {"name", "Zoë"}});
  EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kSuccess) << outcome.message;
  const auto mails = Mails(1);
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_THAT(*mails[0].Header("Subject"), StartsWith("=?UTF-8?B?"));
  EXPECT_EQ(mails[0].DecodedHeader("Subject"), subject);
  EXPECT_EQ(mails[0].Header("Content-Transfer-Encoding"), "quoted-printable");
  // The lone "." line survives SMTP's end-of-data marker (curl dot-stuffs, the server unstuffs).
  EXPECT_EQ(mails[0].DecodedBody(), "Prix : 12 € pour Zoë\r\n.\r\nfin\r\n");
}

TEST_F(EmailActionTest, MessageIdComesFromTheDeliveryIdOnEveryAttempt) {
  auto action = Make(BasicSpec(Address("repeat")));
  ASSERT_NE(action, nullptr);
  EXPECT_EQ(Run(*action, {{"id", 1}}, 1).kind, DeliveryOutcomeKind::kSuccess);
  EXPECT_EQ(Run(*action, {{"id", 1}}, 2).kind, DeliveryOutcomeKind::kSuccess);
  const auto mails = Mails(2);
  ASSERT_EQ(mails.size(), 2u);
  const std::string expected = std::string("<") + kDeliveryId + "@fraiseql-observer>";
  EXPECT_EQ(mails[0].Header("Message-ID"), expected);
  EXPECT_EQ(mails[1].Header("Message-ID"), expected);
}

TEST_F(EmailActionTest, ReplyToAndHtml) {
  EmailAction spec = BasicSpec(Address("html"));
  spec.reply_to = "Support <support@fraiseql.test>";
  spec.content_type = "text/html";
  spec.body_template = Template::Compile("<p>Order <b>{{ data.id }}</b></p>");
  auto action = Make(spec);
  ASSERT_NE(action, nullptr);
  EXPECT_EQ(Run(*action).kind, DeliveryOutcomeKind::kSuccess);
  const auto mails = Mails(1);
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0].Header("Reply-To"), "Support <support@fraiseql.test>");
  EXPECT_EQ(mails[0].Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(mails[0].body, "<p>Order <b>42</b></p>\r\n");
}

TEST_F(EmailActionTest, HeaderInjectionIsPermanent) {
  EmailAction spec = BasicSpec(Address("inject"));
  spec.subject_template = Template::Compile("{{ data.title }}");
  auto action = Make(spec);
  ASSERT_NE(action, nullptr);
  const DeliveryOutcome outcome = Run(*action, {{"title", "Hi\r\nBcc: victim@example.test"}});
  EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kPermanent);
  EXPECT_EQ(outcome.error_type, "template");
  EXPECT_THAT(outcome.message, HasSubstr("template produced a header with a line break"));
}

TEST_F(EmailActionTest, NoRecipientsIsPermanent) {
  EmailAction spec = BasicSpec(Address("unused"));
  spec.to.clear();
  spec.to_template = Template::Compile("{{ data.email }}");
  auto action = Make(spec);
  ASSERT_NE(action, nullptr);
  const DeliveryOutcome outcome = Run(*action, {{"email", ""}});
  EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kPermanent);
  EXPECT_EQ(outcome.error_type, "no_recipients");
}

TEST_F(EmailActionTest, TransientRecipientRefusalIsRetryable) {
  auto action = Make(BasicSpec(Address("fail4xx")));
  ASSERT_NE(action, nullptr);
  const DeliveryOutcome outcome = Run(*action);
  EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kRetryable) << outcome.message;
  EXPECT_EQ(outcome.error_type, "smtp_4xx");
  EXPECT_EQ(outcome.message, "SMTP 451 4.3.0 try again (retryable)");
}

TEST_F(EmailActionTest, PermanentRecipientRefusalIsPermanent) {
  auto action = Make(BasicSpec(Address("fail5xx")));
  ASSERT_NE(action, nullptr);
  const DeliveryOutcome outcome = Run(*action);
  EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kPermanent) << outcome.message;
  EXPECT_EQ(outcome.error_type, "smtp_5xx");
  EXPECT_EQ(outcome.message, "SMTP 550 5.1.1 no such user (permanent)");
}

TEST_F(EmailActionTest, RefusalAfterDataIsClassifiedToo) {
  auto transient = Make(BasicSpec(Address("faildata4xx")));
  auto permanent = Make(BasicSpec(Address("faildata5xx")));
  ASSERT_NE(transient, nullptr);
  ASSERT_NE(permanent, nullptr);
  const DeliveryOutcome retry = Run(*transient);
  EXPECT_EQ(retry.kind, DeliveryOutcomeKind::kRetryable) << retry.message;
  EXPECT_EQ(retry.message, "SMTP 451 4.3.0 try again later (retryable)");
  const DeliveryOutcome refuse = Run(*permanent);
  EXPECT_EQ(refuse.kind, DeliveryOutcomeKind::kPermanent) << refuse.message;
  EXPECT_EQ(refuse.message, "SMTP 554 5.6.0 message refused (permanent)");
}

TEST_F(EmailActionTest, ServerDownIsRetryableAndNeverShowsCredentials) {
  server_.port = testing::UnusedLoopbackPort();
  server_.username = Secret("mailer");
  server_.password = Secret("pw-Xq91-secret");
  auto action = Make(BasicSpec(Address("down")));
  ASSERT_NE(action, nullptr);
  const DeliveryOutcome outcome = Run(*action);
  EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kRetryable) << outcome.message;
  EXPECT_EQ(outcome.error_type, "connect");
  EXPECT_THAT(outcome.message, StartsWith("smtp://127.0.0.1:" + std::to_string(server_.port) + ": "));
  EXPECT_THAT(outcome.message, Not(HasSubstr("pw-Xq91-secret")));
  EXPECT_THAT(outcome.message, Not(HasSubstr("mailer")));
}

TEST_F(EmailActionTest, StartTlsIsRequiredNotOpportunistic) {
  // The sink offers no STARTTLS: with tls = "starttls" the session must stop, not go on in clear.
  server_.tls = EmailConfig::Tls::kStartTls;
  auto action = Make(BasicSpec(Address("starttls")));
  ASSERT_NE(action, nullptr);
  const DeliveryOutcome outcome = Run(*action);
  EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kRetryable) << outcome.message;
  EXPECT_EQ(outcome.error_type, "tls");
}

TEST(MakeEmailActionTest, NeedsTheEmailSectionAndARunner) {
  WorkerPool pool(1);
  EmailAction spec = BasicSpec("a@example.test");
  ActionConfig config;
  config.type = ActionType::kEmail;
  config.spec = spec;
  ActionDependencies deps(RealClock());
  deps.blocking = &pool;
  auto no_email = MakeEmailAction(config, spec, deps);
  ASSERT_FALSE(no_email);
  EXPECT_EQ(no_email.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(no_email.error().message, HasSubstr("[email]"));

  EmailConfig server;
  server.host = "127.0.0.1";
  server.from = "observer@fraiseql.test";
  deps.email = &server;
  deps.blocking = nullptr;
  auto no_runner = MakeEmailAction(config, spec, deps);
  ASSERT_FALSE(no_runner);
  EXPECT_EQ(no_runner.error().code, ErrorCode::kInvalidArgument);

  deps.blocking = &pool;
  server.from = "not an address";
  auto bad_from = MakeEmailAction(config, spec, deps);
  ASSERT_FALSE(bad_from);
  EXPECT_THAT(bad_from.error().message, HasSubstr("[email] from"));
}

}  // namespace
}  // namespace fraiseql
